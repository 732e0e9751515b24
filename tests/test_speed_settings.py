"""Settings declared speed-only (``affects_numbers=False``) must not change a number; every other
setting must be part of the run identity that resume, merge and ``check`` compare (issue 16 item 14).

Registry-driven: every setting of every registered stage and of the run is covered. A speed-only
setting is varied and the affected stages rerun on fixture pairs of different lengths and rates;
values must agree within float32 rounding, under the suite's one rule for comparing two code paths
(``tests/rowcompare.py``; different batch shapes round differently, so bit-identity is not promised).
"""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from rowcompare import differences
from setting_values import alternative_value

from spatialeval.io.pairing import Pair
from spatialeval.pipeline.config import RunSettings, config_from_dict
from spatialeval.pipeline.evaluate import evaluate, run_identity
from spatialeval.pipeline.registry import stage_classes
from spatialeval.pipeline.settings import choices_of

PAIRS = ("shorter_infer", "rate_mixed")  # two lengths (padding within a chunk), two rates
# Speed-only settings that select items or where files go: they cannot change an item's numbers,
# and are exercised by their own tests (sharding, partial pairing, the feature cache, embeddings).
NOT_VARIED_HERE = {
    "shard": "selects items (tests/test_distributed.py)",
    "allow_partial": "selects items (tests/test_pairing.py)",
    "bat.save_embeddings": "only writes OUT/embeddings (tests/test_parity.py runs with it)",
    # The installed default backends (pocketsphinx, resemblyzer) take one clip at a time;
    # only whisper / paraformer / wavlm batch, and they are not installed in CI.
    "cer.batch_size": "the default ASR backend does not batch",
    "sim.batch_size": "the default speaker backend does not batch",
}
# Stages cheap enough to rerun per setting on CPU; bat needs a checkpoint (varied with the stand-in).
RUN_LEVEL_STAGES = ["interaural", "cues"]


def _all_settings():
    found = [("", item) for item in dataclasses.fields(RunSettings)]
    for name, cls in stage_classes().items():
        found += [(name, item) for item in dataclasses.fields(cls.Settings)]
    return found


def _alternative(item: dataclasses.Field, default, tmp_path):
    """Another valid value of the setting (derived from its declaration), or skip the test."""
    value = alternative_value(item, default, tmp_path)
    if value is None:
        pytest.skip(
            f"{item.name} has a single choice" if choices_of(item) else f"no generic alternative for {item.name}"
        )
    return value


SETTINGS = _all_settings()
SPEED = [(s, item) for s, item in SETTINGS if item.metadata.get("affects_numbers") is False]


@pytest.mark.parametrize("section,item", SETTINGS, ids=[f"{s}.{i.name}" if s else i.name for s, i in SETTINGS])
def test_a_setting_is_in_the_run_identity_exactly_when_it_changes_numbers(section, item, tmp_path):
    if item.name in ("stages", "metrics", "shard"):
        pytest.skip("selection settings: tested with --stages/--metrics")
    base = config_from_dict({})
    default = getattr(getattr(base, section) if section else base, item.name)
    other = _alternative(item, default, tmp_path)
    changed = config_from_dict({section: {item.name: other}} if section else {item.name: other})
    stages = {name: {"status": "ran"} for name in stage_classes()}
    differs = run_identity(base.to_dict(), stages) != run_identity(changed.to_dict(), stages)
    assert differs == (item.metadata.get("affects_numbers") is not False)


@pytest.fixture(scope="module")
def few_pairs(tmp_path_factory, pairs_dir):
    root = tmp_path_factory.mktemp("few")
    for side in ("gt", "infer"):
        (root / side).mkdir()
        for name in PAIRS:
            shutil.copy(pairs_dir / side / f"{name}.wav", root / side / f"{name}.wav")
    return root


def _numbers(result) -> dict:
    frame = result.items.set_index("id")
    metrics = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    return {(i, c): float(frame.loc[i, c]) for i in frame.index for c in metrics}


def _assert_close(a: dict, b: dict, what: str) -> None:
    found = differences({str(k): v for k, v in a.items()}, {str(k): v for k, v in b.items()})
    assert not found, f"{what}: {found}"


@pytest.mark.slow
@pytest.mark.parametrize("section,item", SPEED, ids=[f"{s}.{i.name}" if s else i.name for s, i in SPEED])
def test_a_speed_only_setting_changes_no_number(section, item, few_pairs, tmp_path, request):
    dotted = f"{section}.{item.name}" if section else item.name
    if dotted in NOT_VARIED_HERE:
        pytest.skip(NOT_VARIED_HERE[dotted])
    stages = [section] if section else RUN_LEVEL_STAGES
    values = {"stages": stages}
    if section == "bat":
        values["bat"] = {"checkpoint": str(request.getfixturevalue("test_checkpoint"))}
    base = config_from_dict(values)
    default = getattr(getattr(base, section) if section else base, item.name)
    other = _alternative(item, default, tmp_path)
    if item.name == "device_kernels":
        default, other = "off", "on"  # the two paths that exist on a CPU
    variants = []
    for value in (default, other):
        override = {section: {item.name: value}} if section else {item.name: value}
        config = config_from_dict(
            {**values, **override}
            if not section
            else {**values, section: {**values.get(section, {}), item.name: value}}
        )
        # the encoder is slow on a CPU: one pair (two windows, so batch sizes 1 and 8 differ) for bat
        pairs = (
            [Pair("rate_mixed", str(few_pairs / "gt" / "rate_mixed.wav"), str(few_pairs / "infer" / "rate_mixed.wav"))]
            if section == "bat"
            else None
        )
        result = evaluate(few_pairs / "gt", few_pairs / "infer", config, out_dir=tmp_path / f"out_{value}", pairs=pairs)
        statuses = {n: s.status for n, s in result.stages.items()}
        if any(status != "ran" for status in statuses.values()):
            pytest.skip(f"stage cannot run here: {result.summary['stages']}")
        variants.append(_numbers(result))
    _assert_close(variants[0], variants[1], f"{section or 'run'}.{item.name}: {default!r} vs {other!r}")


def test_interaural_block_frames_is_part_of_the_run_identity():
    """Issue 16 item 14: block_frames changes the FFT batch shape, which moved ild_mae by 2.6e-11 on
    another CPU; it was declared speed-only, so a resumed run could mix rows of two block sizes."""
    from spatialeval.pipeline.run.identity import fingerprint
    from spatialeval.pipeline.run.prepare import StageStatus
    from spatialeval.pipeline.stages.interaural import InterauralStage

    assert "block_frames" not in InterauralStage.speed_settings
    stages = {"interaural": StageStatus("interaural", "ran")}
    assert fingerprint(config_from_dict({"interaural": {"block_frames": 2048}}), stages) != fingerprint(
        config_from_dict({"interaural": {"block_frames": 64}}), stages
    )
