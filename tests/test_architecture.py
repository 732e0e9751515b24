"""The package's structure: imports point one way, and a metric or a backend is one module plus one registration."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spatialeval"

# io → features → metrics → models → pipeline → cli (+ report, check). `errors` is below everything;
# the test/example-audio generators (synth*) and the example writer sit beside metrics: they may use
# io/features/metrics, and only the command line and the tools above may use them.
LAYERS = {
    "_version": 0, "errors": 0, "io": 1, "features": 2, "metrics": 3, "synth": 3.5, "synth_moving": 3.5, "example": 3.5,
    "models": 4, "pipeline": 5, "tensor": 5, "torchmetrics_compat": 5.5, "report": 6, "check": 6, "cli": 7,
    "__init__": 8,
}


def _layer(module: str) -> float:
    parts = module.split(".")
    if parts[0] != "spatialeval":
        raise ValueError(module)
    top = parts[1] if len(parts) > 1 else "__init__"
    if top not in LAYERS:
        raise AssertionError(f"module spatialeval.{top} has no layer in tests/test_architecture.py: place it")
    return LAYERS[top]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("spatialeval"):
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("spatialeval")]
    return found


def test_imports_point_one_way():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        own = _layer(module)
        for line, imported in _imports(path):
            if _layer(imported) > own:
                violations.append(f"{relative}.py:{line} ({module}, layer {own}) imports {imported} "
                                  f"(layer {_layer(imported)})")
    assert not violations, "imports pointing up the layers:\n" + "\n".join(violations)


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from spatialeval.pipeline.stages.base import StageUnavailable\n")
    assert _imports(bad) == [(2, "spatialeval.pipeline.stages.base")]
    assert _layer("spatialeval.pipeline.stages.base") > _layer("spatialeval.models.asr")
