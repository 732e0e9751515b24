"""``scipy.signal.resample_poly`` with its default design, without importing ``scipy.signal``.

``import scipy.signal`` runs the package's ``__init__``, which imports every signal module and with
them scipy.stats, scipy.spatial, scipy.sparse, scipy.interpolate and scipy.optimize (1.3–2.5 s of a
process's start-up, docs/performance.md section 3c), while a run of the interaural and BAT stages needs
one function of it: the Kaiser-window polyphase resampler BAT's evaluation applies before the encoder.

* :func:`kaiser_lowpass` — ``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))`` in numpy
  and ``scipy.special.i0``: the same operations in the same order (bit-identical taps);
* :func:`resample_poly` — ``scipy.signal.resample_poly(x, up, down, axis=axis)`` (default window,
  ``padtype="constant"``): the same zero-padded filter, run through scipy's own compiled polyphase
  loop (``scipy.signal._upfirdn_apply``, the extension ``upfirdn`` calls) loaded on its own, so the
  results are scipy's bit for bit. A pure-numpy loop in scipy's summation order was also bit-identical
  but 4–12× slower than the compiled one (more than the import it saves, over 32 clips).

Loading the extension without its package leaves it in ``sys.modules`` under its own name, where a
later ``import scipy.signal`` (another stage) finds and reuses it. Where it cannot be loaded (another
scipy layout), :func:`resample_poly` calls ``scipy.signal.resample_poly`` itself.
``tests/test_polyphase.py`` checks bit-identity with scipy on many rate pairs, lengths and shapes.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float = 5.0) -> np.ndarray:
    """``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))`` (low-pass, scaled, fs = 2).

    Example:
        >>> h = kaiser_lowpass(41, 0.5)
        >>> h.shape, round(float(h.sum()), 12)
        ((41,), 1.0)
    """
    from scipy.special import i0

    if not 0.0 < cutoff < 1.0:
        raise ValueError(f"cutoff must lie strictly between 0 and 1 (Nyquist), got {cutoff}")
    right = np.float64(cutoff)  # firwin: cutoff / nyq, with nyq = fs / 2 = 1
    m = np.arange(0, numtaps, dtype=np.float64) - 0.5 * (numtaps - 1)
    # firwin adds right·sinc(right·m) and subtracts the left edge's 0·sinc(0·m): exact zeros, left out
    h = right * np.sinc(right * m)
    # scipy.signal.windows.kaiser(numtaps, beta, sym=True)
    n = np.arange(0, numtaps, dtype=np.float64)
    half = (numtaps - 1) / 2.0
    window = i0(beta * np.sqrt(1 - ((n - half) / half) ** 2.0)) / i0(np.asarray(beta, dtype=np.float64))
    h *= window
    # unit gain at DC (firwin's scale=True with a pass band starting at 0: its weights cos(π·m·0) are exactly 1)
    h /= np.sum(h)
    return h


def polyphase_output_length(length: int, up: int, down: int) -> int:
    """``resample_poly``'s output length: ``ceil(length * up / down)`` with up/down reduced by their gcd.

    Example:
        >>> polyphase_output_length(441, 32000, 44100)
        320
    """
    divisor = math.gcd(int(up), int(down))
    up, down = int(up) // divisor, int(down) // divisor
    return -(-int(length) * up // down)


def resample_poly(x: np.ndarray, up: int, down: int, axis: int = 0) -> np.ndarray:
    """``scipy.signal.resample_poly(x, up, down, axis=axis)`` for real float64 data, bit-identical.

    Example:
        >>> y = resample_poly(np.ones((4410, 2)), 320, 441)  # unit gain inside the clip (Kaiser ripple ~1e-4)
        >>> y.shape, round(float(y[1600, 0]), 3)
        ((3200, 2), 1.0)
    """
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError(f"resample_poly computes in float64; got {x.dtype} (convert first)")
    up, down = int(up), int(down)
    if up < 1 or down < 1:
        raise ValueError(f"up and down must be positive integers, got {up} and {down}")
    divisor = math.gcd(up, down)
    up, down = up // divisor, down // divisor
    if up == down == 1:
        return x.copy()
    compiled = _upfirdn_extension()
    if compiled is None:
        from scipy import signal

        return signal.resample_poly(x, up, down, axis=axis)
    axis = axis % x.ndim
    n_in = x.shape[axis]
    n_out = polyphase_output_length(n_in, up, down)
    table, n_pre_remove, len_h = _filter_table(up, down, n_in)
    shape = list(x.shape)
    shape[axis] = _upfirdn_length(len_h, n_in, up, down)
    full = np.zeros(shape, dtype=np.float64)
    compiled._apply(x, table, full, up, down, axis, compiled.mode_enum("constant"), 0.0)
    keep = [slice(None)] * x.ndim
    keep[axis] = slice(n_pre_remove, n_pre_remove + n_out)
    return full[tuple(keep)]


def _filter_table(up: int, down: int, n_in: int) -> tuple[np.ndarray, int, int]:
    """resample_poly's filter for ``up``/``down`` in upfirdn's layout, the outputs to drop, the filter length.

    The firwin design times ``up``, zero-padded so the kept outputs are centred; upfirdn holds it
    phase by phase (phase ``t``: taps ``t, t + up, …`` reversed, zero-filled to equal lengths).
    """
    half_len = 10 * max(up, down)
    h = _scaled_design(up, down)
    n_pre_pad = down - half_len % down
    n_pre_remove = (half_len + n_pre_pad) // down
    n_out = polyphase_output_length(n_in, up, down)
    n_post_pad = 0
    while _upfirdn_length(len(h) + n_pre_pad + n_post_pad, n_in, up, down) < n_out + n_pre_remove:
        n_post_pad += 1
    h = np.concatenate((np.zeros(n_pre_pad), h, np.zeros(n_post_pad)))
    per_phase = -(-len(h) // up)
    table = np.zeros(per_phase * up)
    table[: len(h)] = h
    return np.ascontiguousarray(table.reshape(per_phase, up).T[:, ::-1]).ravel(), n_pre_remove, len(h)


@lru_cache(maxsize=16)
def _scaled_design(up: int, down: int) -> np.ndarray:
    """resample_poly's default Kaiser design for ``up``/``down``, times ``up``; designed once per ratio, because
    a streamed clip resamples block by block with the same filter (read-only: callers copy it)."""
    max_rate = max(up, down)
    h = kaiser_lowpass(2 * 10 * max_rate + 1, 1.0 / max_rate)
    h *= up
    h.flags.writeable = False
    return h


def _upfirdn_length(len_h: int, len_x: int, up: int, down: int) -> int:
    """Length of ``scipy.signal.upfirdn``'s full output: ceil(((len_x - 1)·up + len_h) / down)."""
    return ((len_x - 1) * up + len_h - 1) // down + 1


_EXTENSION = "scipy.signal._upfirdn_apply"
_loaded: list = []
_loading = threading.Lock()  # decoding/worker threads may resample at once: load the extension once


def _upfirdn_extension():
    """scipy's compiled upfirdn loop, loaded without running ``scipy/signal/__init__``; None if unavailable."""
    if not _loaded:
        with _loading:
            if not _loaded:
                _loaded.append(_load_extension())
    return _loaded[0]


def _load_extension():
    import importlib.machinery
    import importlib.util
    import os
    import sys

    try:
        if _EXTENSION in sys.modules:
            module = sys.modules[_EXTENSION]  # loaded by scipy.signal, or earlier by this function
        elif "scipy.signal" in sys.modules:
            import scipy.signal._upfirdn_apply as module  # the package is loaded: the ordinary import is free
        else:
            scipy_spec = importlib.util.find_spec("scipy")
            folder = os.path.join(scipy_spec.submodule_search_locations[0], "signal")
            spec = importlib.machinery.PathFinder.find_spec(_EXTENSION, [folder])
            if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
                return None
            module = importlib.util.module_from_spec(spec)
            sys.modules[_EXTENSION] = module  # a later ``import scipy.signal`` reuses this module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[_EXTENSION]
                raise
        if not all(hasattr(module, name) for name in ("_apply", "mode_enum")):
            return None
        return module
    except Exception:  # another scipy layout: fall back to scipy.signal.resample_poly
        return None
