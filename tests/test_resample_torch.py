"""The torch resamplers against their references: the polyphase one against scipy.signal.resample_poly,
the sinc one's kernel against the one torchaudio builds (stored in tests/data/sinc_kernel)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from spatialeval.features.resample import (
    _sinc_kernel,
    polyphase_output_length,
    resample_poly_torch,
    resample_polyphase,
    resample_polyphase_torch,
    resample_sinc,
    resample_sinc_chunks,
)

RATE_PAIRS = [(44100, 32000), (48000, 32000), (16000, 32000), (22050, 32000), (8000, 16000), (32000, 16000)]
LENGTHS = [1, 2, 5, 441, 1001, 44101]


def _scipy(x: np.ndarray, orig: int, new: int) -> np.ndarray:
    divisor = math.gcd(orig, new)
    return signal.resample_poly(x, new // divisor, orig // divisor, axis=-1)


def _relative_error(ours: torch.Tensor, ref: np.ndarray) -> float:
    return float(np.abs(ours.numpy().astype(np.float64) - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("orig,new", RATE_PAIRS)
@pytest.mark.parametrize("length", LENGTHS)
def test_equals_scipy_float64(orig, new, length):
    x = np.random.default_rng(length).normal(size=(2, 2, length))
    ref = _scipy(x, orig, new)
    ours = resample_polyphase_torch(torch.from_numpy(x), orig, new)
    assert ours.dtype == torch.float64 and ours.shape == ref.shape
    assert _relative_error(ours, ref) < 1e-12


@pytest.mark.parametrize("orig,new", RATE_PAIRS)
@pytest.mark.parametrize("length", [3, 1001, 44101])
def test_equals_scipy_float32(orig, new, length):
    x = np.random.default_rng(length).normal(size=(3, length)).astype(np.float32)
    ref = _scipy(x, orig, new)
    assert ref.dtype == np.float32  # scipy filters float32 input in float32, with float32 taps
    ours = resample_polyphase_torch(torch.from_numpy(x), orig, new)
    assert ours.dtype == torch.float32 and ours.shape == ref.shape
    assert _relative_error(ours, ref) < 1e-6


def test_output_length_and_alignment_match_scipy_on_an_impulse():
    # A single impulse shows both the kept range and the phase: the response must sit where scipy's does.
    x = np.zeros(97)
    x[40] = 1.0
    for up, down in [(320, 441), (2, 3), (2, 1), (1, 2), (640, 441)]:
        ref = signal.resample_poly(x, up, down)
        ours = resample_poly_torch(torch.from_numpy(x), up, down).numpy()
        assert ours.shape == ref.shape == (polyphase_output_length(97, up, down),)
        assert int(np.argmax(np.abs(ours))) == int(np.argmax(np.abs(ref)))
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14)


def test_matches_the_numpy_pipeline_helper_on_time_major_audio():
    clip = np.random.default_rng(3).normal(0, 0.3, (4410, 2))  # (time, 2) like soundfile
    ref = resample_polyphase(clip, 44100)
    ours = resample_polyphase_torch(torch.from_numpy(clip.T.copy()), 44100).numpy().T
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-13)


def test_batched_leading_dimensions_equal_row_by_row():
    x = torch.from_numpy(np.random.default_rng(4).normal(size=(3, 2, 5000)))
    batched = resample_poly_torch(x, 320, 441)
    for i in range(3):
        for c in range(2):
            torch.testing.assert_close(batched[i, c], resample_poly_torch(x[i, c], 320, 441), rtol=0, atol=1e-15)


def test_integer_and_half_inputs_follow_scipy_result_types():
    rng = np.random.default_rng(5)
    ints = rng.integers(-30000, 30000, size=(2, 999), dtype=np.int16)
    ref = signal.resample_poly(ints, 320, 441, axis=-1)
    ours = resample_poly_torch(torch.from_numpy(ints), 320, 441)
    assert ours.dtype == torch.float64 and ref.dtype == np.float64
    assert _relative_error(ours, ref) < 1e-12
    half = rng.normal(size=(2, 999)).astype(np.float16)
    ref = signal.resample_poly(half, 2, 3, axis=-1)
    ours = resample_poly_torch(torch.from_numpy(half), 2, 3)
    assert ours.dtype == torch.float32 and ref.dtype == np.float32
    assert _relative_error(ours, ref) < 1e-6


def test_float32_input_filtered_in_float64_equals_scipy_on_float64():
    x = np.random.default_rng(6).normal(size=(2, 3001)).astype(np.float32)
    ref = signal.resample_poly(x.astype(np.float64), 320, 441, axis=-1)
    ours = resample_poly_torch(torch.from_numpy(x), 320, 441, dtype=torch.float64)
    assert ours.dtype == torch.float64
    assert _relative_error(ours, ref) < 1e-12


def test_equal_rates_and_trivial_factors():
    x = torch.randn(2, 100, dtype=torch.float64)
    assert resample_polyphase_torch(x, 32000, 32000) is x
    torch.testing.assert_close(resample_poly_torch(x, 3, 3), x, rtol=0, atol=0)


@pytest.mark.parametrize("bad", [(0, 1), (1, -2)])
def test_rejects_non_positive_factors(bad):
    with pytest.raises(ValueError, match="positive"):
        resample_poly_torch(torch.zeros(10), *bad)


def test_rejects_empty_and_complex_input():
    with pytest.raises(ValueError, match="at least one sample"):
        resample_poly_torch(torch.zeros(2, 0), 2, 3)
    with pytest.raises(ValueError, match="real"):
        resample_poly_torch(torch.zeros(4, dtype=torch.complex64), 2, 3)


@settings(max_examples=40, deadline=None)
@given(up=st.integers(1, 60), down=st.integers(1, 60), length=st.integers(1, 400), seed=st.integers(0, 2**16))
def test_any_factors_and_length_equal_scipy(up, down, length, seed):
    x = np.random.default_rng(seed).normal(size=length)
    ref = signal.resample_poly(x, up, down)
    ours = resample_poly_torch(torch.from_numpy(x), up, down)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()))


# --------------------------------------------------------------------------- the sinc resampler's kernel

TORCHAUDIO_KERNELS = json.loads(
    (Path(__file__).parent / "data" / "sinc_kernel" / "torchaudio_float32.json").read_text()
)["kernels"]


@pytest.mark.parametrize("orig", sorted(TORCHAUDIO_KERNELS))
def test_float32_sinc_kernel_is_the_releases(orig):
    # torchaudio.transforms.Resample(orig, 32000, dtype=torch.float32), as the released gen_ipd_ild.py calls
    # it, computes its kernel in float32. Same steps in the same order: equal up to a few float32 roundings
    # of sin/cos (one ulp of the largest tap is 6e-8; the float64 design is up to 1.5e-5 away, see below).
    ref = TORCHAUDIO_KERNELS[orig]
    (reduced_orig, reduced_new), rows = ref["reduced"], ref["rows"]
    expected = torch.tensor(ref["values"], dtype=torch.float64)
    tolerance = 4 * torch.finfo(torch.float32).eps * float(expected.abs().max())
    kernel, half_width = _sinc_kernel(reduced_orig, reduced_new, 6, 0.99, torch.float32)
    assert kernel.dtype == torch.float32 and list(kernel[:, 0].shape) == ref["shape"]
    assert kernel.shape[-1] == 2 * half_width + reduced_orig
    assert float((kernel[rows, 0].double() - expected).abs().max()) <= tolerance
    if orig == "44100":  # the data can tell the two designs apart: the float64 one misses by ~40x the tolerance
        accurate = _sinc_kernel(reduced_orig, reduced_new, 6, 0.99, torch.float64)[0]
        assert float((accurate[rows, 0].double() - expected).abs().max()) > 10 * tolerance


@pytest.mark.parametrize("kernel_dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("orig", [44100, 48000, 16000])
def test_sinc_chunks_equal_whole_for_both_kernels(orig, kernel_dtype):
    x = torch.from_numpy(np.random.default_rng(orig).normal(size=(2, orig // 3 + 17)).astype(np.float32))
    whole = resample_sinc(x, orig, 32000, kernel_dtype=kernel_dtype)
    chunks = torch.cat(list(resample_sinc_chunks(x, orig, 32000, chunk_samples=3000, kernel_dtype=kernel_dtype)), -1)
    assert chunks.shape == whole.shape == (2, math.ceil(32000 * x.shape[-1] / orig))
    # the same dot products of the same float32 numbers, taken by convolutions of different lengths
    torch.testing.assert_close(chunks, whole, rtol=0, atol=8 * torch.finfo(torch.float32).eps * float(x.abs().max()))
