"""Head models independent of KEMAR, for validating the binaural cue metrics.

Two classic models of a head as a rigid sphere with the ears on it (no pinnae, no torso):

* ``"sphere"`` — the exact solution for a plane wave scattered by a rigid sphere
  (Rayleigh; Duda & Martens 1998, JASA 104(5), far-field form). With ``x = k·a`` (k the
  wavenumber, a the radius) and θ the angle between the ear and the source direction,
  the surface pressure relative to the free-field pressure at the centre is, in the
  ``exp(−iωt)`` convention,

      H(x, θ) = (i / x²) · Σ_{m≥0} (−i)^m (2m+1) P_m(cos θ) / h_m′(x),   h_m = j_m + i·y_m,

  (spherical Bessel/Neumann functions, ``scipy.special``); the series is summed until
  its terms are below 1e-12 of the total. The numpy/FFT convention used for the
  impulse responses is the complex conjugate.
* ``"brown_duda"`` — Brown & Duda 1998 (IEEE Trans. Speech Audio Process. 6(5)) one-pole,
  one-zero head-shadow filter and Woodworth-style delay,

      H(ω, θ) = (1 + i·α(θ)·ω/(2ω₀)) / (1 + i·ω/(2ω₀)),   ω₀ = c/a,
      α(θ) = (1 + α_min/2) + (1 − α_min/2)·cos(θ/θ_min · 180°),   α_min = 0.1, θ_min = 150°,
      τ(θ) = −(a/c)·cos θ for θ < 90°,  (a/c)·(θ − 90°, in rad) otherwise,

  evaluated exactly in the frequency domain (no bilinear warping).
* ``"brown_duda_pinna"`` — the same with Brown & Duda's pinna model: five echoes per ear,
  ``h = δ(t) + Σ_n ρ_n δ(t − τ_n)``, ``τ_n = A_n cos(θ/2) sin(D_n (90° − φ)) + B_n`` samples
  at 44.1 kHz (ρ = 0.5, −1, 0.5, −0.25, 0.25; A = 1, 5, 5, 5, 5; B = 2, 4, 7, 11, 13;
  D = 1, 0.5, 0.5, 0.5, 0.5), θ the source's lateral angle towards that ear and φ its
  polar angle (0 = front, 180 = back). The echoes differ between front and back, so this
  head has front/back spectral cues — unlike KEMAR's, which makes it a test of whether
  the front/back decision stays honest on a pinna it was not built from.
* ``"sphere_pinna_notch"`` — the exact rigid sphere with a second, different analytic pinna
  (after Batteau 1967): one reflection per ear, ``h = δ(t) + ρ·δ(t − τ(φ))`` with
  ``τ(φ) = 50 µs + 60 µs·(1 − cos φ)/2`` (a spectral notch at 1/(2τ): 10 kHz in front,
  4.5 kHz behind) and ``ρ = 0.7·(0.75 + 0.25·cos θ)``, θ the lateral angle towards that ear,
  times a rear pinna-flange shadow, a one-pole low-pass at 7 kHz weighted by (1 − cos φ)/2:
  ``S = 1 − w + w/(1 + i·f/7 kHz)``. A front/back cue unlike both KEMAR's and Brown & Duda's.

Ears sit at ±``ear_angle_deg`` azimuth on the horizontal plane (90 = on the interaural
axis; Brown & Duda suggest about 100° for a human head, which breaks the front/back
symmetry slightly). The impulse responses carry a bulk delay of ``PRE_DELAY_S`` so
they are causal (the ipsilateral ear hears the wave up to a/c before the centre).
Both models are fore-aft symmetric with ears at ±90°: a source at θ and at 180° − θ
gives identical ear signals, so no estimator can tell front from back on them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import special

SPEED_OF_SOUND = 343.0
HEAD_RADIUS_M = 0.0875
PRE_DELAY_S = 0.0015
HEADS = ("sphere", "brown_duda", "brown_duda_pinna", "sphere_pinna_notch")

__all__ = [
    "HEADS",
    "HEAD_RADIUS_M",
    "SPEED_OF_SOUND",
    "brown_duda_transfer",
    "head_hrir",
    "incidence_deg",
    "notch_pinna_transfer",
    "pinna_transfer",
    "render_head",
    "sphere_transfer",
    "woodworth_itd_s",
]


def woodworth_itd_s(azimuth_deg, radius_m: float = HEAD_RADIUS_M, c: float = SPEED_OF_SOUND):
    """Woodworth's high-frequency ITD of a rigid sphere (ears at ±90°), seconds, positive = source on the left.

        ITD = (a/c)·(φ + sin φ),   φ = lateral angle = asin(sin(azimuth)) at ear level

    >>> round(float(woodworth_itd_s(90.0)) * 1e6, 1)
    655.8
    >>> bool(np.isclose(woodworth_itd_s(30.0), woodworth_itd_s(150.0)))
    True
    """
    lateral = np.arcsin(np.sin(np.radians(np.asarray(azimuth_deg, dtype=np.float64))))
    return radius_m / c * (lateral + np.sin(lateral))


def incidence_deg(azimuth_deg: float, elevation_deg: float = 0.0, ear_angle_deg: float = 90.0) -> tuple[float, float]:
    """Angles (degrees) between the source direction and the left and right ear (at azimuth ±ear_angle_deg).

    >>> incidence_deg(90.0)
    (0.0, 180.0)
    >>> [round(v, 6) for v in incidence_deg(0.0, ear_angle_deg=100.0)]
    [100.0, 100.0]
    """
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    source = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    angles = []
    for ear_az in (math.radians(ear_angle_deg), -math.radians(ear_angle_deg)):
        ear = np.array([math.cos(ear_az), math.sin(ear_az), 0.0])
        angles.append(round(math.degrees(math.acos(float(np.clip(source @ ear, -1.0, 1.0)))), 12))
    return angles[0], angles[1]


def sphere_transfer(
    freqs_hz, incidence: float, radius_m: float = HEAD_RADIUS_M, c: float = SPEED_OF_SOUND
) -> np.ndarray:
    """Exact rigid-sphere surface pressure / free-field centre pressure (plane wave), FFT phase convention.

    ``incidence`` is the ear-to-source angle in degrees. Tends to 1 at low frequency;
    about 2 (+6 dB) for a source facing the ear at high frequency.

    >>> h = sphere_transfer([10.0, 20000.0], 0.0)
    >>> float(round(abs(h[0]), 3)), round(20 * math.log10(abs(h[1])), 1)
    (1.0, 6.0)
    """
    freqs = np.atleast_1d(np.asarray(freqs_hz, dtype=np.float64))
    x = 2.0 * math.pi * freqs * radius_m / c
    out = np.ones(freqs.shape, dtype=np.complex128)
    cos_theta = math.cos(math.radians(incidence))
    positive = x > 0
    xs = x[positive]
    if xs.size == 0:
        return out
    total = np.zeros(xs.shape, dtype=np.complex128)
    m_max = int(math.ceil(xs.max() + 10.0 * xs.max() ** (1.0 / 3.0) + 20.0))
    for m in range(m_max + 1):
        derivative = special.spherical_jn(m, xs, derivative=True) + 1j * special.spherical_yn(m, xs, derivative=True)
        term = (-1j) ** m * (2 * m + 1) * special.eval_legendre(m, cos_theta) / derivative
        total += term
        if m > xs.max() + 5 and np.all(np.abs(term) <= 1e-12 * np.maximum(np.abs(total), 1e-300)):
            break
    out[positive] = np.conj(1j / xs**2 * total)
    return out


def brown_duda_transfer(
    freqs_hz,
    incidence: float,
    radius_m: float = HEAD_RADIUS_M,
    c: float = SPEED_OF_SOUND,
    alpha_min: float = 0.1,
    theta_min_deg: float = 150.0,
) -> np.ndarray:
    """Brown & Duda's head-shadow filter times its Woodworth delay, relative to the head centre (FFT convention).

    >>> h = brown_duda_transfer([0.0, 30000.0], 0.0)
    >>> float(round(abs(h[0]), 6)), float(round(abs(h[1]), 2))   # 0 dB at DC, about ×2 (α = 2) facing the ear
    (1.0, 2.0)
    """
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    omega = 2.0 * math.pi * freqs
    omega0 = c / radius_m
    theta = math.radians(incidence)
    alpha = (1.0 + alpha_min / 2.0) + (1.0 - alpha_min / 2.0) * math.cos(theta / math.radians(theta_min_deg) * math.pi)
    shadow = (1.0 + 1j * alpha * omega / (2.0 * omega0)) / (1.0 + 1j * omega / (2.0 * omega0))
    if theta < math.pi / 2:
        delay = -radius_m / c * math.cos(theta)
    else:
        delay = radius_m / c * (theta - math.pi / 2)
    return shadow * np.exp(-1j * omega * delay)


_PINNA = np.array(
    [[0.5, 1.0, 2.0, 1.0], [-1.0, 5.0, 4.0, 0.5], [0.5, 5.0, 7.0, 0.5], [-0.25, 5.0, 11.0, 0.5], [0.25, 5.0, 13.0, 0.5]]
)  # ρ, A, B, D (Brown & Duda 1998, table I)


def pinna_transfer(freqs_hz, lateral_deg: float, polar_deg: float) -> np.ndarray:
    """Brown & Duda's pinna-echo filter for one ear (FFT convention); ``lateral_deg`` towards that ear.

    >>> h = pinna_transfer([0.0], 30.0, 0.0)
    >>> float(round(abs(h[0]), 6))                                # 1 + Σρ at DC
    1.0
    """
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    out = np.ones(freqs.shape, dtype=np.complex128)
    for rho, a, b, d in _PINNA:
        delay = (
            a * math.cos(math.radians(lateral_deg) / 2.0) * math.sin(math.radians(d * (90.0 - polar_deg))) + b
        ) / 44100.0
        out = out + rho * np.exp(-2j * math.pi * freqs * delay)
    return out


def notch_pinna_transfer(freqs_hz, lateral_deg: float, polar_deg: float) -> np.ndarray:
    """One-reflection pinna with a rear flange shadow (``"sphere_pinna_notch"``, FFT convention).

    >>> f = np.array([0.0, 10000.0])
    >>> front = np.abs(notch_pinna_transfer(f, 30.0, 0.0))
    >>> float(round(front[0], 3)), bool(front[1] < 0.5)            # 1 + ρ at DC, the notch at 10 kHz
    (1.677, True)
    """
    freqs = np.asarray(freqs_hz, dtype=np.float64)
    rear = (1.0 - math.cos(math.radians(polar_deg))) / 2.0
    delay = 50e-6 + 60e-6 * rear
    rho = 0.7 * (0.75 + 0.25 * math.cos(math.radians(lateral_deg)))
    echo = 1.0 + rho * np.exp(-2j * math.pi * freqs * delay)
    shadow = 1.0 - rear + rear / (1.0 + 1j * freqs / 7000.0)
    return echo * shadow


@lru_cache(maxsize=4096)
def _hrir_cached(
    head: str, sr: int, azimuth_deg: float, elevation_deg: float, radius_m: float, ear_angle_deg: float, taps: int
) -> np.ndarray:
    nfft = 4 * taps  # evaluate on a finer grid, then keep the first ``taps`` samples (the rest is ~0)
    freqs = np.fft.rfftfreq(nfft, 1.0 / sr)
    transfer = sphere_transfer if head in ("sphere", "sphere_pinna_notch") else brown_duda_transfer
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    lateral = math.degrees(math.asin(max(-1.0, min(1.0, math.cos(el) * math.sin(az)))))
    polar = math.degrees(math.atan2(math.sin(el), math.cos(el) * math.cos(az)))
    ears = []
    for sign, incidence in zip((1.0, -1.0), incidence_deg(azimuth_deg, elevation_deg, ear_angle_deg)):
        spectrum = transfer(freqs, incidence, radius_m) * np.exp(-2j * math.pi * freqs * PRE_DELAY_S)
        if head == "brown_duda_pinna":
            spectrum = spectrum * pinna_transfer(freqs, sign * lateral, polar)
        elif head == "sphere_pinna_notch":
            spectrum = spectrum * notch_pinna_transfer(freqs, sign * lateral, polar)
        spectrum[-1] = spectrum[-1].real  # a real Nyquist bin keeps the response real and symmetric
        ears.append(np.fft.irfft(spectrum, nfft)[:taps])
    hrir = np.stack(ears, axis=1)
    fade = max(8, taps // 8)  # raised-cosine fade-out: no abrupt truncation of the (tiny) tail
    hrir[-fade:] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, math.pi, fade)))[:, None]
    hrir.setflags(write=False)
    return hrir


def head_hrir(
    head: str,
    sr: int,
    azimuth_deg: float,
    elevation_deg: float = 0.0,
    *,
    radius_m: float = HEAD_RADIUS_M,
    ear_angle_deg: float = 90.0,
    taps_s: float = 0.008,
) -> np.ndarray:
    """Impulse response pair ``(taps, 2)`` (left, right) of a head model for one direction (cached).

    >>> hrir = head_hrir("sphere", 32000, 90.0)
    >>> hrir.shape, bool(np.argmax(hrir[:, 0]) < np.argmax(np.abs(hrir[:, 1])))   # left ear first
    ((256, 2), True)
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if sr <= 0 or radius_m <= 0:
        raise ValueError(f"need a positive sample rate and radius, got {sr} and {radius_m}")
    taps = int(round(taps_s * sr))
    return _hrir_cached(
        head, int(sr), float(azimuth_deg) % 360.0, float(elevation_deg), float(radius_m), float(ear_angle_deg), taps
    )


def render_head(
    mono: np.ndarray,
    sr: int,
    azimuth_deg: float,
    elevation_deg: float = 0.0,
    *,
    head: str = "sphere",
    radius_m: float = HEAD_RADIUS_M,
    ear_angle_deg: float = 90.0,
) -> np.ndarray:
    """Render ``mono`` binaurally ``(len(mono), 2)`` with a head model at the exact direction requested.

    The output is aligned with the source (the model's bulk delay of ``PRE_DELAY_S`` is removed, the
    convolution tail cut), so it can be compared sample by sample with a KEMAR rendering. It is
    :func:`spatialeval.synth.scene.render` without reverberation, for the models in :data:`HEADS` only.

    >>> sr = 16000
    >>> noise = np.random.default_rng(0).standard_normal(sr)
    >>> out = render_head(noise, sr, azimuth_deg=-60.0, head="brown_duda")
    >>> out.shape, bool(np.sum(out[:, 1] ** 2) > np.sum(out[:, 0] ** 2))   # right side: right ear louder
    ((16000, 2), True)
    """
    from spatialeval.synth.scene import render  # scene builds on this module

    mono = np.asarray(mono, dtype=np.float64)
    if mono.ndim != 1 or mono.size == 0 or not np.all(np.isfinite(mono)):
        raise ValueError(f"render_head expects a non-empty, finite 1-D mono source, got shape {mono.shape}")
    if head not in HEADS:  # head_hrir's refusal (render would also take "kemar")
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    return render(mono, sr, azimuth_deg, elevation_deg, head=head, radius_m=radius_m, ear_angle_deg=ear_angle_deg)
