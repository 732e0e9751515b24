"""The pipeline core (``evaluate()`` and its parts in ``pipeline/run/``) knows no stage by name.

What differs between stages — keyword shorthands of ``evaluate()``, the autocast mode in the
summary's precision entry — is declared on the stage and composed generically, so a plugin stage
gets the same treatment as a built-in one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import spatialeval.pipeline.run
from spatialeval.pipeline import registry
from spatialeval.pipeline.config import config_from_dict

PIPELINE = Path(spatialeval.pipeline.run.__file__).parent.parent
CORE = [PIPELINE / "evaluate.py", *sorted((PIPELINE / "run").glob("*.py"))]


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_the_pipeline_core_names_no_stage(path):
    """Issue 17: evaluate() read ``config.bat`` and tested ``"bat" in statuses``; a stage's knowledge
    lives in its own module. Every registered stage name is checked as a whole word, in code,
    strings, docstrings and comments alike."""
    names = registry.BUILTIN_STAGES.keys() | set(registry.stage_names())
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "stage names in the pipeline core:\n" + "\n".join(found)


def test_shorthands_are_routed_by_what_the_stage_declares():
    from spatialeval.pipeline.run.prepare import apply_shorthands, shorthand_owners

    owners = shorthand_owners()
    assert set(owners) >= {"checkpoint", "save_embeddings"}
    config = config_from_dict({})
    changed = apply_shorthands(config, {"checkpoint": Path("x/finetuned.pth"), "save_embeddings": True})
    (name,) = owners["checkpoint"]
    settings = getattr(changed, name)
    assert settings.checkpoint == str(Path("x/finetuned.pth")) and settings.save_embeddings is True
    assert getattr(config, name).checkpoint is None  # the caller's config is not changed
    assert apply_shorthands(config, {"checkpoint": None, "save_embeddings": False}) is config
    with pytest.raises(TypeError, match="no registered stage"):
        apply_shorthands(config, {"no_such_keyword": 1})


@pytest.fixture
def autocast_plugin():
    """A plugin stage that runs its model under fp16 autocast, registered for the test only."""
    from plugins import registered_stages
    from plugins.level_metric import LevelStage

    class HalfLevel(LevelStage):
        name = "half_level"
        metrics = tuple(replace(info, name="half_" + info.name, stage="half_level") for info in LevelStage.metrics)

        def autocast_mode(self):
            return "fp16"

        def compute_one(self, item):
            return {"half_level_diff_db": 0.5}

    with registered_stages(HalfLevel):
        yield HalfLevel


def test_the_summary_names_the_autocast_a_plugin_stage_declares(autocast_plugin, tmp_path):
    """The precision entry is composed from the stages that ran, not read from one stage's settings."""
    from spatialeval.pipeline.evaluate import evaluate

    for side in ("gt", "infer"):
        (tmp_path / side).mkdir()
        sf.write(tmp_path / side / "a.wav", 0.1 * np.ones((1600, 2)), 16000, subtype="PCM_16")
    result = evaluate(tmp_path / "gt", tmp_path / "infer", {"stages": ["half_level"]})
    assert result.summary["half_level_diff_db"] == 0.5
    assert result.summary["precision"] == {"precision": "fp16", "tf32": False, "autocast": "fp16"}


def test_merged_shards_keep_the_declared_autocast(autocast_plugin):
    """A merge summarises stages rebuilt from settings, never set up: the hook must answer without setup."""
    from spatialeval.pipeline.run.prepare import StageStatus
    from spatialeval.pipeline.run.summary import summarize

    config = config_from_dict({"stages": ["half_level"], "tf32": True})
    summary = summarize([], [autocast_plugin(config)], {"half_level": StageStatus("half_level", "ran")}, config)
    assert summary["precision"] == {"precision": "fp16", "tf32": True, "autocast": "fp16"}


def test_the_bat_stage_reports_its_autocast_setting():
    """BAT declares its ``autocast`` setting through the hook, as the summary read it before; a run
    in which it did not run (skipped, not asked for) is float32."""
    from spatialeval.pipeline.run.summary import precision_entry
    from spatialeval.pipeline.stages.bat import BATStage

    config = config_from_dict({"bat": {"autocast": "bf16"}})
    assert precision_entry(config, [BATStage(config)]) == {"precision": "bf16", "tf32": False, "autocast": "bf16"}
    assert precision_entry(config, [])["autocast"] is None
