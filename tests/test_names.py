"""One word per concept (issue 17 item 4): old names in result files and settings are read as the new ones.

Results written before the renames (``infer``, ``infer_sha256``, ``bewo_infer_itd_ms``, ``left_out.only_infer``,
``cer.normalizer``, ``bat.mode: isdrama``, ``bewo.kl_folder: infer``) are resumed, merged, checked and reported
as if written now, with one deprecation note per old name; new files carry only the new names.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import pytest

import spatialeval.names as names
from spatialeval.names import RenamedWarning

PAIRS = ("same", "quieter")
SETTINGS = {"stages": ["interaural", "bewo"], "bewo": {"frames": 3, "kl_folder": "gen"}}
# The renames, written out here by hand (not read from spatialeval.names): what the old code wrote.
OLD_FIELDS = {"gen": "infer", "gen_sha256": "infer_sha256", "bewo_gen_itd_ms": "bewo_infer_itd_ms"}


@pytest.fixture(autouse=True)
def _fresh_notes():
    """Each old name is noted once per process; every test starts with none noted."""
    names._noted.clear()
    yield
    names._noted.clear()


def _tree(tmp_path: Path, pairs_dir: Path) -> Path:
    for side in ("gt", "infer"):
        (tmp_path / side).mkdir(parents=True)
        for name in PAIRS:
            shutil.copy(pairs_dir / side / f"{name}.wav", tmp_path / side / f"{name}.wav")
    return tmp_path


def _downgrade_results(new: Path, old: Path) -> None:
    """Rewrite a results directory the way the code before the renames wrote it."""
    old.mkdir()
    rows = [json.loads(line) for line in (new / "items.jsonl").read_text().splitlines()]
    (old / "items.jsonl").write_text(
        "".join(json.dumps({OLD_FIELDS.get(k, k): v for k, v in row.items()}) + "\n" for row in rows)
    )
    with (new / "items.csv").open(newline="") as handle:
        table = list(csv.reader(handle))
    with (old / "items.csv").open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL).writerows([[OLD_FIELDS.get(k, k) for k in table[0]], *table[1:]])
    summary = json.loads((new / "summary.json").read_text())
    summary["left_out"] = {"only_gt": [], "only_infer": []}
    for holder in (summary["config"], summary["identity"]["config"], summary["stages"], summary["identity"]["stages"]):
        assert holder["bewo"]["kl_folder"] == "gen"
        holder["bewo"]["kl_folder"] = "infer"
    (old / "summary.json").write_text(json.dumps(summary))
    from spatialeval.pipeline.evaluate import identity_fingerprint

    (old / "run.json").write_text(json.dumps({"fingerprint": identity_fingerprint(summary["identity"])}))
    assert "infer" in (old / "items.jsonl").read_text() and "gen_sha256" not in (old / "items.jsonl").read_text()


@pytest.mark.slow  # two small runs and a report (matplotlib): ~5 s on an idle core
def test_an_old_results_directory_is_resumed_checked_merged_and_reported(tmp_path, pairs_dir):
    from spatialeval.cli import main
    from spatialeval.pipeline.evaluate import evaluate
    from spatialeval.pipeline.merge import merge_results
    from spatialeval.report import run_report

    data = _tree(tmp_path / "data", pairs_dir)
    new, old = tmp_path / "new", tmp_path / "old"
    fresh = evaluate(data / "gt", data / "infer", SETTINGS, out_dir=new)
    _downgrade_results(new, old)

    # check reads the summary (identity included: the old kl_folder value must not count as a settings change)
    with pytest.warns(RenamedWarning, match="'only_infer' is renamed 'only_gen'"):
        assert main(["check", str(old), "--baseline", str(new / "summary.json")]) == 0
    names._noted.clear()
    with pytest.warns(RenamedWarning, match="'infer_sha256' is renamed 'gen_sha256'"):  # the report reads the rows
        assert run_report(old, tmp_path / "report", items=["quieter"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "IPD/ILD maps of quieter" in report  # the audio found through the renamed `gen` path field
    names._noted.clear()
    with pytest.warns(RenamedWarning, match="'infer' is renamed 'gen'"):
        merged = merge_results([old], tmp_path / "merged")
    assert merged["bewo_itd_mse"] == fresh.summary["bewo_itd_mse"] and merged["left_out"]["only_gen"] == []

    # Resume under the old setting value: every stored row is reused (same audio, same settings), none recomputed.
    names._noted.clear()
    with pytest.warns(RenamedWarning, match="bewo.kl_folder=infer"):
        resumed = evaluate(
            data / "gt", data / "infer", {**SETTINGS, "bewo": {"frames": 3, "kl_folder": "infer"}}, out_dir=old
        )
    assert resumed.summary["run"]["resume"]["reused"] == len(PAIRS)
    assert resumed.summary["run"]["resume"]["recomputed_invalid"] == []
    for metric in ("ipd_mae", "ild_mae", "bewo_itd_mse"):
        assert resumed.summary[metric] == fresh.summary[metric], metric  # the same stored numbers, not recomputed
    # The set-level BEWO numbers are made from the reused rows' renamed field bewo_gen_itd_ms (with kl_folder=gen).
    assert resumed.summary["extra"] == fresh.summary["extra"] and "bewo_itd_kl_hist" in fresh.summary["extra"]
    written = (old / "items.jsonl").read_text() + (old / "items.csv").read_text() + (old / "summary.json").read_text()
    assert "infer_sha256" not in written and "bewo_infer_itd_ms" not in written and "only_infer" not in written
    assert resumed.summary["config"]["bewo"]["kl_folder"] == "gen" and "gen_sha256" in written


def test_a_changed_setting_still_refuses_an_old_directory(tmp_path, pairs_dir):
    """The legacy fingerprint matches only the same settings under their old names, nothing more."""
    from spatialeval.errors import UsageError
    from spatialeval.pipeline.evaluate import evaluate

    data = _tree(tmp_path / "data", pairs_dir)
    new, old = tmp_path / "new", tmp_path / "old"
    evaluate(data / "gt", data / "infer", SETTINGS, out_dir=new)
    _downgrade_results(new, old)
    with pytest.raises(UsageError, match="other settings"):
        evaluate(data / "gt", data / "infer", {**SETTINGS, "bewo": {"frames": 3, "kl_folder": "gt"}}, out_dir=old)


def test_old_setting_keys_and_values_are_read_with_one_note_each():
    from spatialeval.pipeline.config import config_from_dict, load_config, parse_assignment

    with pytest.warns(RenamedWarning) as notes:
        config = config_from_dict({"cer": {"normalizer": "whisper-en"}, "bat": {"mode": "isdrama"}})
        again = load_config(overrides={"cer": {"normalizer": "whisper-en"}})
    assert config.cer.text_normalization == "whisper-en" and config.bat.mode == "first-window"
    assert again.cer.text_normalization == "whisper-en"
    assert len(notes) == 2  # one note per old name, however often it is met
    assert parse_assignment("cer.normalizer=spatialeval-text-1") == {
        "cer": {"text_normalization": "spatialeval-text-1"}
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new names are read without a note
        assert config_from_dict({"cer": {"text_normalization": "whisper-en"}}).bat.mode == "first-window"


def test_old_flags_and_flag_values_work_on_the_command_line():
    from spatialeval.cli import _run_config, build_parser

    argv = [
        "run",
        "gt",
        "infer",
        "--cer-normalizer",
        "whisper-en",
        "--bat-mode",
        "isdrama",
        "--set",
        "bewo.kl_folder=infer",
    ]
    with pytest.warns(RenamedWarning) as notes:
        config = _run_config(build_parser().parse_args(argv))
    assert (config.cer.text_normalization, config.bat.mode, config.bewo.kl_folder) == (
        "whisper-en",
        "first-window",
        "gen",
    )
    assert len(notes) == 3


def test_the_manifest_column_gen_and_its_alias_infer(tmp_path, pairs_dir):
    from spatialeval.io.pairing import PairingError, pair_from_manifest

    gt, gen = pairs_dir / "gt" / "same.wav", pairs_dir / "infer" / "same.wav"
    for column in ("gen", "infer"):
        (tmp_path / f"{column}.csv").write_text(f"id,gt,{column}\na,{gt},{gen}\n")
        assert pair_from_manifest(tmp_path / f"{column}.csv").pairs[0].gen == str(gen)
    (tmp_path / "both.jsonl").write_text(json.dumps({"gt": str(gt), "gen": str(gen), "infer": str(gen)}) + "\n")
    with pytest.raises(PairingError, match="both gen and infer"):
        pair_from_manifest(tmp_path / "both.jsonl")


def test_renamed_modules_and_keywords_stay_usable():
    import importlib
    import sys

    import numpy as np

    from spatialeval.metrics.encoder_windows import encoder_windows
    from spatialeval.metrics.ipd_ild import ipd_ild_mae

    sys.modules.pop("spatialeval.tensor", None)
    with pytest.warns(DeprecationWarning, match="spatialeval.training"):
        tensor = importlib.import_module("spatialeval.tensor")
    assert tensor.bat_cosines is importlib.import_module("spatialeval.training").bat_cosines
    clip = np.random.default_rng(0).normal(0, 0.1, (16000, 2))
    with pytest.warns(RenamedWarning, match="infer_sample_rate="):
        old = ipd_ild_mae(clip, clip, 16000, protocol="strict", infer_sample_rate=16000)
    assert old == ipd_ild_mae(clip, clip, 16000, protocol="strict", gen_sample_rate=16000)
    with pytest.warns(RenamedWarning, match="bat.mode=isdrama"):
        assert encoder_windows(clip, "isdrama").shape == encoder_windows(clip, "first-window").shape


def test_every_renamed_module_exists_under_its_new_name():
    import importlib

    for old, new in names.MODULE_RENAMES.items():
        assert importlib.util.find_spec(new) is not None, new
        assert old == "spatialeval.tensor" or importlib.util.find_spec(old) is None, old


def test_cer_and_wer_read_the_old_protocol_keyword():
    from spatialeval.metrics.cer import cer, wer

    with pytest.warns(RenamedWarning, match="protocol="):
        old = cer("The cat sat.", "the bat sat on", protocol="spatialeval-text-1")
    assert (
        old == cer("The cat sat.", "the bat sat on", text_normalization="spatialeval-text-1") == pytest.approx(4 / 11)
    )
    with pytest.raises(TypeError, match="unexpected keyword"):
        wer("a", "a", normaliser="whisper-en")
