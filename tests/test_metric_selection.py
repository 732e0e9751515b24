"""``--metrics`` reaches the stages: work only unasked metrics need is skipped, an unasked metric is absent.

Per stage that skips work (intelligibility, trajectory, bewo, binaural_speech): (a) the unasked part is
never run (its scorer or model counted), (b) the asked metric equals the value of a run computing every
metric of the stage (the same code on the same samples: equal exactly), (c) resuming the output directory
with a wider selection stops with exit 2 before any item. The pipeline's side (rows, summary, items.csv,
resume of a directory written before stages knew their selection, merge, ``check``) is tested on the
cheap ``interaural`` stage, whose two metrics share their work (nothing to skip, the rows still leave the
unasked one out).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from spatialeval.cli import main
from spatialeval.pipeline.config import EvalConfig
from spatialeval.pipeline.evaluate import evaluate
from spatialeval.pipeline.registry import stage_class, stage_names

TESTS = Path(__file__).resolve().parent
PAIRS = TESTS / "data" / "pairs"
INTELLIGIBILITY = TESTS / "data" / "intelligibility"


def _copy_pairs(source: Path, names: list[str], root: Path) -> Path:
    """``root/gt`` and ``root/infer`` holding the named pairs of ``source``."""
    for side in ("gt", "infer"):
        (root / side).mkdir(parents=True, exist_ok=True)
        for name in names:
            (found,) = (source / side).glob(f"{name}.*")
            shutil.copy(found, root / side / found.name)
    return root


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines() if line.strip()]


def _run_cli(root: Path, out: Path, metrics: str, *extra: str) -> int:
    return main(
        ["run", str(root / "gt"), str(root / "infer"), "--metrics", metrics, "--out", str(out), "--quiet", *extra]
    )


def _assert_absent(result_or_out, metric: str) -> None:
    """``metric`` appears nowhere: no row field or reason, no summary entry, no items.csv column."""
    out = Path(result_or_out)
    summary = json.loads((out / "summary.json").read_text())
    for row in _rows(out):
        assert metric not in row and metric not in (row.get("unmeasurable") or {}), row
    assert metric not in summary
    for key in ("counts", "n_unmeasurable", "unmeasurable_reasons"):
        assert metric not in summary[key], (key, summary[key])
    header = (out / "items.csv").read_text().splitlines()[0]
    assert f'"{metric}"' not in header


# ------------------------------------------------------------------------------------------ the Stage hook


def test_a_stage_selects_all_its_metrics_unless_the_run_names_some():
    cls = stage_class("intelligibility")
    assert cls(EvalConfig()).selected == {"mbstoi", "haspi_be"}
    assert cls(EvalConfig(metrics=["haspi_be", "ipd_mae"])).selected == {"haspi_be"}
    # a stage run by --stages beside a --metrics naming only other stages' metrics: everything
    assert cls(EvalConfig(metrics=["ipd_mae"])).selected == {"mbstoi", "haspi_be"}
    stage = cls(EvalConfig(), selected=["mbstoi"])
    assert stage.selected_fields == ("mbstoi",) and stage.wants("mbstoi", "haspi_be") and not stage.wants("haspi_be")
    with pytest.raises(ValueError, match="ipd_mae"):
        cls(EvalConfig(), selected=["ipd_mae"])
    with pytest.raises(ValueError, match="none"):
        cls(EvalConfig(), selected=[])
    for name in stage_names():  # every stage takes the selection, also one with its own __init__
        one = stage_class(name)(EvalConfig(), selected=[stage_class(name).fields[-1]])
        assert one.selected_fields == (stage_class(name).fields[-1],), name


# ------------------------------------------------------------------------------------------ the pipeline


@pytest.fixture(scope="module")
def interaural_pairs(tmp_path_factory) -> Path:
    return _copy_pairs(PAIRS, ["az_shift_small", "az_shift_large", "front_back"], tmp_path_factory.mktemp("sel"))


def test_an_unasked_metric_is_absent_from_rows_summary_and_csv(interaural_pairs, tmp_path):
    full = evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"stages": ["interaural"]})
    only = evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"metrics": ["ipd_mae"]}, out_dir=tmp_path)
    _assert_absent(tmp_path, "ild_mae")
    assert "ild_mae" not in only.items.columns
    assert only.summary["ipd_mae"] == full.summary["ipd_mae"]
    assert list(only.items["ipd_mae"]) == list(full.items["ipd_mae"])


def test_resuming_with_a_wider_selection_stops_before_any_item(interaural_pairs, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run_cli(interaural_pairs, out, "ipd_mae") == 0
    before = (out / "items.jsonl").read_text()
    assert _run_cli(interaural_pairs, out, "ipd_mae,ild_mae") == 2
    assert "other settings" in capsys.readouterr().err
    assert (out / "items.jsonl").read_text() == before
    assert _run_cli(interaural_pairs, out, "ipd_mae") == 0  # the same selection resumes


def test_a_directory_whose_rows_hold_unasked_metrics_resumes_without_them(interaural_pairs, tmp_path, monkeypatch):
    """Before stages knew their selection, a ``--metrics ipd_mae`` run wrote every metric of the stage; such a
    directory (same run identity) resumes, its rows are reused, and the outputs equal a fresh run's."""
    from spatialeval.pipeline.stages.interaural import InterauralStage

    out = tmp_path / "out"
    evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"metrics": ["ipd_mae"]}, out_dir=out)
    fresh = (out / "items.csv").read_text()
    old_style = []
    for row in _rows(out):
        row["ild_mae"] = 0.5
        row["unmeasurable"] = {"ild_mae": "a reason of the old run"}
        old_style.append(json.dumps(row))
    (out / "items.jsonl").write_text("\n".join(old_style) + "\n")

    def never(self, items):
        raise AssertionError("a reusable row was recomputed")

    monkeypatch.setattr(InterauralStage, "compute_batch", never)
    result = evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"metrics": ["ipd_mae"]}, out_dir=out)
    assert result.summary["run"]["resume"]["reused"] == 3
    _assert_absent(out, "ild_mae")
    assert all("unmeasurable" not in row for row in _rows(out))
    assert (out / "items.csv").read_text() == fresh


def test_shards_with_different_selections_do_not_merge(interaural_pairs, tmp_path):
    from spatialeval.pipeline.merge import merge_results

    gt, gen = interaural_pairs / "gt", interaural_pairs / "infer"
    evaluate(gt, gen, {"metrics": ["ipd_mae"], "shard": "1/2"}, out_dir=tmp_path / "a")
    evaluate(gt, gen, {"metrics": ["ipd_mae", "ild_mae"], "shard": "2/2"}, out_dir=tmp_path / "b")
    with pytest.raises(ValueError, match="different settings"):
        merge_results([tmp_path / "a", tmp_path / "b"], tmp_path / "merged")
    evaluate(gt, gen, {"metrics": ["ipd_mae"], "shard": "2/2"}, out_dir=tmp_path / "c")
    merged = merge_results([tmp_path / "a", tmp_path / "c"], tmp_path / "merged")
    assert "ild_mae" not in merged and merged["counts"]["ipd_mae"] == 3
    _assert_absent(tmp_path / "merged", "ild_mae")


def test_check_names_an_unselected_metric_as_not_selected(interaural_pairs, tmp_path):
    from spatialeval.check import check_results

    gt, gen = interaural_pairs / "gt", interaural_pairs / "infer"
    baseline = evaluate(gt, gen, {"stages": ["interaural"]}).summary
    results = evaluate(gt, gen, {"metrics": ["ipd_mae"]}).summary
    report = check_results(results, baseline, allow_settings_change=True)
    (row,) = [r for r in report.rows if r.metric == "ild_mae"]
    assert row.status == "missing" and "not selected" in row.reason, row


# ------------------------------------------------------------------------------------------ intelligibility


@pytest.fixture(scope="module")
def intelligibility_pair(tmp_path_factory) -> Path:
    return _copy_pairs(INTELLIGIBILITY, ["noise_0db"], tmp_path_factory.mktemp("intelligibility"))


@pytest.fixture(scope="module")
def intelligibility_full(intelligibility_pair):
    return evaluate(intelligibility_pair / "gt", intelligibility_pair / "infer", {"stages": ["intelligibility"]})


def _counting_scorers(monkeypatch) -> dict[str, int]:
    from spatialeval.pipeline.stages import intelligibility

    calls = dict.fromkeys(intelligibility.SCORERS, 0)
    for name, scorer in list(intelligibility.SCORERS.items()):

        def counted(*args, _name=name, _scorer=scorer):
            calls[_name] += 1
            return _scorer(*args)

        monkeypatch.setitem(intelligibility.SCORERS, name, counted)
    return calls


@pytest.mark.parametrize(("asked", "unasked"), [("haspi_be", "mbstoi"), ("mbstoi", "haspi_be")])
def test_intelligibility_scores_only_the_asked_metric(
    asked, unasked, intelligibility_pair, intelligibility_full, tmp_path, monkeypatch
):
    calls = _counting_scorers(monkeypatch)
    out = tmp_path / "out"
    result = evaluate(intelligibility_pair / "gt", intelligibility_pair / "infer", {"metrics": [asked]}, out_dir=out)
    assert calls == {asked: 1, unasked: 0}
    assert result.summary["n_failed"] == 0
    expected = intelligibility_full.summary[asked]
    assert math.isfinite(expected) and result.summary[asked] == expected
    _assert_absent(out, unasked)
    assert _run_cli(intelligibility_pair, out, "mbstoi,haspi_be") == 2
    assert calls == {asked: 1, unasked: 0}


# ------------------------------------------------------------------------------------------ trajectory


@pytest.fixture(scope="module")
def tiny_encoder():
    """The small stand-in spatial encoder (what is tested is which track runs, not BAT's weights)."""
    from plugins.tiny_encoder import TinySpatialEncoder

    from spatialeval.models.registry import SPATIAL_ENCODERS

    SPATIAL_ENCODERS.register("tiny", TinySpatialEncoder)
    yield {"bat": {"encoder": "tiny"}}
    SPATIAL_ENCODERS.unregister("tiny")


@pytest.fixture(scope="module")
def trajectory_pairs(tmp_path_factory) -> Path:
    return _copy_pairs(PAIRS, ["az_shift_large", "front_back"], tmp_path_factory.mktemp("trajectory"))


@pytest.fixture(scope="module")
def trajectory_full(trajectory_pairs, tiny_encoder):
    result = evaluate(trajectory_pairs / "gt", trajectory_pairs / "infer", {"stages": ["trajectory"], **tiny_encoder})
    assert result.summary["counts"]["bat_trajectory_error_deg"] == 2  # the BAT track ran in the full run
    return result


def _count(monkeypatch, owner, name: str) -> list:
    calls: list = []
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


def test_trajectory_cue_track_alone_builds_no_encoder(
    trajectory_pairs, trajectory_full, tiny_encoder, tmp_path, monkeypatch
):
    from spatialeval.models.registry import SPATIAL_ENCODERS
    from spatialeval.pipeline.stages.trajectory import TrajectoryStage

    built, tracked = _count(monkeypatch, SPATIAL_ENCODERS, "build"), _count(monkeypatch, TrajectoryStage, "_bat_tracks")
    out = tmp_path / "out"
    config = {"metrics": ["cues_trajectory_error_deg"], **tiny_encoder}
    result = evaluate(trajectory_pairs / "gt", trajectory_pairs / "infer", config, out_dir=out)
    assert built == [] and tracked == []
    assert list(result.items["cues_trajectory_error_deg"]) == list(trajectory_full.items["cues_trajectory_error_deg"])
    for metric in ("cues_trajectory_worst_deg", "bat_trajectory_error_deg", "bat_trajectory_worst_deg"):
        _assert_absent(out, metric)
    assert not any(key.startswith("bat_") for row in _rows(out) for key in row)
    assert (
        _run_cli(
            trajectory_pairs, out, "cues_trajectory_error_deg,bat_trajectory_error_deg", "--set", "bat.encoder=tiny"
        )
        == 2
    )
    assert tracked == []  # refused before any item (the wider run's setup builds its encoder to fingerprint it)


def test_trajectory_bat_track_alone_runs_no_cue_estimator(
    trajectory_pairs, trajectory_full, tiny_encoder, tmp_path, monkeypatch
):
    from spatialeval.metrics import trajectory

    estimated = _count(monkeypatch, trajectory, "track_from_estimator")
    out = tmp_path / "out"
    config = {"metrics": ["bat_trajectory_error_deg"], **tiny_encoder}
    result = evaluate(trajectory_pairs / "gt", trajectory_pairs / "infer", config, out_dir=out)
    assert estimated == []
    assert list(result.items["bat_trajectory_error_deg"]) == list(trajectory_full.items["bat_trajectory_error_deg"])
    _assert_absent(out, "cues_trajectory_error_deg")
    assert not any(key.startswith("cues_") for row in _rows(out) for key in row)
    assert (
        _run_cli(
            trajectory_pairs, out, "cues_trajectory_error_deg,bat_trajectory_error_deg", "--set", "bat.encoder=tiny"
        )
        == 2
    )
    assert estimated == []


# ------------------------------------------------------------------------------------------ bewo


@pytest.fixture(scope="module")
def bewo_pair(tmp_path_factory) -> Path:
    return _copy_pairs(PAIRS, ["az_shift_large"], tmp_path_factory.mktemp("bewo"))


def test_bewo_gcc_alone_loads_and_runs_no_stereocrw(bewo_pair, tmp_path, monkeypatch):
    from spatialeval.models import stereocrw
    from spatialeval.models.standins.stereocrw import write_test_checkpoint

    light = dict(stage_class("bewo").light_settings)
    crw = write_test_checkpoint(tmp_path / "crw_seed0.pth.tar")
    full = evaluate(
        bewo_pair / "gt", bewo_pair / "infer", {"stages": ["bewo"], "bewo": {**light, "crw_checkpoint": str(crw)}}
    )
    assert math.isfinite(full.summary["bewo_crw_itd_mse"])  # CRW mode ran in the full run
    loaded, ran = _count(monkeypatch, stereocrw, "load_stereocrw"), _count(monkeypatch, stereocrw, "clip_crw")
    out = tmp_path / "out"
    config = {"metrics": ["bewo_itd_mse"], "bewo": {**light, "crw_checkpoint": str(crw)}}
    result = evaluate(bewo_pair / "gt", bewo_pair / "infer", config, out_dir=out)
    assert loaded == [] and ran == []
    assert (
        math.isfinite(full.summary["bewo_itd_mse"]) and result.summary["bewo_itd_mse"] == full.summary["bewo_itd_mse"]
    )
    _assert_absent(out, "bewo_crw_itd_mse")
    assert "fsad" not in result.summary["extra"]
    assert not any("crw" in key for row in _rows(out) for key in row)
    assert "bewo_itd_kl_hist" in result.summary["extra"]
    crw_only = evaluate(
        bewo_pair / "gt", bewo_pair / "infer", {**config, "metrics": ["bewo_crw_itd_mse"]}, out_dir=tmp_path / "crw"
    )
    assert crw_only.summary["bewo_crw_itd_mse"] == full.summary["bewo_crw_itd_mse"]
    _assert_absent(tmp_path / "crw", "bewo_itd_mse")
    assert "bewo_itd_kl_hist" not in crw_only.summary["extra"]  # GCC mode's corpus values: not asked for
    wider = ["--set", f"bewo.crw_checkpoint={crw}", *(f"--set=bewo.{k}={v}" for k, v in light.items())]
    assert _run_cli(bewo_pair, out, "bewo_itd_mse,bewo_crw_itd_mse", *wider) == 2


# ------------------------------------------------------------------------------------------ binaural_speech


@pytest.fixture(scope="module")
def speech_pairs(tmp_path_factory) -> Path:
    return _copy_pairs(PAIRS, ["az_shift_small", "other_voice"], tmp_path_factory.mktemp("binaural_speech"))


@pytest.fixture(scope="module")
def speech_full(speech_pairs):
    pytest.importorskip("pesq")
    return evaluate(speech_pairs / "gt", speech_pairs / "infer", {"stages": ["binaural_speech"]})


@pytest.mark.parametrize(
    ("asked", "skipped"),
    [
        ("pesq", ("spectral_errors", "mrstft")),
        ("mrstft", ("_pesq",)),
        ("wave_l2", ("spectral_errors", "mrstft", "_pesq")),
    ],
)
def test_binaural_speech_skips_pesq_or_the_stfts_when_unasked(
    asked, skipped, speech_pairs, speech_full, tmp_path, monkeypatch
):
    from spatialeval.metrics import binaural_speech as bs
    from spatialeval.pipeline.stages import binaural_speech as stage

    calls = {name: _count(monkeypatch, stage if name == "_pesq" else bs, name) for name in skipped}
    out = tmp_path / "out"
    result = evaluate(speech_pairs / "gt", speech_pairs / "infer", {"metrics": [asked]}, out_dir=out)
    assert all(found == [] for found in calls.values()), calls
    assert list(result.items[asked]) == list(speech_full.items[asked])
    assert all(math.isfinite(v) for v in result.items[asked])
    weighted = f"{asked}_sample_weighted"
    assert result.summary["extra"] == {weighted: speech_full.summary["extra"][weighted]}
    for metric in bs.METRIC_NAMES:
        if metric != asked:
            _assert_absent(out, metric)
    assert _run_cli(speech_pairs, out, ",".join(bs.METRIC_NAMES)) == 2


# ------------------------------------------------------------------------------------------ corpus values


def test_a_corpus_value_of_an_unasked_metric_is_not_reported(interaural_pairs):
    """``--metrics wer`` printed 'CER (corpus)' and ``--metrics gpe`` an FFE corpus value: numbers not asked for."""
    cer = stage_class("cer")
    rows = [{"cer_edits": 1, "cer_ref_chars": 10, "ref_source": "text", "cer_language": "en", "ref_text": "a b"}]
    assert "cer_corpus" not in cer(EvalConfig(metrics=["wer"])).summarize(rows)
    assert cer(EvalConfig(metrics=["cer"])).summarize(rows)["cer_corpus"] == 0.1
    ffe = evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"metrics": ["gpe"]}).summary
    full = evaluate(interaural_pairs / "gt", interaural_pairs / "infer", {"stages": ["ffe"]}).summary
    assert "ffe_corpus" not in ffe["extra"] and "ffe" not in ffe and "vde" not in ffe
    assert ffe["extra"]["gpe_voiced_corpus"] == full["extra"]["gpe_voiced_corpus"]
    assert ffe["gpe"] == full["gpe"]
