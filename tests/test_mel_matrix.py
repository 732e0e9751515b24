"""The mel filterbank computed in numpy (no librosa import at start-up) is librosa's Slaney filterbank."""

from __future__ import annotations

import numpy as np
import pytest

from spatialeval.features.spectral import AnalysisSettings, mel_matrix


@pytest.mark.parametrize(
    "settings",
    [
        AnalysisSettings(),  # ISDrama / BAT: 32 kHz, 1024, 128 mels, 50 Hz - 14 kHz
        AnalysisSettings(sample_rate=16000, n_fft=512, n_mels=40, fmin=0.0, fmax=8000.0),
        AnalysisSettings(sample_rate=44100, n_fft=2048, n_mels=64, fmin=20.0, fmax=20000.0),
    ],
)
def test_mel_matrix_equals_librosa_filters_mel(settings):
    librosa = pytest.importorskip("librosa")
    expected = librosa.filters.mel(
        sr=settings.sample_rate, n_fft=settings.n_fft, n_mels=settings.n_mels, fmin=settings.fmin, fmax=settings.fmax
    ).T
    ours = mel_matrix(settings)
    assert ours.shape == expected.shape and ours.dtype == np.float32
    # two code paths: float32 rounding of the largest weight (measured: identical on librosa 0.11)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=4 * np.finfo(np.float32).eps * float(expected.max()))


def test_a_run_of_the_interaural_features_does_not_import_librosa():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from spatialeval.metrics.ipd_ild import isdrama_features\n"
        "isdrama_features(np.random.default_rng(0).normal(size=(32000, 2)) * 0.1, 32000)\n"
        "print('librosa' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
