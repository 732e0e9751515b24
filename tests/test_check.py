"""The regression gate: directions from the registry, tolerances, missing metrics, exit codes."""

from __future__ import annotations

import json
import math

import pytest

from spatialeval.check import (
    CheckInputError,
    Tolerance,
    Tolerances,
    check_results,
    load_baseline,
    load_results,
    load_tolerances,
    run_check,
)
from spatialeval.pipeline.registry import METRICS

BASELINE = {
    "ipd_mae": 6.9e-05,
    "ild_mae": 1.2e-03,
    "ang_cos": 0.90,
    "sim": 0.80,
    "cer": 0.10,
    "n_items": 16,
    "n_failed": 0,
    "failed_items": {},
    "protocol": "isdrama",
    "stages": {"interaural": {"status": "ran"}, "bat": {"status": "ran"}},
    "versions": {"spatialeval": "0.1.0"},
    "config": {},
    "extra": {},
}


def _with(**changes):
    summary = json.loads(json.dumps(BASELINE))
    summary.update(changes)
    return summary


def _status(report, metric):
    return next(row for row in report.rows if row.metric == metric).status


def _write_results_dir(directory, summary):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return directory


def test_identical_results_pass():
    report = check_results(_with(), _with())
    assert report.passed
    assert {row.status for row in report.rows} == {"ok"}
    assert {row.metric for row in report.rows} == {"ipd_mae", "ild_mae", "ang_cos", "sim", "cer", "n_failed"}
    assert "PASS" in report.format()


@pytest.mark.parametrize("metric", ["ipd_mae", "cer", "sim", "ang_cos"])
def test_worsening_in_the_registry_direction_regresses(metric):
    sign = -1.0 if METRICS[metric].higher_is_better else 1.0
    worse = BASELINE[metric] * (1 + sign * 0.10)
    report = check_results(_with(**{metric: worse}), _with(), Tolerances(default=Tolerance(rel=0.05)))
    assert not report.passed
    assert _status(report, metric) == "regressed"
    text = report.format()
    assert "FAIL" in text and f"{metric}: " in text
    assert f"{sign * 10:+.2f}%" in text  # the relative change is printed with its sign


@pytest.mark.parametrize("metric", ["ipd_mae", "cer", "sim", "ang_cos"])
def test_improvement_passes_even_with_zero_tolerance(metric):
    sign = 1.0 if METRICS[metric].higher_is_better else -1.0
    better = BASELINE[metric] * (1 + sign * 0.5)
    report = check_results(_with(**{metric: better}), _with())
    assert report.passed
    assert _status(report, metric) == "improved"


def test_change_within_absolute_tolerance_passes_and_beyond_fails():
    tolerances = Tolerances(per_metric={"cer": Tolerance(abs=0.01)})
    assert check_results(_with(cer=0.109), _with(), tolerances).passed
    report = check_results(_with(cer=0.111), _with(), tolerances)
    assert _status(report, "cer") == "regressed"
    row = report.failures[0]
    assert math.isclose(row.delta, 0.011) and math.isclose(row.allowed, 0.01)


def test_relative_tolerance_scales_with_the_baseline():
    tolerances = Tolerances(per_metric={"sim": Tolerance(rel=0.02)})  # allowed fall: 0.016
    assert check_results(_with(sim=0.785), _with(), tolerances).passed
    assert _status(check_results(_with(sim=0.783), _with(), tolerances), "sim") == "regressed"


def test_missing_metric_fails_and_names_the_skipped_stage():
    results = _with(stages={"bat": {"status": "skipped", "reason": "no BAT checkpoint given"}})
    del results["ang_cos"]
    report = check_results(results, _with())
    assert not report.passed and _status(report, "ang_cos") == "missing"
    assert "no BAT checkpoint given" in report.format()
    assert _status(check_results(_with(sim=float("nan")), _with()), "sim") == "missing"
    assert _status(check_results(_with(sim=None), _with()), "sim") == "missing"


def test_more_failed_items_than_the_baseline_fails():
    results = _with(n_failed=2, failed_items={"a/b": "file not found", "c": "mono audio"})
    report = check_results(results, _with())
    assert _status(report, "n_failed") == "regressed"
    assert "a/b: file not found" in report.format()
    assert check_results(results, _with(n_failed=2)).passed
    assert check_results(results, _with(), Tolerances(per_metric={"n_failed": Tolerance(abs=2)})).passed


def test_protocol_mismatch_is_bad_input():
    with pytest.raises(CheckInputError, match="protocol"):
        check_results(_with(protocol="strict"), _with())


def test_yaml_tolerances_and_metric_restriction(tmp_path):
    path = tmp_path / "tol.yaml"
    path.write_text(
        "default: {abs: 0.0}\ntolerances:\n  cer: {abs: 0.01}\n  sim: {rel: 0.02}\nmetrics: [cer, sim]\n",
        encoding="utf-8",
    )
    tolerances = load_tolerances(path)
    assert tolerances.for_metric("cer") == Tolerance(abs=0.01)
    assert tolerances.for_metric("sim") == Tolerance(rel=0.02)
    assert tolerances.for_metric("ipd_mae") == Tolerance(abs=0.0)
    # ipd_mae regresses badly but is not in `metrics`, so only cer, sim and n_failed are checked.
    report = check_results(_with(ipd_mae=1.0, cer=0.105, sim=0.79), _with(), tolerances)
    assert report.passed
    assert [row.metric for row in report.rows] == ["cer", "sim", "n_failed"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("tolerances: {cerr: {abs: 0.01}}\n", "unknown metric 'cerr'"),
        ("tolerances: {cer: {abs: -1}}\n", "≥ 0"),
        # a YAML boolean is no tolerance (it was read as 1.0: any CER rise up to 1 passed)
        ("tolerances: {cer: {abs: true}}\n", "tolerance must be a number, got True"),
        ("tolerances: {cer: {absolute: 0.1}}\n", "unknown key"),
        ("metrics: cer\n", "non-empty list"),
        ("tolerance: {}\n", "unknown top-level"),
    ],
)
def test_bad_tolerance_files_are_rejected(tmp_path, text, message):
    path = tmp_path / "tol.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CheckInputError, match=message):
        load_tolerances(path)


def test_command_line_overrides_merge_with_the_file():
    tolerances = Tolerances(per_metric={"cer": Tolerance(abs=0.01)}).with_overrides(
        tol=["ipd_mae=1e-6"], rel_tol=["cer=0.5", "default=0.1"]
    )
    assert tolerances.for_metric("cer") == Tolerance(abs=0.01, rel=0.5)
    assert tolerances.for_metric("ipd_mae") == Tolerance(abs=1e-6)
    assert tolerances.default == Tolerance(abs=0.0, rel=0.1)
    with pytest.raises(CheckInputError, match="METRIC=VALUE"):
        Tolerances().with_overrides(tol=["cer"])


def test_loaders_accept_directories_summaries_and_plain_mappings(tmp_path):
    run_dir = _write_results_dir(tmp_path / "run", _with())
    assert load_results(run_dir)["ipd_mae"] == BASELINE["ipd_mae"]
    assert load_results(run_dir / "summary.json")["n_items"] == 16
    assert load_baseline(run_dir)["cer"] == 0.10
    plain = tmp_path / "baseline.yaml"
    plain.write_text("cer: 0.2\nsim: 0.7\n", encoding="utf-8")
    assert load_baseline(plain) == {"cer": 0.2, "sim": 0.7}
    typo = tmp_path / "typo.json"
    typo.write_text('{"ipd_mea": 0.1}', encoding="utf-8")
    with pytest.raises(CheckInputError, match="ipd_mea"):
        load_baseline(typo)
    with pytest.raises(CheckInputError, match="no summary.json"):
        load_results(tmp_path)


def test_run_check_exit_codes(tmp_path, capsys):
    baseline = _write_results_dir(tmp_path / "baseline", _with())
    same = _write_results_dir(tmp_path / "same", _with())
    worse = _write_results_dir(tmp_path / "worse", _with(ild_mae=1.5e-03, sim=0.79))

    assert run_check(same, baseline / "summary.json") == 0
    assert "PASS" in capsys.readouterr().out

    assert run_check(worse, baseline) == 1
    out = capsys.readouterr().out
    assert "ild_mae" in out and "REGRESSED" in out and "+25.00%" in out

    # sim within a 2 % relative tolerance, ild_mae within an absolute one: passes.
    assert run_check(worse, baseline, tol=["ild_mae=0.0004"], rel_tol=["sim=0.02"]) == 0
    capsys.readouterr()

    tol_file = tmp_path / "tol.yaml"
    tol_file.write_text("tolerances:\n  ild_mae: {rel: 0.3}\n  sim: {abs: 0.005}\n", encoding="utf-8")
    assert run_check(worse, baseline, tolerances_yaml=tol_file) == 1  # sim fell 0.01 > 0.005
    assert "sim" in capsys.readouterr().out

    assert run_check(tmp_path / "absent", baseline) == 2
    assert "not found" in capsys.readouterr().err
    assert run_check(same, baseline, tol=["cer=abc"]) == 2
    assert "must be a number" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert run_check(same, broken) == 2
    assert "not valid JSON" in capsys.readouterr().err


# ----------------------------------------------------------------------------- run identity (issue 16 item 4)


def _identity(threshold=0.2, sha="aa11", path="/here/finetuned.pth"):
    return {
        "config": {
            "protocol": "isdrama",
            "tf32": False,
            "stages": ["ffe", "bat"],
            "metrics": None,
            "ffe": {"threshold": threshold, "method": "dio"},
            "bat": {"checkpoint": path, "mode": "first-window"},
        },
        "stages": {
            "ffe": {"status": "ran", "reason": ""},
            "bat": {"status": "ran", "reason": "", "checkpoint": path, "checkpoint_sha256": sha},
        },
    }


def test_results_made_under_other_settings_are_refused_naming_them():
    """Before: only the protocol was compared, so a changed threshold or checkpoint passed silently."""
    with pytest.raises(CheckInputError, match=r"ffe\.threshold: 0\.2 → 0\.9"):
        check_results(_with(identity=_identity(threshold=0.9)), _with(identity=_identity()))
    with pytest.raises(CheckInputError, match=r"bat provenance\.checkpoint_sha256: aa11 → bb22"):
        check_results(_with(identity=_identity(sha="bb22")), _with(identity=_identity()))


def test_allow_settings_change_compares_and_notes_the_differences():
    report = check_results(
        _with(identity=_identity(threshold=0.9)), _with(identity=_identity()), allow_settings_change=True
    )
    assert report.passed and any("ffe.threshold: 0.2 → 0.9" in note for note in report.notes)


def test_same_identity_passes_even_with_the_checkpoint_elsewhere():
    report = check_results(_with(identity=_identity(path="/ci/ckpt.pth")), _with(identity=_identity()))
    assert report.passed and not any("settings" in note for note in report.notes)


def test_a_baseline_without_identity_is_a_note_not_a_failure():
    report = check_results(_with(identity=_identity()), _with())
    assert report.passed and any("settings could not be compared" in note for note in report.notes)


def test_fewer_items_than_the_baseline_fail_unless_allowed():
    """Before: a drop in n_items was only a note."""
    report = check_results(_with(n_items=12), BASELINE)
    assert not report.passed and _status(report, "n_items") == "regressed"
    assert check_results(_with(n_items=12), BASELINE, allow_fewer_items=True).passed
    assert check_results(_with(n_items=12), BASELINE, Tolerances(per_metric={"n_items": Tolerance(abs=4)})).passed
    assert check_results(_with(n_items=20), BASELINE).passed


def test_check_refuses_a_baseline_run_under_another_ffe_threshold(pairs_dir, tmp_path, capsys):
    """The issue's reproduction: before, `check` printed PASS ("ffe, gpe improved") with exit 0."""
    pytest.importorskip("pyworld")
    import shutil

    from spatialeval.cli import main

    for side in ("gt", "infer"):
        (tmp_path / "in" / side).mkdir(parents=True)
        shutil.copy(pairs_dir / side / "pitch_up_30pct.wav", tmp_path / "in" / side / "a.wav")
    common = ["run", str(tmp_path / "in" / "gt"), str(tmp_path / "in" / "infer"), "--stages", "ffe", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "base")]) == 0
    assert main([*common, "--out", str(tmp_path / "new"), "--set", "ffe.threshold=0.9"]) == 0
    capsys.readouterr()
    baseline = str(tmp_path / "base" / "summary.json")
    assert main(["check", str(tmp_path / "base"), "--baseline", baseline]) == 0
    assert main(["check", str(tmp_path / "new"), "--baseline", baseline]) == 2
    assert "ffe.threshold: 0.2 → 0.9" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "new"), "--baseline", baseline, "--allow-settings-change"]) == 0
    assert "ffe.threshold: 0.2 → 0.9" in capsys.readouterr().out
