"""features/polyphase.py: scipy.signal.resample_poly's numbers without importing scipy.signal."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spatialeval.features.polyphase import kaiser_lowpass, resample_poly

RATE_PAIRS = [(320, 441), (441, 320), (1, 2), (2, 1), (3, 2), (160, 147), (147, 160), (1, 3), (5, 1), (16000, 44100)]


@pytest.mark.parametrize("rate", [2, 3, 147, 160, 320, 441])
def test_kaiser_lowpass_is_firwin_bit_for_bit(rate):
    from scipy import signal

    numtaps = 2 * 10 * rate + 1
    expected = signal.firwin(numtaps, 1.0 / rate, window=("kaiser", 5.0))
    assert np.array_equal(kaiser_lowpass(numtaps, 1.0 / rate), expected)


@pytest.mark.parametrize(("up", "down"), RATE_PAIRS)
def test_resample_poly_is_scipys_bit_for_bit(up, down):
    from scipy import signal

    rng = np.random.default_rng(up * 1000 + down)
    for length in (1, 2, 13, 441, 4410 + 7):
        for shape in ((length,), (length, 2), (length, 3)):
            x = rng.normal(size=shape)
            expected = signal.resample_poly(x, up, down, axis=0)
            ours = resample_poly(x, up, down, axis=0)
            assert ours.shape == expected.shape and ours.dtype == expected.dtype
            assert np.array_equal(ours, expected), (up, down, shape)


def test_resample_poly_other_axes_and_pcm16_audio():
    from scipy import signal

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 5000))
    for axis in (1, -1):
        assert np.array_equal(resample_poly(x, 320, 441, axis=axis), signal.resample_poly(x, 320, 441, axis=axis))
    pcm = np.round(rng.normal(scale=3000, size=(44100, 2))) / 32768.0  # 16-bit samples, as decoded WAVs
    assert np.array_equal(resample_poly(pcm, 320, 441), signal.resample_poly(pcm, 320, 441, axis=0))
    assert np.array_equal(resample_poly(pcm, 4, 4), pcm)
    with pytest.raises(TypeError):
        resample_poly(pcm.astype(np.float32), 320, 441)


def _fresh_process(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_interaural_and_bat_inputs_do_not_import_scipy_signal():
    """The BAT encoder inputs (resample to 32 kHz) and the IPD/ILD features: no scipy.signal, stats, spatial."""
    code = (
        "import sys, numpy as np\n"
        "from types import SimpleNamespace\n"
        "import spatialeval.cli, spatialeval.pipeline.evaluate, spatialeval.metrics.bat_heads\n"
        "from spatialeval.io.audio import AudioClip\n"
        "from spatialeval.metrics.ipd_ild import isdrama_features\n"
        "from spatialeval.pipeline.embeddings import encoder_inputs\n"
        "x = (np.random.default_rng(0).normal(size=(44100, 2)) * 0.1).astype(np.float32)\n"
        "clip = AudioClip(samples=x, sample_rate=44100, path='x.wav', subtype='FLOAT', sha256='0')\n"
        "enc = SimpleNamespace(sample_rate=32000, window_samples=320000)\n"
        "assert encoder_inputs(clip, enc, 'first-window', -14.0).shape == (1, 2, 320000)\n"
        "isdrama_features(x.astype(np.float64), 44100)\n"
        "print(sorted(m for m in ('scipy.signal', 'scipy.stats', 'scipy.spatial') if m in sys.modules))\n"
    )
    assert _fresh_process(code) == "[]"


def test_scipy_signal_imported_later_reuses_the_loaded_extension():
    """Another stage importing scipy.signal after the resampler loaded its extension on its own."""
    code = (
        "import sys, numpy as np\n"
        "from spatialeval.features.polyphase import resample_poly\n"
        "x = np.random.default_rng(1).normal(size=(4410, 2))\n"
        "ours = resample_poly(x, 320, 441)\n"
        "assert 'scipy.signal' not in sys.modules and 'scipy.signal._upfirdn_apply' in sys.modules\n"
        "from scipy import signal\n"
        "print(np.array_equal(ours, signal.resample_poly(x, 320, 441, axis=0)),"
        " np.array_equal(ours, resample_poly(x, 320, 441)))\n"
    )
    assert _fresh_process(code) == "True True"


def test_first_use_from_several_threads_at_once():
    """Decoder/worker threads may resample concurrently: the extension loads once, every result is scipy's."""
    code = (
        "import sys, numpy as np\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from spatialeval.features.polyphase import resample_poly\n"
        "xs = [np.random.default_rng(k).normal(size=(4410, 2)) for k in range(8)]\n"
        "with ThreadPoolExecutor(8) as pool:\n"
        "    ours = list(pool.map(lambda x: resample_poly(x, 320, 441), xs))\n"
        "from scipy import signal\n"
        "print(all(np.array_equal(o, signal.resample_poly(x, 320, 441, axis=0)) for o, x in zip(ours, xs)))\n"
    )
    assert _fresh_process(code) == "True"
