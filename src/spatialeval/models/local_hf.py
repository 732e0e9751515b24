"""Loading Hugging Face models strictly from local files, with one actionable message when absent.

spatialeval never downloads weights: a backend either finds its model in the given folder or
the user's cache, or it is reported as skipped with the exact command that fetches it.
"""
from __future__ import annotations

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
