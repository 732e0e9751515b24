"""Loading Hugging Face models strictly from local files, with one actionable message when absent.

spatialeval never downloads weights: a backend either finds its model in the given folder or
the user's cache, or it is reported as skipped with the exact command that fetches it. Also the
two small helpers the model backends (ASR, speaker encoders) share: :func:`expand_model_path`
and :func:`batched`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from spatialeval.errors import StageUnavailable


def from_local_pretrained(loaders, source: str, model_path: str | None, label: str, fetch: str) -> list:
    """``[cls.from_pretrained(source, local_files_only=True) for cls in loaders]`` or StageUnavailable.

    ``label`` names the model in messages (e.g. "Whisper model"), ``fetch`` says how to get it.
    """
    if model_path and not Path(model_path).is_dir():
        raise StageUnavailable(f"{label} folder {model_path} does not exist; {fetch}")
    try:
        return [loader.from_pretrained(source, local_files_only=True) for loader in loaders]
    except (OSError, ValueError) as exc:
        where = f"in {model_path}" if model_path else "in the local Hugging Face cache"
        raise StageUnavailable(f"{label} {source} not found {where} ({type(exc).__name__}); {fetch}") from exc


def expand_model_path(model_path: str | None) -> str | None:
    """``~`` in a configured model path means the home folder (as in configs/mandarin.yaml); None stays None."""
    return str(Path(model_path).expanduser()) if model_path else None


def batched(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of ``items`` with at most ``size`` elements each (at least one per slice).

    Example:
        >>> list(batched([1, 2, 3, 4, 5], 2))
        [[1, 2], [3, 4], [5]]
    """
    size = max(1, int(size))
    for start in range(0, len(items), size):
        yield items[start : start + size]
