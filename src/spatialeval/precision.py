"""Precision modes for the device paths: TF32 on or off (scoped), and bf16/fp16 autocast.

PyTorch's defaults let cuDNN convolutions run in TF32 on Ampere and later GPUs, which
moves fp32 BAT embeddings by up to ~1.4e-4 (outside the 1e-4 parity tolerance); users
often also switch cuBLAS matmuls to TF32 (``torch.set_float32_matmul_precision("high")``).
The modes:

* ``"fp32-parity"`` — IEEE fp32 for cuDNN convolutions/RNNs and CUDA matmuls (TF32 off), and
  for oneDNN on CPU (should someone have set it to bf16); what the ``isdrama`` protocol's
  parity promises are measured under;
* ``"tf32"`` — TF32 allowed for both (faster, not parity);
* ``"bf16"`` / ``"fp16"`` — autocast around the encoder (see :func:`autocast`), fp32 elsewhere.

:func:`precision_scope` changes PyTorch's process-wide flags and restores the exact previous
values on exit, also when the body raises. The flags are global, so another thread that
launches CUDA work at the same time sees them too.

Example:
    >>> import torch
    >>> before = torch.backends.cudnn.allow_tf32
    >>> with precision_scope("fp32-parity") as info:
    ...     torch.backends.cudnn.allow_tf32
    False
    >>> info
    {'precision': 'fp32', 'tf32': False, 'autocast': None}
    >>> torch.backends.cudnn.allow_tf32 == before
    True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch

SCOPE_MODES = ("fp32-parity", "tf32")
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

# The fp32_precision nodes of PyTorch >= 2.9, parents before children. A leaf set to "none"
# inherits from its backend node, which inherits from the generic node.
_NODES = (
    "",
    "cuda",
    "cuda.matmul",
    "cudnn",
    "cudnn.conv",
    "cudnn.rnn",
    "mkldnn",
    "mkldnn.matmul",
    "mkldnn.conv",
    "mkldnn.rnn",
)
_GPU_LEAVES = ("cuda.matmul", "cudnn.conv", "cudnn.rnn")
_CPU_LEAVES = ("mkldnn.matmul", "mkldnn.conv", "mkldnn.rnn")  # oneDNN may be set to bf16/tf32 for fp32 ops


def _node(path: str):
    target = torch.backends
    for part in filter(None, path.split(".")):
        target = getattr(target, part, None)
        if target is None:
            return None
    return target if hasattr(target, "fp32_precision") else None


def _try(getter):
    try:
        return getter()
    except (RuntimeError, AttributeError):  # a mixed legacy/new-API state makes legacy getters raise
        return None


def _snapshot() -> dict:
    """Every TF32-related flag that can be read in the current state."""
    state = {
        "legacy.cudnn": _try(lambda: torch.backends.cudnn.allow_tf32),
        "legacy.matmul": _try(torch.get_float32_matmul_precision),
    }
    for path in _NODES:
        node = _node(path)
        if node is not None:
            state[path] = _try(lambda node=node: node.fp32_precision)
    return state


def _restore(state: dict) -> None:
    # Legacy setters first (they rewrite several nodes), then every node to its saved value.
    if state.get("legacy.cudnn") is not None:
        torch.backends.cudnn.allow_tf32 = state["legacy.cudnn"]
    if state.get("legacy.matmul") is not None:
        torch.set_float32_matmul_precision(state["legacy.matmul"])
    for path in _NODES:
        node = _node(path)
        if node is not None and state.get(path) is not None:
            node.fp32_precision = state[path]


def _effective(path: str) -> str | None:
    """The precision a new-API leaf resolves to through its parents ("none" → IEEE default)."""
    parts = path.split(".")
    for candidate in (path, parts[0], ""):
        node = _node(candidate)
        value = _try(lambda node=node: node.fp32_precision) if node is not None else None
        if value not in (None, "none"):
            return value
    return "ieee" if _node(path) is not None else None


def _set_tf32(allowed: bool) -> None:
    # The legacy setters keep legacy getters usable for code running inside the scope; then make
    # sure the new-API leaves really resolve to the wanted precision (a parent node set to "tf32"
    # would otherwise leak into leaves the legacy setter left at "none").
    torch.backends.cudnn.allow_tf32 = allowed
    torch.set_float32_matmul_precision("high" if allowed else "highest")
    wanted = "tf32" if allowed else "ieee"
    for path in _GPU_LEAVES + (() if allowed else _CPU_LEAVES):
        node = _node(path)
        if node is not None and _effective(path) != wanted:
            node.fp32_precision = wanted


def tf32_enabled() -> bool:
    """Whether cuDNN convolutions or CUDA matmuls may currently use TF32."""
    if _node("cudnn.conv") is not None:
        return any(_effective(path) == "tf32" for path in ("cudnn.conv", "cuda.matmul"))
    return bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)


def describe(mode: str = "fp32-parity", autocast_mode: str | None = None) -> dict:
    """The summary's precision entry, e.g. ``{"precision": "fp32", "tf32": False, "autocast": None}``.

    Example:
        >>> describe("tf32", "bf16")
        {'precision': 'bf16', 'tf32': True, 'autocast': 'bf16'}
    """
    _check_mode(mode)
    _check_autocast(autocast_mode)
    return {"precision": autocast_mode or "fp32", "tf32": mode == "tf32", "autocast": autocast_mode}


def _check_mode(mode: str) -> None:
    if mode not in SCOPE_MODES:
        raise ValueError(
            f"precision mode must be one of {SCOPE_MODES}, got {mode!r} (bf16/fp16 are autocast modes: use autocast())"
        )


def _check_autocast(mode: str | None) -> None:
    if mode is not None and mode not in AUTOCAST_DTYPES:
        raise ValueError(f"autocast must be None or one of {tuple(AUTOCAST_DTYPES)}, got {mode!r}")


@contextlib.contextmanager
def precision_scope(mode: str = "fp32-parity") -> Iterator[dict]:
    """Set TF32 for cuDNN and CUDA matmuls per ``mode`` ("fp32-parity" off, "tf32" on); restore on exit.

    Yields :func:`describe` of the mode. The flags can be set without a GPU, so the scope
    is harmless (and testable) on CPU.

    Raises:
        ValueError: for an unknown mode.

    Example:
        >>> import torch
        >>> with precision_scope("tf32"):
        ...     tf32_enabled()
        True
        >>> torch.get_float32_matmul_precision()
        'highest'
    """
    _check_mode(mode)
    saved = _snapshot()
    try:
        _set_tf32(mode == "tf32")
        yield describe(mode)
    finally:
        _restore(saved)


def ieee_float32(device: str | torch.device):
    """TF32 off while the body runs on a CUDA ``device`` (a no-op elsewhere or when it is off already).

    Wrapped around the resampling and feature kernels so that they equal their CPU
    references whatever the caller's global TF32 settings are. Flags are only written
    when TF32 is on, so parity-mode runs (and CPU runs) never touch them.
    """
    if torch.device(device).type != "cuda" or not tf32_enabled():
        return contextlib.nullcontext()
    return precision_scope("fp32-parity")


def autocast_support(mode: str | None, device: str | torch.device) -> str | None:
    """None when ``mode`` autocast can run on ``device``, else the reason it cannot.

    Example:
        >>> autocast_support("bf16", "cpu") is None
        True
    """
    _check_autocast(mode)
    if mode is None:
        return None
    device_type = torch.device(device).type
    available = getattr(torch.amp, "is_autocast_available", lambda kind: kind in ("cpu", "cuda"))
    if not available(device_type):
        return f"torch has no autocast for {device_type!r} devices"
    if device_type == "cuda":
        if not torch.cuda.is_available():
            return "CUDA is not available"
        if mode == "bf16" and not torch.cuda.is_bf16_supported():
            return f"this GPU ({torch.cuda.get_device_name()}) does not support bfloat16"
    if device_type == "mps" and mode == "bf16" and not _mps_bf16():
        return "this MPS device does not support bfloat16"
    return None


def _mps_bf16() -> bool:
    try:
        torch.zeros(1, dtype=torch.bfloat16, device="mps")
        return True
    except (RuntimeError, TypeError):
        return False


def autocast(mode: str | None, device: str | torch.device):
    """A ``torch.autocast`` context for ``mode`` ("bf16", "fp16") on ``device``, or a no-op.

    ``mode=None`` is a plain no-op. Where the device cannot autocast to that dtype the
    context is a no-op too and a :class:`RuntimeWarning` says so (the computation then
    runs in fp32); check :func:`autocast_support` first to report it in a summary.

    Example:
        >>> import torch
        >>> with autocast("bf16", "cpu"):
        ...     (torch.ones(2, 2) @ torch.ones(2, 2)).dtype
        torch.bfloat16
    """
    reason = autocast_support(mode, device)
    if mode is None:
        return contextlib.nullcontext()
    if reason is not None:
        warnings.warn(f"autocast {mode} skipped: {reason}; running in fp32", RuntimeWarning, stacklevel=2)
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=AUTOCAST_DTYPES[mode])
