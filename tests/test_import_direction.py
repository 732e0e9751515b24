"""The binaural-cue modules import one way: io → features → metrics, never synth or a higher layer (issue 9).

Walks the modules with ``ast`` (function-level imports included). Scoped to the cue modules;
(``metrics/sim.py`` still imports ``models`` inside a function, outside this branch's scope.)
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spatialeval"
ORDER = ["io", "features", "metrics"]
MODULES = ["io/hrir.py", "features/streaming.py", "features/binaural_cues.py", "metrics/doa.py", "metrics/cues.py"]


def _imported_layers(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name.split(".")[1] for name in names if name.startswith("spatialeval.")}


@pytest.mark.parametrize("module", MODULES)
def test_cue_modules_import_only_their_layer_and_below(module):
    layer = module.split("/")[0]
    allowed = set(ORDER[: ORDER.index(layer) + 1])
    wrong = _imported_layers(PACKAGE / module) - allowed
    assert not wrong, f"{module} imports spatialeval.{sorted(wrong)}, above its layer {layer!r}"
