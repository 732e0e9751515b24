"""Tensor API: the spatial metrics over batched ``(B, 2, T)`` tensors, on any device, for training loops.

Every function takes zero-padded batches — item ``b`` is ``waves[b, :, :lengths[b]]``
(the whole time axis when ``lengths`` is None), channel 0 the left ear, channel 1 the
right — and returns per-item values as ``(B,)`` tensors on the batch's device. Each item
gets what the file-based per-clip functions give it alone: samples past an item's length
are ignored, the STFT reflects at the item's own end, and resampling uses the same filters
(Hann-windowed sinc for IPD/ILD, ``scipy.signal.resample_poly``'s Kaiser design for BAT,
here in torch).

* :func:`ipd_ild_mae` — IPD/ILD MAE under the ``isdrama`` or ``strict`` protocol;
* :func:`bat_inputs`, :func:`bat_embeddings`, :func:`bat_cosines` — BAT's encoder inputs
  (resampling to 32 kHz, −14 dBFS loudness normalisation, 10-s windows), its direction and
  distance embeddings, and the ANG/Dis cosines.

Numerics: the feature and resampling kernels run with TF32 off on CUDA (see
:mod:`spatialeval.precision`); the encoder runs under whatever precision the caller set —
wrap calls in ``precision_scope("fp32-parity")`` for the ``isdrama`` parity tolerances, or
pass ``autocast="bf16"`` for speed.

Example:
    >>> import torch
    >>> gt = torch.randn(3, 2, 16000) * 0.1
    >>> gen = gt.clone()
    >>> gen[2, 1] *= 0.5                                      # item 2: right ear 6 dB quieter
    >>> mae = ipd_ild_mae(gt, gen, 16000, protocol="strict")
    >>> [round(v, 3) for v in mae["ild_mae"].tolist()]
    [0.0, 0.0, 6.021]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spatialeval.features.interaural_spectra import check_binaural_batch
from spatialeval.features.resample import TARGET_RATE, polyphase_output_length, resample_polyphase_torch
from spatialeval.features.spectral import check_lengths, zero_beyond
from spatialeval.metrics.cosine_similarity import cosine_rows, isdrama_cosine_rows
from spatialeval.metrics.encoder_windows import MODES as BAT_MODES  # the bat stage's window modes
from spatialeval.metrics.ipd_ild import (
    check_batch_pair,
    device_chunks,
    isdrama_ipd_ild_mae_batch,
    strict_ipd_ild_mae_batch,
)
from spatialeval.metrics.registry import PROTOCOLS
from spatialeval.models.bat import CLIP_SAMPLES
from spatialeval.names import renamed_value
from spatialeval.precision import autocast as autocast_context

__all__ = [
    "BAT_MODES",
    "BATEmbeddingBatch",
    "BATInputs",
    "bat_cosines",
    "bat_embeddings",
    "bat_inputs",
    "check_sample_rate",
    "embed_windows",
    "ipd_ild_mae",
    "loudness_gain",
    "loudness_normalize",
    "window_cosines",
]


def check_sample_rate(value, name: str = "sample_rate", *, optional: bool = False) -> int | None:
    """``value`` as an int sample rate in Hz; ValueError unless it is a positive whole number.

    Every public function here taking a rate validates it with this, so ``0`` cannot divide by
    zero deep inside a kernel and ``32000.5`` is not silently truncated to 32000. Integral floats
    (``32000.0``) and integer tensors/NumPy scalars are accepted; bools are not.

    Example:
        >>> check_sample_rate(32000.0), check_sample_rate(None, optional=True)
        (32000, None)
        >>> check_sample_rate(32000.5)
        Traceback (most recent call last):
        ValueError: sample_rate must be a positive whole number of Hz, got 32000.5
    """
    if value is None and optional:
        return None
    number = value.item() if hasattr(value, "item") and getattr(value, "ndim", 0) == 0 else value
    whole = (isinstance(number, int) and not isinstance(number, bool)) or (
        isinstance(number, float)
        and number == number
        and number not in (float("inf"), float("-inf"))
        and number.is_integer()
    )
    if not whole or number <= 0:
        raise ValueError(f"{name} must be a positive whole number of Hz, got {value!r}")
    return int(number)


def ipd_ild_mae(
    gt: torch.Tensor,
    gen: torch.Tensor,
    sample_rate: int,
    protocol: str = "isdrama",
    *,
    gen_sample_rate: int | None = None,
    gt_lengths=None,
    gen_lengths=None,
    floor_db: float = 60.0,
    items_per_pass: int | None = None,
) -> dict[str, torch.Tensor]:
    """IPD and ILD MAE of each generated item against its ground truth.

    ``isdrama``: per item, F = (per-bin IPD or ILD) · melW over the STFT of the clip at 32 kHz
    (float32), and ``MAE = mean|F_gt[:T] − F_gen[:T]| / T`` with T the common frame count
    (see :mod:`spatialeval.metrics.ipd_ild`). ``strict``: wrapped |ΔIPD| (rad) and |ΔILD|
    (dB) averaged over the common frames' bins within ``floor_db`` of the ground truth's
    peak, in float64.

    Args:
        gt, gen: (B, 2, T_gt) and (B, 2, T_gen) tensors on the same device.
        sample_rate: rate of ``gt`` (and of ``gen`` unless ``gen_sample_rate`` is given).
        protocol: "isdrama" or "strict".
        gt_lengths, gen_lengths: (B,) true sample counts, or None for the full time axis.
        floor_db: the strict protocol's energy mask.
        items_per_pass: items transformed together (bounds memory; default the whole batch on
            an accelerator, one item at a time on CPU, which is faster there).

    Returns:
        {"ipd_mae": (B,), "ild_mae": (B,)} float64 tensors on the batch's device; under
        ``strict`` an item whose ground truth is silent is NaN (unmeasurable).

    Raises:
        ValueError: for tensors not shaped (B, 2, T), different batch sizes, non-finite
            samples, bad lengths, an item too short for the STFT, or an unknown protocol.

    Example:
        >>> import torch
        >>> clip = torch.randn(2, 2, 32000) * 0.1
        >>> ipd_ild_mae(clip, clip, 32000)["ipd_mae"].tolist()
        [0.0, 0.0]
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    sample_rate = check_sample_rate(sample_rate)
    gen_sample_rate = check_sample_rate(gen_sample_rate, "gen_sample_rate", optional=True)
    if protocol == "isdrama":  # both validate their inputs
        return isdrama_ipd_ild_mae_batch(
            gt, gen, sample_rate, gen_sample_rate, gt_lengths, gen_lengths, items_per_pass=items_per_pass
        )
    return strict_ipd_ild_mae_batch(
        gt, gen, sample_rate, gen_sample_rate, gt_lengths, gen_lengths, floor_db, items_per_pass=items_per_pass
    )


# --------------------------------------------------------------------------- BAT


def loudness_gain(waves: torch.Tensor, lengths: torch.Tensor, target_dbfs: float | None) -> torch.Tensor:
    """(B,) gains to ``target_dbfs`` RMS over each item's samples of both ears (1 for silence or no target).

    ``gain = 10^((target − 20·log10(rms)) / 20)``, the rule of BAT's evaluation dataset; samples
    past an item's length must be zero.
    """
    if target_dbfs is None:
        return torch.ones(waves.shape[0], dtype=waves.dtype, device=waves.device)
    counts = 2 * lengths.to(device=waves.device, dtype=torch.float64)
    # A float64 (cascade) sum of squares, as numpy's mean is taken: vector_norm accumulates float32
    # naively (5.7e-6 relative error on 640k samples).
    rms = torch.sqrt(torch.sum(waves * waves, dim=(1, 2), dtype=torch.float64) / counts)
    safe = torch.where(rms > 0, rms, 1.0)
    gain = torch.where(rms > 0, 10.0 ** ((target_dbfs - 20.0 * torch.log10(safe)) / 20.0), torch.ones_like(rms))
    return gain.to(waves.dtype)


def loudness_normalize(waves: torch.Tensor, lengths: torch.Tensor, target_dbfs: float | None) -> torch.Tensor:
    """Scale each item to ``target_dbfs`` RMS over its samples of both ears; silent items are left as they are.

    Example:
        >>> import torch
        >>> x = torch.zeros(2, 2, 4, dtype=torch.float64)
        >>> x[0] = 0.5
        >>> y = loudness_normalize(x, torch.tensor([4, 4]), -6.0206)
        >>> round(float(y[0].pow(2).mean().sqrt()), 4), float(y[1].abs().sum())
        (0.5, 0.0)
    """
    if target_dbfs is None:
        return waves
    waves = zero_beyond(waves, lengths)
    return waves * loudness_gain(waves, lengths, target_dbfs)[:, None, None]


@dataclass(frozen=True)
class BATInputs:
    """Encoder inputs of a batch: ``windows`` (W, 2, 320000) float32 and ``item`` (W,) int64, the item each
    window belongs to (windows of an item are consecutive, in time order)."""

    windows: torch.Tensor
    item: torch.Tensor


def _default_resample_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64


def bat_inputs(
    waves: torch.Tensor,
    sample_rate: int,
    lengths=None,
    *,
    mode: str = "first-window",
    normalize_dbfs: float | None = -14.0,
    segment_seconds: float = 1.0,
    window_seconds: float = 10.0,
    resample_dtype: torch.dtype | None = None,
    items_per_pass: int | None = None,
) -> BATInputs:
    """BAT's encoder inputs for each item, as the file-based ``bat`` stage builds them, on the batch's device.

    Per item: resample to 32 kHz with :func:`~spatialeval.features.resample.resample_poly_torch`
    (equal to ``scipy.signal.resample_poly``), scale to ``normalize_dbfs`` RMS (None: no
    scaling), then cut exactly 10-s windows: ``first-window`` the first 10 s (zero-padded);
    ``segments`` consecutive ``segment_seconds`` pieces, each zero-padded to 10 s;
    ``windowed`` consecutive ``window_seconds`` windows covering the clip. Resampling and
    scaling run in ``resample_dtype`` (default float64, as the stage does; float32 on MPS),
    the windows are float32. ``items_per_pass`` items are processed together (default: the
    whole batch on an accelerator, one item at a time on CPU).

    Example:
        >>> import torch
        >>> inputs = bat_inputs(torch.randn(2, 2, 44100), 44100, torch.tensor([44100, 22050]), mode="segments")
        >>> tuple(inputs.windows.shape), inputs.item.tolist()
        ((2, 2, 320000), [0, 1])
    """
    mode = renamed_value("bat.mode", mode, "bat_inputs()")  # the old name "isdrama" is read with a note
    if mode not in BAT_MODES:
        raise ValueError(f"mode must be one of {BAT_MODES}, got {mode!r}")
    sample_rate = check_sample_rate(sample_rate)
    check_binaural_batch(waves)
    batch, device = waves.shape[0], waves.device
    lengths = check_lengths(lengths, batch, waves.shape[2])
    dtype = resample_dtype or _default_resample_dtype(device)
    resampled = (
        lengths
        if int(sample_rate) == TARGET_RATE
        else torch.tensor(
            [polyphase_output_length(int(n), TARGET_RATE, int(sample_rate)) for n in lengths], dtype=torch.int64
        )
    )
    if mode == "first-window":
        step = piece = CLIP_SAMPLES
        counts = torch.ones(batch, dtype=torch.int64)
    else:
        step = int(round((segment_seconds if mode == "segments" else window_seconds) * TARGET_RATE))
        piece = min(step, CLIP_SAMPLES)
        counts = torch.clamp((resampled + step - 1) // step, min=1)
    first = torch.cumsum(counts, 0) - counts  # each item's first window
    item = torch.repeat_interleave(torch.arange(batch), counts)
    start = (torch.arange(int(counts.sum())) - first[item]) * step
    windows = torch.zeros(len(item), 2, CLIP_SAMPLES, dtype=torch.float32, device=device)
    for rows in device_chunks(batch, device, items_per_pass):
        wave = zero_beyond(waves[rows, :, : int(lengths[rows].max())], lengths[rows])
        wave = resample_polyphase_torch(wave, int(sample_rate), TARGET_RATE, dtype=dtype)
        if int(sample_rate) != TARGET_RATE:  # the filter's tail past each item's end is not part of it
            wave = zero_beyond(wave, resampled[rows], in_place=True)
        gain = loudness_gain(wave, resampled[rows], normalize_dbfs)
        # This chunk's windows: one strided view holds every window start j·step of every item.
        span = slice(int(first[rows.start]), int(first[rows.stop - 1] + counts[rows.stop - 1]))
        owner = (item[span] - rows.start).to(device)
        needed = int(start[span].max()) + piece
        if wave.shape[-1] < needed:
            wave = torch.nn.functional.pad(wave, (0, needed - wave.shape[-1]))
        selected = wave.unfold(-1, piece, step)[owner, :, (start[span] // step).to(device)]  # (w, 2, piece)
        # scale in the resampling precision, then round to float32 once, as the stage does
        windows[span, :, :piece] = selected.mul_(gain[owner][:, None, None])
    return BATInputs(windows=windows, item=item.to(device))


@dataclass(frozen=True)
class BATEmbeddingBatch:
    """BAT embeddings of a batch's windows: ``direction`` and ``distance`` (W, 768) float32, ``item`` (W,)."""

    direction: torch.Tensor
    distance: torch.Tensor
    item: torch.Tensor


def _encoder(model) -> torch.nn.Module:
    encoder = getattr(model, "model", model)  # a LoadedBAT or the module itself
    if not isinstance(encoder, torch.nn.Module):
        raise TypeError(f"model must be a BAT SpatialAST module or a LoadedBAT, got {type(model).__name__}")
    return encoder


@torch.no_grad()
def embed_windows(
    model, windows: torch.Tensor, *, batch_size: int | None = None, autocast: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Direction and distance embeddings (W, 768) float32 of (W, 2, 320000) windows, on the model's device.

    ``batch_size`` windows go through the encoder at a time (all at once when None);
    ``autocast`` ("bf16", "fp16") runs the encoder under autocast where the device supports it.
    """
    encoder = _encoder(model)
    device = next(encoder.parameters()).device
    directions, distances = [], []
    step = max(1, int(batch_size or len(windows) or 1))
    for start in range(0, len(windows), step):
        chunk = windows[start : start + step].to(device=device, dtype=torch.float32, non_blocking=True)
        with autocast_context(autocast, device):
            out = encoder(chunk)
        directions.append(out.direction.float())
        distances.append(out.distance.float())
    if not directions:
        empty = torch.zeros(0, 768, device=device)
        return empty, empty.clone()
    return torch.cat(directions), torch.cat(distances)


def bat_embeddings(
    model,
    waves: torch.Tensor,
    sample_rate: int,
    mode: str = "first-window",
    normalize_dbfs: float | None = -14.0,
    *,
    lengths=None,
    segment_seconds: float = 1.0,
    window_seconds: float = 10.0,
    batch_size: int | None = None,
    autocast: str | None = None,
    resample_dtype: torch.dtype | None = None,
) -> BATEmbeddingBatch:
    """BAT direction and distance embeddings of every window of every item (see :func:`bat_inputs`).

    ``model`` is a :class:`~spatialeval.models.bat.SpatialAST` (or a ``LoadedBAT``) in eval mode;
    the windows are moved to its device and the results stay there. With ``mode="first-window"``
    there is one window per item, so ``direction[b]`` belongs to item b.

    Example (one encoder pass per 10-s window, ~1–2 s each on a CPU; run in tests/test_tensor_api.py):
        >>> import torch
        >>> from spatialeval.models.checkpoint import load_bat
        >>> model = load_bat("ckpt/finetuned.pth", "cuda").model          # doctest: +SKIP
        >>> waves = torch.randn(8, 2, 441000, device="cuda") * 0.1        # doctest: +SKIP
        >>> out = bat_embeddings(model, waves, 44100)                      # doctest: +SKIP
        >>> tuple(out.direction.shape), out.item.tolist()                 # doctest: +SKIP
        ((8, 768), [0, 1, 2, 3, 4, 5, 6, 7])
    """
    sample_rate = check_sample_rate(sample_rate)
    inputs = bat_inputs(
        waves,
        sample_rate,
        lengths,
        mode=mode,
        normalize_dbfs=normalize_dbfs,
        segment_seconds=segment_seconds,
        window_seconds=window_seconds,
        resample_dtype=resample_dtype,
    )
    direction, distance = embed_windows(model, inputs.windows, batch_size=batch_size, autocast=autocast)
    return BATEmbeddingBatch(direction, distance, inputs.item.to(direction.device))


def window_cosines(
    gt: BATEmbeddingBatch, gen: BATEmbeddingBatch, batch: int, protocol: str = "isdrama"
) -> dict[str, torch.Tensor]:
    """ANG/Dis cosine per item: cosines of the windows both clips have (in order), averaged.

    ``isdrama`` uses the release's cosine (wrap heuristic, ε = 1e-8, float32); ``strict`` the
    plain float64 cosine. Returns {"ang_cos", "dis_cos"} (B,) float64.

    Example (item 0 has two windows on both sides, item 1 one window on the generated side):
        >>> import torch
        >>> e = torch.eye(3)
        >>> gt = BATEmbeddingBatch(e, e, torch.tensor([0, 0, 1]))
        >>> gen = BATEmbeddingBatch(torch.stack([e[0], e[2], e[2]]), e, torch.tensor([0, 0, 1]))
        >>> window_cosines(gt, gen, 2, "strict")["ang_cos"].tolist()   # item 0: (1 + 0) / 2
        [0.5, 1.0]
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    device = gt.direction.device
    gt_counts = torch.bincount(gt.item.cpu(), minlength=batch)
    gen_counts = torch.bincount(gen.item.cpu(), minlength=batch)
    common = torch.minimum(gt_counts, gen_counts)
    owner = torch.repeat_interleave(torch.arange(batch), common)
    within = torch.arange(int(common.sum())) - torch.repeat_interleave(torch.cumsum(common, 0) - common, common)
    gt_rows = ((torch.cumsum(gt_counts, 0) - gt_counts)[owner] + within).to(device)
    gen_rows = ((torch.cumsum(gen_counts, 0) - gen_counts)[owner] + within).to(device)
    score = isdrama_cosine_rows if protocol == "isdrama" else cosine_rows
    owner = owner.to(device)
    result = {}
    for name, field in (("ang_cos", "direction"), ("dis_cos", "distance")):
        values = score(getattr(gt, field)[gt_rows], getattr(gen, field)[gen_rows].to(device)).double()
        total = torch.zeros(batch, dtype=torch.float64, device=device).index_add_(0, owner, values)
        result[name] = total / common.to(device=device, dtype=torch.float64)
    return result


def bat_cosines(
    model,
    gt: torch.Tensor,
    gen: torch.Tensor,
    sample_rate: int,
    protocol: str = "isdrama",
    *,
    gen_sample_rate: int | None = None,
    gt_lengths=None,
    gen_lengths=None,
    mode: str = "first-window",
    normalize_dbfs: float | None = -14.0,
    segment_seconds: float = 1.0,
    window_seconds: float = 10.0,
    batch_size: int | None = None,
    autocast: str | None = None,
    resample_dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """ANG and Dis cosines of BAT embeddings, generated vs. ground truth, per item.

    The ``bat`` stage's computation on tensors: :func:`bat_inputs` of both sides (BAT's
    resampling, loudness normalisation and windows per ``mode``), one encoder pass over all
    windows (``batch_size`` at a time), then per item the mean over the windows both clips
    have of cos(gt, gen) — the release's cosine under ``protocol="isdrama"``, the plain one
    under ``"strict"``.

    Returns:
        {"ang_cos": (B,), "dis_cos": (B,)} float64 tensors on the model's device.

    Raises:
        ValueError: for tensors not shaped (B, 2, T), different batch sizes, bad lengths,
            or an unknown protocol or mode.

    Example (see :func:`bat_embeddings` for the cost; :func:`window_cosines` shows the averaging):
        >>> import torch
        >>> from spatialeval.models.checkpoint import load_bat
        >>> from spatialeval.precision import precision_scope
        >>> model = load_bat("ckpt/finetuned.pth", "cuda").model          # doctest: +SKIP
        >>> with precision_scope("fp32-parity"):                          # doctest: +SKIP
        ...     scores = bat_cosines(model, gt_batch, gen_batch, 44100)
        >>> scores["ang_cos"].shape                                        # doctest: +SKIP
        torch.Size([8])
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")
    sample_rate = check_sample_rate(sample_rate)
    gen_sample_rate = check_sample_rate(gen_sample_rate, "gen_sample_rate", optional=True)
    check_batch_pair(gt, gen)
    options = dict(
        mode=mode,
        normalize_dbfs=normalize_dbfs,
        segment_seconds=segment_seconds,
        window_seconds=window_seconds,
        resample_dtype=resample_dtype,
    )
    gt_inputs = bat_inputs(gt, sample_rate, gt_lengths, **options)
    gen_inputs = bat_inputs(gen.to(gt.device), gen_sample_rate or sample_rate, gen_lengths, **options)
    direction, distance = embed_windows(
        model, torch.cat([gt_inputs.windows, gen_inputs.windows]), batch_size=batch_size, autocast=autocast
    )
    split = len(gt_inputs.windows)
    device = direction.device
    gt_emb = BATEmbeddingBatch(direction[:split], distance[:split], gt_inputs.item.to(device))
    gen_emb = BATEmbeddingBatch(direction[split:], distance[split:], gen_inputs.item.to(device))
    return window_cosines(gt_emb, gen_emb, gt.shape[0], protocol)
