"""Registry-driven conformance: every registered stage and metric, present and future, is held to the first rule.

Nothing here names a stage or a metric: the lists come from the stage registry (built-ins, entry points)
plus the test plugins, so a stage is covered the day it is registered.

* **Independence** — an item's row is the same whether it is evaluated alone, among others, in another
  order, in another shard, after a resume, with decoding worker processes, chunk size 1 or 8, and with
  every speed-only setting changed. Text and flags compare exactly; numbers within float32 rounding
  (``tests/rowcompare.py``): another batch composition may reorder float32 reductions (the encoder's
  batched matmuls) and move a value by a few ulps.
* **Degenerate generations** — each metric gives, on each case of
  :data:`~spatialeval.metrics.registry.DEGENERATE_CASES`, the outcome its declaration documents
  (``MetricInfo.degenerate``): a stated value, a finite score, unmeasurable with a reason, or a failed item.
* **Settings** — speed-only settings are changed together in the independence runs above; that every
  setting is validated (``tests/test_settings_validation.py``) and is part of the run identity exactly when
  it may change a number (``tests/test_speed_settings.py``) is checked there, over the same registry.
* **Selection** — a metric named with ``--metrics`` is computed, or the run exits 2 before evaluating; the
  stage's other metrics are then absent from the summary.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tempfile
from pathlib import Path

import pytest
from conformance_audio import degenerate_generation, speech_pair, write_degenerate_pairs, write_pair
from plugins import registered_stages
from plugins.level_metric import LevelStage
from plugins.tiny_encoder import TinySpatialEncoder
from rowcompare import differences
from setting_values import alternative_value

from spatialeval.example import example_transcripts
from spatialeval.metrics.registry import DEGENERATE_CASES, parse_outcome
from spatialeval.pipeline import registry
from spatialeval.pipeline.config import RunSettings
from spatialeval.pipeline.evaluate import evaluate

PLUGIN_STAGES = (LevelStage,)
STAGE_NAMES = [*registry.stage_names(), *(cls.name for cls in PLUGIN_STAGES)]
METRIC_INFOS = {
    **{name: registry.METRICS[name] for name in registry.METRICS},
    **{info.name: info for cls in PLUGIN_STAGES for info in cls.metrics},
}


@pytest.fixture(scope="module")
def plugins():
    """The test plugin stages, and a small stand-in spatial encoder: the ``bat`` and ``trajectory`` stages run
    many times here, and what is tested is the pipeline around the encoder (batching, caching, segment rules),
    not BAT's weights (tests/test_parity.py and tests/test_robustness.py run those)."""
    from spatialeval.models.registry import SPATIAL_ENCODERS

    SPATIAL_ENCODERS.register("tiny", TinySpatialEncoder)
    with registered_stages(*PLUGIN_STAGES):
        yield
    SPATIAL_ENCODERS.unregister("tiny")


def all_stages_config(**run) -> dict:
    """Every stage, each with its declared light settings (same code, smaller budget), BAT through the tiny encoder,
    BEWO's CRW mode through the stand-in StereoCRW weights."""
    config: dict = {"stages": list(STAGE_NAMES), **run}
    for name in STAGE_NAMES:
        if stage_of(name).light_settings:
            config[name] = dict(stage_of(name).light_settings)
    config.setdefault("bat", {})["encoder"] = "tiny"
    config.setdefault("bewo", {})["crw_checkpoint"] = str(crw_standin())
    return config


@functools.lru_cache(maxsize=1)
def crw_standin() -> Path:
    """The seed-0 stand-in StereoCRW checkpoint, written once per test process (≈ 20 MB, < 1 s)."""
    from spatialeval.models.standins.stereocrw import write_test_checkpoint

    return write_test_checkpoint(Path(tempfile.mkdtemp(prefix="spatialeval-crw-")) / "crw_seed0.pth.tar")


def stage_of(name: str):
    return registry.stage_class(name)


# --------------------------------------------------------------------------------------------- independence

INDEPENDENCE_IDS = ("a_noise_generation", "b_speech", "c_other_sentence")


@pytest.fixture(scope="module")
def independence_runs(plugins, tmp_path_factory):
    """The same three items evaluated in every arrangement a user can produce; id → row per arrangement."""
    from spatialeval.io.pairing import find_pairs

    root = tmp_path_factory.mktemp("independence")
    transcripts = example_transcripts()
    gt, gen = speech_pair(30.0, 45.0, "rms_glue", seconds=1.4)
    # Noise first: a recogniser or encoder that keeps state would carry it into the next items.
    write_pair(root, INDEPENDENCE_IDS[0], gt, degenerate_generation("noise", gt), transcripts["rms_glue"])
    write_pair(root, INDEPENDENCE_IDS[1], gt, gen, transcripts["rms_glue"])
    gt2, gen2 = speech_pair(300.0, 330.0, "slt_chicken", seconds=1.4)
    write_pair(root, INDEPENDENCE_IDS[2], gt2, gen2, transcripts["slt_chicken"])
    pairs = {p.id: p for p in find_pairs(root / "gt", root / "infer").pairs}
    ordered = [pairs[i] for i in INDEPENDENCE_IDS]
    config = all_stages_config()

    def run(items, out=None, **run_settings) -> dict[str, dict]:
        result = evaluate(root / "gt", root / "infer", {**config, **run_settings}, out_dir=out, pairs=list(items))
        return {row["id"]: row for row in result.items.to_dict("records")}

    runs = {"together, chunk 8": run(ordered, chunk_size=8)}
    # The ids hash to three different shards of 3, so each shard is one item evaluated alone.
    resume_dir = root / "resumed"
    for k in (1, 2, 3):
        shard = run(ordered, out=resume_dir if k == 3 else None, shard=f"{k}/3")
        assert len(shard) == 1, "choose ids that fall in three different shards"
        runs[f"alone (shard {k}/3)"] = shard
    # Shard 3/3 went to resume_dir, as if an interrupted run had finished only that item: the rerun
    # reuses it and computes the other two together.
    runs["resumed"] = run(ordered, out=resume_dir)
    # One run changes everything else at once: order, chunk size, decoding processes, every speed-only setting.
    runs["reversed, chunk 1, 2 decoding workers, every speed setting changed"] = run(
        ordered[::-1], chunk_size=1, workers=2, **_changed_speed_settings(config, root / "cache")
    )
    return runs


def _changed_speed_settings(config: dict, cache_dir: Path) -> dict:
    """Every speed-only setting (``affects_numbers=False``) of the run and each stage at another valid value."""
    changed: dict = {"cache_dir": str(cache_dir)}
    skip = {"shard", "workers", "chunk_size", "device", "cache_dir", "allow_partial"}  # covered by their own runs
    for item in dataclasses.fields(RunSettings):
        if item.metadata.get("affects_numbers") is False and item.name not in skip:
            value = alternative_value(item, getattr(RunSettings(), item.name), cache_dir.parent)
            if value is not None:
                changed[item.name] = value
    for name in STAGE_NAMES:
        settings_cls = stage_of(name).Settings
        defaults = settings_cls()
        section = dict(config.get(name, {}))
        for item in dataclasses.fields(settings_cls):
            if item.metadata.get("affects_numbers") is False and item.name != "save_embeddings":
                value = alternative_value(item, getattr(defaults, item.name), cache_dir.parent)
                if value is not None:
                    section[item.name] = value
        if section:
            changed[name] = section
    return changed


def _stage_view(row: dict, stage) -> dict:
    """What a stage contributed to a row: its metrics, extra and identity fields, and its unmeasurable reasons."""
    keys = (*stage.fields, *stage.extra_fields, *stage.identity_fields)
    view = {key: row.get(key) for key in keys}
    reasons = _reasons(row)
    view["unmeasurable"] = {key: reasons[key] for key in stage.fields if key in reasons}
    view["error"] = row.get("error")
    return view


@pytest.mark.slow
@pytest.mark.parametrize("stage_name", STAGE_NAMES)
def test_a_row_does_not_depend_on_its_neighbours_order_shard_resume_or_speed_settings(stage_name, independence_runs):
    stage = stage_of(stage_name)
    reference = independence_runs["together, chunk 8"]
    problems = []
    for arrangement, rows in independence_runs.items():
        for item_id in INDEPENDENCE_IDS:
            if item_id not in rows:
                if not arrangement.startswith("alone"):
                    problems.append(f"{arrangement}: {item_id} missing")
                continue
            for difference in differences(_stage_view(reference[item_id], stage), _stage_view(rows[item_id], stage)):
                problems.append(f"{arrangement}, {item_id}{difference}")
    assert not problems, f"stage {stage_name!r}: rows depend on how the run was arranged:\n" + "\n".join(problems)


# --------------------------------------------------------------------------------------------- degenerate input


@pytest.fixture(scope="module")
def degenerate_rows(plugins, tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("degenerate")
    write_degenerate_pairs(root)
    result = evaluate(root / "gt", root / "infer", all_stages_config())
    skipped = {name: status.reason for name, status in result.stages.items() if status.status != "ran"}
    assert not skipped, f"stages skipped in the conformance run: {skipped}"
    return {row["id"]: row for row in result.items.to_dict("records")}


def _reasons(row: dict) -> dict:
    return row["unmeasurable"] if isinstance(row.get("unmeasurable"), dict) else {}


def test_every_metric_documents_every_degenerate_case():
    missing = {name: sorted(set(DEGENERATE_CASES) - set(info.degenerate)) for name, info in METRIC_INFOS.items()}
    missing = {name: cases for name, cases in missing.items() if cases}
    assert not missing, (
        f"metrics without a documented outcome (MetricInfo.degenerate) for these degenerate generations: {missing}"
    )
    for info in METRIC_INFOS.values():
        unknown = set(info.degenerate) - set(DEGENERATE_CASES)
        assert not unknown, f"{info.name} documents unknown cases {unknown}"
        for outcome in info.degenerate.values():
            parse_outcome(outcome)  # raises on an outcome outside the vocabulary


@pytest.mark.slow
@pytest.mark.parametrize("case", list(DEGENERATE_CASES))
@pytest.mark.parametrize("metric", list(METRIC_INFOS))
def test_degenerate_generation_gets_its_documented_outcome(metric, case, degenerate_rows):
    declared = METRIC_INFOS[metric].degenerate.get(case)
    if declared is None:
        pytest.fail(f"{metric} documents no outcome for a {case} generation ({DEGENERATE_CASES[case]})")
    kind, value, _ = parse_outcome(declared)
    row = degenerate_rows[case]
    got = row.get(metric)
    error = row.get("error") if isinstance(row.get("error"), str) else None
    reason = _reasons(row).get(metric)
    seen = f"{metric} on a {case} generation: got {got!r}, error={error!r}, reason={reason!r}; declared {declared!r}"
    if kind == "error":
        assert error, seen
        return
    assert not error, seen
    if kind == "unmeasurable":
        assert got is None or (isinstance(got, float) and math.isnan(got)), seen
        assert isinstance(reason, str) and reason and "gave no value and no reason" not in reason, seen
    elif kind == "value":
        assert isinstance(got, (int, float)) and got == pytest.approx(value, abs=1e-9), seen
    else:  # scored
        assert isinstance(got, (int, float)) and math.isfinite(got), seen


@pytest.mark.slow
def test_the_control_pair_is_scored_by_every_metric(degenerate_rows):
    """The degenerate cases are told apart from ordinary speech: on the control pair every metric gives a
    number, or is unmeasurable for a reason the metric documents for ordinary speech (front/back ambiguity)."""
    row = degenerate_rows["control"]
    assert not isinstance(row.get("error"), str), row["error"]
    for metric in METRIC_INFOS:
        value = row.get(metric)
        reason = _reasons(row).get(metric)
        assert (isinstance(value, (int, float)) and math.isfinite(value)) or reason, metric


# --------------------------------------------------------------------------------------------- selection


@pytest.fixture(scope="module")
def one_pair(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("selection")
    gt, gen = speech_pair(seconds=1.2)
    write_pair(root, "pair", gt, gen, example_transcripts()["rms_glue"])
    return root


@pytest.mark.slow
@pytest.mark.parametrize("metric", list(METRIC_INFOS))
def test_a_metric_named_explicitly_is_computed_or_the_run_exits_2(metric, one_pair, plugins, tmp_path, capsys):
    """Without a checkpoint: checkpoint metrics exit 2 naming why; every other metric is computed."""
    from spatialeval.cli import main

    info = METRIC_INFOS[metric]
    code = main(
        [
            "run",
            str(one_pair / "gt"),
            str(one_pair / "infer"),
            "--metrics",
            metric,
            "--out",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    if info.requires_checkpoint:
        assert code == 2, f"{metric} needs a checkpoint and none was given, yet the run exited {code}"
        assert "checkpoint" in captured.err.lower() or "ckpt" in captured.err.lower(), captured.err
        assert not (tmp_path / "out" / "items.jsonl").exists()
        return
    assert code == 0, captured.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"][metric] + summary["n_unmeasurable"][metric] == 1, summary["counts"]
    # and only it: a metric of the same stage that was not named is absent (not a number, not unmeasurable)
    unnamed = {name for name, other in METRIC_INFOS.items() if other.stage == info.stage and name != metric}
    assert not unnamed & (set(summary) | set(summary["counts"]) | set(summary["n_unmeasurable"])), unnamed
