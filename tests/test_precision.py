"""Precision modes: TF32 flags set inside the scope and restored after it (the flags are settable without a GPU)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from spatialeval.precision import (
    _snapshot,
    autocast,
    autocast_support,
    describe,
    ieee_float32,
    precision_scope,
    tf32_enabled,
)


def _same(before: dict, after: dict) -> bool:
    # A legacy getter unreadable before (mixed legacy/new-API state) may become readable; every node must match.
    return all(after[key] == value for key, value in before.items() if value is not None)


@pytest.fixture
def restore_flags():
    saved = _snapshot()
    yield
    from spatialeval.precision import _restore

    _restore(saved)


def _user_states():
    backends = torch.backends
    yield "defaults", lambda: None
    yield "matmul high", lambda: torch.set_float32_matmul_precision("high")
    yield "cudnn legacy off", lambda: setattr(backends.cudnn, "allow_tf32", False)
    if hasattr(backends.cudnn, "conv") and hasattr(backends.cudnn.conv, "fp32_precision"):
        yield "new-API matmul tf32", lambda: setattr(backends.cuda.matmul, "fp32_precision", "tf32")

        def parent_tf32():
            backends.cudnn.fp32_precision = "tf32"
            backends.cudnn.conv.fp32_precision = "none"

        yield "cudnn parent node tf32", parent_tf32


@pytest.mark.parametrize("mode,expect_tf32", [("fp32-parity", False), ("tf32", True)])
def test_scope_sets_and_restores_flags(restore_flags, mode, expect_tf32):
    for name, setup in _user_states():
        setup()
        before = _snapshot()
        with precision_scope(mode) as info:
            assert tf32_enabled() is expect_tf32, name
            assert torch.backends.cudnn.allow_tf32 is expect_tf32, name
            assert torch.backends.cuda.matmul.allow_tf32 is expect_tf32, name
            assert info == {"precision": "fp32", "tf32": expect_tf32, "autocast": None}
        assert _same(before, _snapshot()), name


def test_scope_restores_on_exception(restore_flags):
    torch.set_float32_matmul_precision("high")
    before = _snapshot()
    with pytest.raises(KeyError), precision_scope("fp32-parity"):
        assert not tf32_enabled()
        raise KeyError("boom")
    assert _same(before, _snapshot())
    assert torch.get_float32_matmul_precision() == "high"


def test_nested_scopes_unwind(restore_flags):
    before = _snapshot()
    with precision_scope("tf32"):
        with precision_scope("fp32-parity"):
            assert not tf32_enabled()
        assert tf32_enabled()
    assert _same(before, _snapshot())


def test_ieee_float32_is_a_no_op_on_cpu(restore_flags):
    torch.set_float32_matmul_precision("high")
    with ieee_float32("cpu"):
        assert torch.get_float32_matmul_precision() == "high"


def test_unknown_modes_raise():
    with pytest.raises(ValueError, match="fp32-parity"), precision_scope("bf16"):
        pass
    with pytest.raises(ValueError, match="autocast"):
        describe("fp32-parity", "int8")


def test_describe():
    assert describe() == {"precision": "fp32", "tf32": False, "autocast": None}
    assert describe("fp32-parity", "fp16") == {"precision": "fp16", "tf32": False, "autocast": "fp16"}


def test_autocast_runs_bf16_on_cpu():
    with autocast("bf16", "cpu"):
        assert (torch.ones(4, 4) @ torch.ones(4, 4)).dtype == torch.bfloat16
    with autocast(None, "cpu"):
        assert (torch.ones(4, 4) @ torch.ones(4, 4)).dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_autocast_without_cuda_is_a_no_op_with_a_warning():
    assert autocast_support("bf16", "cuda") == "CUDA is not available"
    with pytest.warns(RuntimeWarning, match="autocast bf16 skipped: CUDA is not available"):
        context = autocast("bf16", "cuda")
    with context:
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_autocast_none_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with autocast(None, "cuda"):
            pass


@pytest.mark.parametrize("name", ["bf16"])  # fp16 overflows on random weights; its cast is the same code path
def test_the_encodersautocast_twin_computes_what_autocast_computes_from_float32_weights(name):
    """BATEncoder.batch runs autocast on a twin whose linear weights are rounded once; the numbers must be
    those of autocast rounding the float32 weights on every pass (the same cast), bit for bit."""
    from types import SimpleNamespace

    from spatialeval.models import spatial_encoder
    from spatialeval.models.bat import SpatialAST
    from spatialeval.precision import AUTOCAST_DTYPES

    torch.manual_seed(0)
    model = SpatialAST()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.02)
    windows = (0.1 * torch.randn(2, 2, 16000, generator=torch.Generator().manual_seed(1))).numpy()
    with torch.no_grad(), torch.autocast("cpu", dtype=AUTOCAST_DTYPES[name]):
        expected = model(torch.from_numpy(windows))
    encoder = spatial_encoder.BATEncoder(SimpleNamespace(model=model, sha256="test"), "cpu")
    got = encoder.batch(windows, batch_size=2, autocast=name)
    assert np.isfinite(got["azi"]).all() and np.isfinite(got["dis"]).all()
    assert np.array_equal(got["azi"], expected.direction.float().numpy())
    assert np.array_equal(got["dis"], expected.distance.float().numpy())
    twin = spatial_encoder.autocast_twin(model, AUTOCAST_DTYPES[name])
    assert (
        twin.blocks[0].attn.qkv.weight.dtype == AUTOCAST_DTYPES[name]
        and model.blocks[0].attn.qkv.weight.dtype == torch.float32
    )
    # float32 parity mode still runs the float32 model itself
    plain = encoder.batch(windows, batch_size=2)
    with torch.no_grad():
        assert np.array_equal(plain["azi"], model(torch.from_numpy(windows)).direction.numpy())
