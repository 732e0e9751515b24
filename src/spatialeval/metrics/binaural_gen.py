"""The binaural-generation benchmark metrics (FAIR-Play / 2.5D Visual Sound and the mono-to-binaural papers after it).

Definitions matched (read from the released evaluation scripts; this is a re-implementation):

* **STFT distance** and **envelope distance**: facebookresearch/2.5D-Visual-Sound
  ``evaluate.py`` (``STFT_L2_distance``, ``Envelope_distance``), reused unchanged by
  Sep-Stereo (SheldonTsui/SepStereo_ECCV2020 ``evaluate.py``), PseudoBinaural and CCStereo.
* **Magnitude distance** and **phase distance** (the "Mag" / "Phase" columns on FAIR-Play):
  SheldonTsui/PseudoBinaural_CVPR2021 ``evaluate.py`` (``Magnitude_distance``,
  ``Angle_Diff_distance``), identical in SonyResearch/CCStereo ``util/eval.py``. Their
  "Magnitude distance" is Σ_ch mean |X̂_ch − X_ch|² of the *complex* STFTs, i.e. exactly
  twice the STFT distance (kept because papers report it under that name); the phase
  distance is taken on the left−right **difference** signal.
* **Masked phase distance** (spatialeval's own, not a FAIR-Play column): the same L−R phase
  distance over the bins that carry energy only, with the mask of Meta's
  BinauralSpeechSynthesis ``PhaseLoss`` (``src/losses.py``: a bin counts when |re| + |im| of
  both the target and the prediction exceeds ``ignore_below`` (0.1) × the target's mean).
  The FAIR-Play "Phase" column (PseudoBinaural ``Angle_Diff_distance``) averages every bin,
  so bins holding only quantisation or resampling noise, at random phase, dominate it:
  0.5 × gt written as 16-bit scores 0.41–0.48 rad there and 0.43–0.70 rad for a resampled
  copy, against 0.001–0.004 and 0.001–0.008 rad masked.
* **Difference-magnitude distance** (dB): the earlier PseudoBinaural ``Mag_diff_distance``
  (commit a5d562c): RMS difference of the dB magnitude spectrograms of the left−right signal.
* **SNR**: PseudoBinaural/CCStereo ``SNR``: 10·log10((mean x² + 1e-4)/(mean (x̂ − x)² + 1e-4)).

Shared conventions of those scripts (all of them):

* audio loaded with ``librosa.load(sr=16000, mono=False)``: **16 kHz**, float, resampled if needed
  (librosa ≥ 0.10 resamples float32 audio with soxr "HQ", which :func:`binaural_generation_metrics`
  uses by default on float64; the 2019 scripts ran librosa < 0.10: float32 audio resampled by resampy
  "kaiser_best", cut or zero-padded to ceil(n · ratio) samples — ``stack="fairplay-2019"``, equal to
  the released evaluate.py under librosa 0.8.1 to 3e-6 relative. On the 32/48-kHz fixture pairs
  the default stack differs from it by up to 0.6 % (STFT distance), 1.0 % (envelope), 20 % (L−R
  phase, a near-identical pair), 8.7 % (L−R dB magnitude) and 4.3 % (SNR); on 16-kHz audio by
  float32 rounding only. librosa 0.9 already padded the STFT with zeros, not by reflection);
* **normalisation**: each clip divided by its peak over both channels,
  x / max(1e-20, max|x|) (``--normalization True``, the documented 2.5D command; the
  Sep-Stereo and PseudoBinaural scripts normalise by default);
* STFT: ``librosa.stft(n_fft=512, hop_length=160, win_length=400, center=True)``, periodic
  Hann of 400 samples zero-padded to 512; the scripts ran librosa < 0.10 whose default
  ``pad_mode`` was "reflect" (librosa ≥ 0.10 pads with zeros; ``pad_mode`` selects);
* channel 0 (left) and channel 1 (right) are scored separately and the two values **summed**;
* the clips must have the same length (the scripts compare sample by sample). These metrics
  only make sense for output rendered from the ground truth's own mono signal (mono-to-binaural);
  for independently generated speech (TTS) they measure waveform mismatch, not spatial quality.

Arrays here are ``(time, 2)`` (``(2, time)`` is accepted), channel 0 = left ear. The
per-metric functions take two clips already at the same rate and length; the protocol
(resampling, normalisation, length check) is :func:`binaural_generation_metrics`.
"""

from __future__ import annotations

import librosa
import numpy as np
from scipy.signal import hilbert

ANALYSIS_RATE = 16000
N_FFT = 512
HOP_LENGTH = 160
WIN_LENGTH = 400
PEAK_FLOOR = 1e-20
SNR_EPS = 1e-4
DB_AMIN = 1e-5  # librosa.amplitude_to_db defaults used by Mag_diff_distance
DB_TOP = 80.0
PHASE_IGNORE_BELOW = 0.1  # Meta BinauralSpeechSynthesis PhaseLoss default: bins below 0.1 × mean energy are left out


def _channels_first(name: str, clip) -> np.ndarray:
    """A binaural clip as float64 (2, time); ValueError when malformed. A (2, 2) array is read as (time, 2)."""
    array = np.asarray(clip, dtype=np.float64)
    if array.ndim != 2 or 2 not in array.shape:
        raise ValueError(f"{name}: expected a binaural array of shape (time, 2) or (2, time), got {array.shape}")
    if array.shape[1] == 2:
        array = array.T
    if array.shape[1] == 0:
        raise ValueError(f"{name}: no samples")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name}: NaN or infinite samples")
    return np.ascontiguousarray(array)


def _pair(gt, gen) -> tuple[np.ndarray, np.ndarray]:
    """Both clips as float64 (2, time) arrays of equal length; ValueError otherwise."""
    a, b = _channels_first("ground truth", gt), _channels_first("generated", gen)
    if a.shape != b.shape:
        raise ValueError(f"the clips must have the same length; got {a.shape[1]} and {b.shape[1]} samples")
    return a, b


def fairplay_stft(channel: np.ndarray, pad_mode: str = "reflect") -> np.ndarray:
    """(257, frames) complex STFT of one channel with the FAIR-Play settings (n_fft 512, hop 160, Hann 400, centred).

    >>> fairplay_stft(np.zeros(16000)).shape
    (257, 101)
    """
    return librosa.stft(
        np.asarray(channel, dtype=np.float64),
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        win_length=WIN_LENGTH,
        window="hann",
        center=True,
        pad_mode=pad_mode,
    )


def peak_normalize(binaural: np.ndarray) -> np.ndarray:
    """Divide by the peak over both channels, as the FAIR-Play scripts' ``normalize``: x / max(1e-20, max|x|).

    >>> peak_normalize(np.array([[0.5, -2.0], [1.0, 0.0]])).tolist()
    [[0.25, -1.0], [0.5, 0.0]]
    """
    x = np.asarray(binaural, dtype=np.float64)
    return x / max(PEAK_FLOOR, float(np.max(np.abs(x))) if x.size else 0.0)


def stft_distance(gt, gen, *, pad_mode: str = "reflect") -> float:
    """STFT distance of 2.5D Visual Sound: Σ_ch mean over (re/im, f, t) of (Ŝ − S)², i.e. Σ_ch mean |ΔX|² / 2.

    Args:
        gt, gen: binaural clips at the same rate and length (time, 2).
        pad_mode: STFT edge padding ("reflect" as the original; "constant" as librosa ≥ 0.10).

    Returns:
        The distance (squared STFT units, ≥ 0; 0 for identical clips; symmetric).

    >>> rng = np.random.default_rng(0); x = rng.normal(size=(1600, 2))
    >>> stft_distance(x, x), round(stft_distance(x, 3 * x) / stft_distance(x, 0 * x), 10)   # (1 − 3)² = 4
    (0.0, 4.0)
    """
    return _stft_distance(_channel_deltas(*_pair(gt, gen), pad_mode))


def envelope_distance(gt, gen) -> float:
    """Envelope distance of 2.5D Visual Sound: Σ_ch sqrt(mean_t (|H x̂_ch| − |H x_ch|)²), H = analytic signal.

    ``scipy.signal.hilbert`` over the whole clip, as the original. Invariant to phase
    shifts that keep the envelope (a delayed sinusoid scores 0).

    >>> t = np.arange(1600) / 16000
    >>> tone = lambda amp: amp * np.sin(2 * np.pi * 500 * t)        # 50 whole periods: flat envelope = amp
    >>> round(envelope_distance(np.stack([tone(1.0), tone(0.2)], 1), np.stack([tone(0.5), tone(0.2)], 1)), 9)
    0.5
    """
    return _envelope_distance(*_pair(gt, gen))


def magnitude_distance(gt, gen, *, pad_mode: str = "reflect") -> float:
    """PseudoBinaural/CCStereo "Magnitude distance": Σ_ch mean_(f,t) |X̂_ch − X_ch|² (complex difference).

    Despite its name it compares complex spectra, so it equals 2 × :func:`stft_distance`
    exactly; it is offered because FAIR-Play tables report it as "Mag".

    >>> rng = np.random.default_rng(1); x, y = rng.normal(size=(800, 2)), rng.normal(size=(800, 2))
    >>> bool(np.isclose(magnitude_distance(x, y), 2 * stft_distance(x, y), rtol=1e-12))
    True
    """
    return _magnitude_distance(_channel_deltas(*_pair(gt, gen), pad_mode))


def difference_phase_distance(gt, gen, *, pad_mode: str = "reflect") -> float:
    """Phase distance of the left−right difference (PseudoBinaural/CCStereo ``Angle_Diff_distance``), radians in [0, π].

    D = STFT(left − right); distance = mean over (f, t) of the wrapped |∠D̂ − ∠D|,
    i.e. min(|Δ|, 2π − |Δ|). Bins where D is exactly zero count with angle 0 (as
    librosa.magphase gives). Swapping the ears negates D, so it scores π.

    Every bin counts alike, near-silent ones included, exactly as the released code (kept for
    parity with published FAIR-Play tables): bins holding only rounding noise add random phase
    differences (mean π/2 each). Measured on 2 s of ``speech_like`` at 40° azimuth, peak 0.5:
    0.5 × gt written as 16-bit scores 0.41 rad (16 kHz) to 0.48 rad (32 kHz), a copy resampled
    (soxr_hq) to another rate and written as 16-bit 0.43–0.70 rad, although both are the same
    sound. Only float copies score 0. :func:`masked_difference_phase_distance` leaves those
    bins out.

    >>> rng = np.random.default_rng(2); x = rng.normal(size=(1600, 2))
    >>> difference_phase_distance(x, 2 * x), round(difference_phase_distance(x, x[:, ::-1]), 9)
    (0.0, 3.141592654)
    """
    return _difference_phase_distance(*_difference_spectra(*_pair(gt, gen), pad_mode))


def masked_difference_phase_distance(
    gt, gen, *, pad_mode: str = "reflect", ignore_below: float = PHASE_IGNORE_BELOW
) -> float:
    """L−R phase distance over the bins that carry energy (radians in [0, π]; NaN when no bin does).

    D = STFT(left − right) as in :func:`difference_phase_distance`; with e(X) = |Re X| + |Im X|
    per bin, a bin counts when e(D) > τ · mean e(D) **and** e(D̂) > τ · mean e(D) (τ =
    ``ignore_below``, 0.1; both against the ground truth's mean, as Meta's BinauralSpeechSynthesis
    ``PhaseLoss``); distance = mean over those bins of the wrapped |∠D̂ − ∠D|. Near-silent bins,
    whose phase is rounding noise, are left out, so a copy of the ground truth scores near 0
    after 16-bit writing. Measured through :func:`binaural_generation_metrics` on 2 s of
    ``speech_like`` at 40°, peak 0.5: 0.5 × gt as 16-bit 0.001–0.004 rad (48/32/16 kHz; the
    16-bit rounding alone predicts 0.006 rad at 16 kHz), a copy resampled to 16–44.1 kHz and
    written as 16-bit 0.001–0.008 rad — where :func:`difference_phase_distance` gives
    0.41–0.48 and 0.43–0.70 rad. The mask
    compares levels, so give it peak-normalised clips (or clips at the same level): a
    generated clip 20 dB too quiet loses most of its bins.

    Returns NaN when no bin passes (a silent or mono ground truth has no L−R phase).

    >>> rng = np.random.default_rng(2); x = rng.normal(size=(1600, 2))
    >>> masked_difference_phase_distance(x, 2 * x), round(masked_difference_phase_distance(x, x[:, ::-1]), 9)
    (0.0, 3.141592654)
    >>> float(masked_difference_phase_distance(x[:, [0, 0]], x))   # mono gt: L − R = 0, no bin to compare
    nan
    """
    return _masked_difference_phase_distance(*_difference_spectra(*_pair(gt, gen), pad_mode), ignore_below)


def difference_magnitude_distance_db(gt, gen, *, pad_mode: str = "reflect") -> float:
    """dB magnitude distance of the left−right difference (early PseudoBinaural ``Mag_diff_distance``), in dB.

    sqrt(mean_(f,t) (dB(|D̂|) − dB(|D|))²) with D = STFT(left − right) and
    dB = ``librosa.amplitude_to_db`` defaults (ref 1, amin 1e-5, each spectrogram floored at
    its own maximum − 80 dB). A common gain g on both ears scores |20·log10 g| (while no
    bin hits the floors).

    >>> rng = np.random.default_rng(3); x = rng.normal(size=(1600, 2))
    >>> round(difference_magnitude_distance_db(x, 0.5 * x), 6), difference_magnitude_distance_db(x, x[:, ::-1])
    (6.0206, 0.0)
    """
    return _difference_magnitude_distance_db(*_difference_spectra(*_pair(gt, gen), pad_mode))


def waveform_snr_db(gt, gen) -> float:
    """PseudoBinaural/CCStereo ``SNR``: 10·log10((mean x² + 1e-4) / (mean (x̂ − x)² + 1e-4)), over both channels (dB).

    The 1e-4 terms are the original's; they cap the SNR of identical clips at
    10·log10(1 + mean x² / 1e-4) and make it depend on the level (hence the normalisation).

    >>> x = np.full((100, 2), 0.1)
    >>> round(waveform_snr_db(x, x), 6), round(waveform_snr_db(x, 0 * x), 6)
    (20.043214, 0.0)
    """
    return _waveform_snr_db(*_pair(gt, gen))


# The formulas, on clips already checked by _pair (float64 (2, time), equal length) and on their
# spectra, so that binaural_generation_metrics validates once and takes each STFT once.


def _channel_deltas(a: np.ndarray, b: np.ndarray, pad_mode: str) -> list[np.ndarray]:
    """Per channel, STFT(generated) − STFT(ground truth)."""
    return [fairplay_stft(b[ch], pad_mode) - fairplay_stft(a[ch], pad_mode) for ch in range(2)]


def _difference_spectra(a: np.ndarray, b: np.ndarray, pad_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """STFT(left − right) of the ground truth and of the generated clip."""
    return fairplay_stft(a[0] - a[1], pad_mode), fairplay_stft(b[0] - b[1], pad_mode)


def _stft_distance(deltas: list[np.ndarray]) -> float:
    total = 0.0
    for delta in deltas:
        total += float(np.mean(np.concatenate([delta.real.ravel(), delta.imag.ravel()]) ** 2))
    return total


def _magnitude_distance(deltas: list[np.ndarray]) -> float:
    return float(sum(np.mean(np.abs(delta) ** 2) for delta in deltas))


def _envelope_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(sum(np.sqrt(np.mean((np.abs(hilbert(a[ch])) - np.abs(hilbert(b[ch]))) ** 2)) for ch in range(2)))


def _difference_phase_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    delta = np.abs(np.angle(estimate) - np.angle(reference))
    return float(np.mean(np.minimum(delta, 2 * np.pi - delta)))


def _masked_difference_phase_distance(reference: np.ndarray, estimate: np.ndarray, ignore_below: float) -> float:
    energy_ref = np.abs(reference.real) + np.abs(reference.imag)
    energy_est = np.abs(estimate.real) + np.abs(estimate.imag)
    floor = ignore_below * float(np.mean(energy_ref))
    kept = (energy_ref > floor) & (energy_est > floor)
    if not kept.any():
        return float("nan")
    delta = np.abs(np.angle(estimate[kept]) - np.angle(reference[kept]))
    return float(np.mean(np.minimum(delta, 2 * np.pi - delta)))


def _difference_magnitude_distance_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    db_ref = librosa.amplitude_to_db(np.abs(reference), ref=1.0, amin=DB_AMIN, top_db=DB_TOP)
    db_est = librosa.amplitude_to_db(np.abs(estimate), ref=1.0, amin=DB_AMIN, top_db=DB_TOP)
    return float(np.sqrt(np.mean((db_est - db_ref) ** 2)))


def _waveform_snr_db(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((b - a) ** 2))
    return float(10.0 * np.log10((float(np.mean(a**2)) + SNR_EPS) / (mse + SNR_EPS)))


STACKS = ("librosa", "fairplay-2019")


def load_like_librosa_09(channels_first: np.ndarray, rate: int, target_rate: int = ANALYSIS_RATE) -> np.ndarray:
    """(2, n) float32 at ``target_rate`` as ``librosa.load(sr=target_rate, mono=False)`` returned it before 0.10.

    float32 samples; when the rate differs, ``resampy.resample(filter="kaiser_best")`` along
    time, then cut or zero-padded to ceil(n · target / rate) samples (librosa's ``fix_length``).
    resampy is an optional dependency (``pip install resampy``).

    >>> load_like_librosa_09(np.ones((2, 480)), 48000).shape
    (2, 160)
    """
    x = np.asarray(channels_first, dtype=np.float32)
    if int(rate) == int(target_rate):
        return x
    try:
        import resampy
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("binaural_gen stack 'fairplay-2019' needs resampy (pip install resampy)") from exc
    n_out = int(np.ceil(x.shape[-1] * float(target_rate) / rate))
    y = resampy.resample(x, rate, target_rate, filter="kaiser_best", axis=-1)
    if y.shape[-1] >= n_out:
        return np.ascontiguousarray(y[..., :n_out], dtype=np.float32)
    return np.pad(y, ((0, 0), (0, n_out - y.shape[-1]))).astype(np.float32)


METRIC_NAMES = (
    "stft_distance",
    "envelope_distance",
    "magnitude_distance",
    "lr_phase_distance",
    "lr_phase_distance_masked",
    "lr_magnitude_distance_db",
    "wave_snr_db",
)


def binaural_generation_metrics(
    gt,
    gen,
    sr: int,
    gen_sr: int | None = None,
    *,
    normalize: bool = True,
    analysis_rate: int = ANALYSIS_RATE,
    max_length_difference_s: float = 0.05,
    pad_mode: str = "reflect",
    stack: str = "librosa",
) -> dict:
    """The FAIR-Play table for one generated clip against its ground truth, with the scripts' protocol.

    Steps: resample both clips to ``analysis_rate`` (16 kHz; ``librosa.resample`` soxr_hq, as
    ``librosa.load`` ≥ 0.10 does; with ``stack="fairplay-2019"`` the 2019 stack instead:
    float32 samples, resampy ``kaiser_best``, length ceil(n · ratio), float32 normalisation — see
    :func:`load_like_librosa_09`), peak-normalise each over both channels (``normalize``), cut both
    to the shorter length, then compute

    * ``stft_distance`` (lower is better), ``envelope_distance`` (lower),
      ``magnitude_distance`` (lower; = 2 × STFT distance, PseudoBinaural's "Mag"),
      ``lr_phase_distance`` (radians 0…π, lower; "Phase", every bin as the released code),
      ``lr_phase_distance_masked`` (radians, lower; spatialeval's: energy-carrying bins only,
      :func:`masked_difference_phase_distance`), ``lr_magnitude_distance_db``
      (dB, lower), ``wave_snr_db`` (dB, higher).

    A pure gain vanishes with the normalisation for float clips; written as 16-bit files it
    does not for ``lr_phase_distance`` (rounding noise in near-silent bins, see
    :func:`difference_phase_distance`), but does to within a few mrad for the masked variant.
    When the ground truth's L − R is silent (a mono or silent gt) the masked variant is
    unmeasurable.

    When the lengths differ by more than ``max_length_difference_s`` the clips are not
    sample-aligned renderings of one signal; every value is then NaN and ``unmeasurable``
    says so (rather than a large "distance" that only measures misalignment). The extra
    ``length_difference_s`` is always given.

    Raises:
        ValueError: malformed clips (shape, NaN, no samples) or non-positive rates.

    >>> from spatialeval.synth import speech_like, spatialize
    >>> sr = 32000; gt = spatialize(speech_like(1.0, sr, seed=0), sr, 40)
    >>> m = binaural_generation_metrics(gt, 0.5 * gt, sr)     # a pure gain disappears with normalisation
    >>> m["stft_distance"], m["envelope_distance"], m["lr_phase_distance"], m["lr_phase_distance_masked"]
    (0.0, 0.0, 0.0, 0.0)
    >>> swapped = binaural_generation_metrics(gt, gt[:, ::-1], sr)
    >>> round(swapped["lr_phase_distance"], 6), swapped["stft_distance"] > 0
    (3.141593, True)
    """
    sr = int(sr)
    gen_sr = sr if gen_sr is None else int(gen_sr)
    if sr <= 0 or gen_sr <= 0 or analysis_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {sr}, {gen_sr} and {analysis_rate}")
    if stack not in STACKS:
        raise ValueError(f"stack must be one of {', '.join(STACKS)}, not {stack!r}")
    clips = []
    for name, clip, rate in (("ground truth", gt, sr), ("generated", gen, gen_sr)):
        x = _channels_first(name, clip)
        if stack == "fairplay-2019":
            x = load_like_librosa_09(x, rate, analysis_rate)
            clips.append((x / np.maximum(np.float32(PEAK_FLOOR), np.max(np.abs(x)))) if normalize else x)
            continue
        if rate != analysis_rate:
            x = librosa.resample(x, orig_sr=rate, target_sr=analysis_rate, res_type="soxr_hq", axis=-1)
        clips.append(peak_normalize(x) if normalize else x)
    length_difference_s = abs(clips[0].shape[1] - clips[1].shape[1]) / analysis_rate
    result: dict = {"length_difference_s": length_difference_s}
    if length_difference_s > max_length_difference_s:
        reason = (
            f"lengths differ by {length_difference_s:.3f} s (> {max_length_difference_s:g} s): these metrics "
            "compare waveforms sample by sample and need the generated clip rendered from the same signal"
        )
        result.update({name: float("nan") for name in METRIC_NAMES})
        result["unmeasurable"] = {name: reason for name in METRIC_NAMES}
        return result
    n = min(clips[0].shape[1], clips[1].shape[1])
    a, b = _pair(clips[0][:, :n].T, clips[1][:, :n].T)  # checked once; each STFT below taken once
    deltas = _channel_deltas(a, b, pad_mode)
    reference, estimate = _difference_spectra(a, b, pad_mode)
    result.update(
        {
            "stft_distance": _stft_distance(deltas),
            "envelope_distance": _envelope_distance(a, b),
            "magnitude_distance": _magnitude_distance(deltas),
            "lr_phase_distance": _difference_phase_distance(reference, estimate),
            "lr_phase_distance_masked": _masked_difference_phase_distance(reference, estimate, PHASE_IGNORE_BELOW),
            "lr_magnitude_distance_db": _difference_magnitude_distance_db(reference, estimate),
            "wave_snr_db": _waveform_snr_db(a, b),
        }
    )
    if not np.isfinite(result["lr_phase_distance_masked"]):
        result.setdefault("unmeasurable", {})["lr_phase_distance_masked"] = (
            "no STFT bin of the ground truth's left − right signal carries energy (a mono or silent ground "
            "truth has no L−R phase)"
        )
    return result
