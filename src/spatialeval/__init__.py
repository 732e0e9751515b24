"""spatialeval: evaluation of generated binaural speech with the ISDrama metrics and beyond.

Quick start::

    import spatialeval
    result = spatialeval.evaluate("data/gt", "data/infer")
    result.items       # per-item DataFrame: id, ipd_mae, ild_mae, ang_cos, dis_cos, ...
    result.summary     # means under the same names, with protocol and checkpoint hash
"""

from __future__ import annotations

from spatialeval._version import __version__

_LAZY = {
    "evaluate": "spatialeval.pipeline.evaluate",
    "EvalConfig": "spatialeval.pipeline.config",
    "load_config": "spatialeval.pipeline.config",
    "ipd_ild_mae": "spatialeval.metrics.ipd_ild",
    "isdrama_cosine": "spatialeval.metrics.cosine_similarity",
    "cer": "spatialeval.metrics.cer",
    "wer": "spatialeval.metrics.cer",
    "ffe": "spatialeval.metrics.ffe",
    "sim": "spatialeval.models.speaker",
    "spatial_cue_errors": "spatialeval.metrics.cues",
    "validate": "spatialeval.pipeline.validate",
}


def __getattr__(name: str):
    # Heavy modules (torch, librosa) load on first use, so `import spatialeval` stays fast.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spatialeval' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
