"""Finding, hashing and safely loading BAT's ``finetuned.pth``.

Loading never unpickles code: ``torch.load(weights_only=True)`` with only
``argparse.Namespace`` allowed (the real file stores its training arguments in one).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from spatialeval.errors import CheckpointError  # noqa: F401  (re-exported)

CKPT_ENV = "SPATIALEVAL_CKPT"
DEFAULT_CKPT = Path("ckpt") / "finetuned.pth"
WHERE_TO_GET = (
    "BAT's finetuned.pth is part of the SpatialAudio dataset on Hugging Face "
    "(zhisheng01/SpatialAudio, file SpatialAST/finetuned.pth). Download it once, then put it at "
    "ckpt/finetuned.pth, set SPATIALEVAL_CKPT=/path/to/finetuned.pth, or pass --ckpt /path/to/finetuned.pth."
)


def resolve_checkpoint(
    explicit: str | os.PathLike | None = None,
    configured: str | os.PathLike | None = None,
    search_root: str | os.PathLike | None = None,
) -> Path | None:
    """The checkpoint path by precedence: ``--ckpt``, config, $SPATIALEVAL_CKPT, ``ckpt/finetuned.pth``.

    An explicitly given path that does not exist is an error; the fallbacks are optional.
    Returns None when no checkpoint can be found.
    """
    for source, value in (
        ("--ckpt / bat.checkpoint", explicit),
        ("config bat.checkpoint", configured),
        (CKPT_ENV, os.environ.get(CKPT_ENV)),
    ):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise CheckpointError(f"{source} points to {path}, which does not exist. {WHERE_TO_GET}")
            return path
    fallback = Path(search_root or Path.cwd()) / DEFAULT_CKPT
    return fallback if fallback.is_file() else None


@lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_sha256(path: str | os.PathLike) -> str:
    stat = Path(path).stat()
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def read_state_dict(path: str | os.PathLike, data: bytes | None = None) -> dict[str, torch.Tensor]:
    """The model state dict from a BAT checkpoint, loaded without executing pickled code.

    ``data``: the file's bytes when the caller has already read them (to hash the same bytes it loads).
    """
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            source = io.BytesIO(data) if data is not None else str(path)
            payload = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt or unsafe files
        text = str(exc)
        if isinstance(exc, pickle.UnpicklingError) and re.search(r"GLOBAL [\w.]+", text):
            # torch's own message advises weights_only=False, i.e. running the file's code: never repeat that.
            raise CheckpointError(
                f"{path}: refused: the checkpoint holds pickled objects other than tensors "
                f"({_unsafe_global(exc)}); spatialeval never executes code from a checkpoint"
            ) from None
        first = re.split(r"(?<=\.)\s", text.strip(), maxsplit=1)[0] if text.strip() else type(exc).__name__
        if "weights_only" in first:  # torch's advice to unpickle arbitrary code: not ours to give
            first = "not a torch weights file"
        raise CheckpointError(
            f"{path}: cannot read it as a torch checkpoint (truncated, damaged or another kind of file: {first[:120]})"
        ) from None
    state = payload.get("model", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: no state dict of tensors found (expected {{'model': state_dict, ...}})")
    return state


def _unsafe_global(exc: Exception) -> str:
    """The global torch refused to unpickle, named from its message (or a generic phrase)."""
    found = re.search(r"GLOBAL ([\w.]+)", str(exc))
    return f"it asks for {found.group(1)}" if found else "objects that are not tensors"


@dataclass(frozen=True)
class LoadedBAT:
    model: torch.nn.Module
    path: str
    sha256: str


def load_bat(path: str | os.PathLike, device: str | torch.device = "cpu") -> LoadedBAT:
    """Build :class:`SpatialAST`, load ``path`` strictly, move it to ``device`` in eval mode.

    The file is read once: its SHA-256 and the weights come from the same bytes. The model is built on
    the meta device (no random initialisation of weights that the checkpoint then replaces: ≈0.4 s) and
    the checkpoint's tensors are assigned after the same strict key check; floating tensors are made
    float32 first, as copying into a float32 model did.
    """
    from spatialeval.models.bat import SpatialAST

    data = Path(path).read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    state = read_state_dict(path, data)
    del data
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    with torch.device("meta"):
        model = SpatialAST()
    missing, unexpected = sorted(set(model.state_dict()) - set(state)), sorted(set(state) - set(model.state_dict()))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: not a BAT Spatial-AST checkpoint; missing keys {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected keys {unexpected[:5]}"
            f"{'...' if len(unexpected) > 5 else ''}"
        )
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())  # torch's message spans lines; the CLI prints one
        raise CheckpointError(f"{path}: tensor shapes do not match BAT Spatial-AST ({detail})") from None
    deviation = model.spectrogram_extractor.max_deviation_from_dft()
    if deviation > 1e-5:
        raise CheckpointError(
            f"{path}: its STFT kernels differ from a Hann-windowed DFT by {deviation:.2e}; "
            "this encoder computes the STFT with torch.stft and would not match it"
        )
    left_on_meta = [name for name, tensor in (*model.named_parameters(), *model.named_buffers()) if tensor.is_meta]
    if left_on_meta:  # every tensor must come from the checkpoint (the strict check above should ensure it)
        raise CheckpointError(f"{path}: tensors not set by the checkpoint: {left_on_meta[:5]}")
    model.eval().to(device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return LoadedBAT(model=model, path=str(path), sha256=sha256)
