"""Every setting of every registered stage (and of the run) is validated when the configuration is built.

Parametrized from the registry, so a stage registered tomorrow is covered by these tests the day it
is registered: each invalid value that its declaration produces (``invalid_examples``: the rules'
examples, a value outside its choices, a value of the wrong type, null where null is not allowed)
must raise ValueError from ``config_from_dict`` and exit 2 from ``spatialeval run`` before any work.
Also: ``--set`` values are parsed as the setting's declared kind (issue 16 item 8) and explicitly
named stages/metrics must be computable (item 7).
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from spatialeval.cli import main
from spatialeval.pipeline.config import RunSettings, config_from_dict, load_config, parse_assignment
from spatialeval.pipeline.registry import stage_classes
from spatialeval.pipeline.settings import invalid_examples


def _declared():
    """(section, field) for every setting: "" is the run's own section."""
    found = [("", item) for item in dataclasses.fields(RunSettings)]
    for name, cls in stage_classes().items():
        found += [(name, item) for item in dataclasses.fields(cls.Settings)]
    return found


SETTINGS = _declared()


@pytest.fixture(scope="module")
def example_pairs(tmp_path_factory, pairs_dir):
    """One bundled fixture pair in its own gt/ and infer/ folders."""
    import shutil

    root = tmp_path_factory.mktemp("one_pair")
    for side in ("gt", "infer"):
        (root / side).mkdir()
        shutil.copy(pairs_dir / side / "same.wav", root / side / "same.wav")
    return root


CASES = [(section, item.name, value) for section, item in SETTINGS for value in invalid_examples(item)]


def _nested(section: str, name: str, value):
    return {name: value} if not section else {section: {name: value}}


def _dotted(section: str, name: str) -> str:
    return f"{section}.{name}" if section else name


def test_every_setting_has_an_invalid_example_beyond_its_type():
    """A declared rule (or choices) for every setting, so none accepts any value of the right type."""
    only_type = []
    for section, item in SETTINGS:
        rules = item.metadata.get("rules", ())
        if not rules and item.metadata.get("choices") is None and item.type not in ("bool", "bool | None"):
            only_type.append(_dotted(section, item.name))
    assert not only_type, f"settings without a rule or choices: {only_type}"


@pytest.mark.parametrize("section,name,value", CASES, ids=[f"{_dotted(s, n)}={v!r}" for s, n, v in CASES])
def test_an_invalid_value_is_refused_when_the_config_is_built(section, name, value):
    with pytest.raises(ValueError, match=name):
        config_from_dict(_nested(section, name, value))


def _as_text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


CLI_CASES = [(section, item.name, invalid_examples(item)[0]) for section, item in SETTINGS]


@pytest.mark.parametrize("section,name,value", CLI_CASES, ids=[_dotted(s, n) for s, n, _ in CLI_CASES])
def test_the_cli_exits_2_naming_the_setting(section, name, value, tmp_path, capsys):
    """Nothing is evaluated: the folders do not even exist, and the message names the setting."""
    code = main(
        [
            "run",
            str(tmp_path / "gt"),
            str(tmp_path / "infer"),
            "--quiet",
            "--set",
            f"{_dotted(section, name)}={_as_text(value)}",
        ]
    )
    assert code == 2
    assert name in capsys.readouterr().err


def test_the_issue_examples_exit_2_at_config_time(example_pairs, capsys):
    """Before: segment_seconds=0.3 skipped the trajectory stage with exit 0; -1 made every pair unmeasurable."""
    for assignment, rule in (
        ("trajectory.segment_seconds=0.3", "must not exceed"),
        ("binaural_gen.max_length_difference_s=-1", "must be >= 0"),
        ("ffe.threshold=1.5", r"must lie in \(0, 1\]"),
    ):
        code = main(
            [
                "run",
                str(example_pairs / "gt"),
                str(example_pairs / "infer"),
                "--quiet",
                "--stages",
                "ffe",
                "--set",
                assignment,
            ]
        )
        assert code == 2
        assert rule.replace("\\", "") in capsys.readouterr().err.replace("\\", "")


# ----------------------------------------------------------------------------- item 8: --set by declared kind


def test_set_parses_a_str_setting_as_text_not_yaml():
    """Before: YAML turned `on` into True and device_kernels refused it ("not True")."""
    assert parse_assignment("device_kernels=on") == {"device_kernels": "on"}
    assert load_config(None, parse_assignment("device_kernels=off")).device_kernels == "off"
    assert parse_assignment("cer.compute_type=float16") == {"cer": {"compute_type": "float16"}}


@pytest.mark.parametrize(
    "text,expected",
    [
        ("true", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
    ],
)
def test_set_parses_bool_words(text, expected):
    assert parse_assignment(f"tf32={text}") == {"tf32": expected}


def test_set_parses_numbers_lists_and_null_strictly():
    assert parse_assignment("ffe.threshold=0.3") == {"ffe": {"threshold": 0.3}}
    assert parse_assignment("chunk_size=8") == {"chunk_size": 8}
    assert parse_assignment("stages=ffe,cues") == {"stages": ["ffe", "cues"]}
    assert parse_assignment("stages=[ffe, cues]") == {"stages": ["ffe", "cues"]}
    assert parse_assignment("bat.autocast=null") == {"bat": {"autocast": None}}
    for bad in ("chunk_size=8.5", "ffe.threshold=high", "tf32=maybe"):
        with pytest.raises(ValueError, match="--set"):
            parse_assignment(bad)


def test_cli_accepts_set_device_kernels_on():
    from spatialeval.cli import _run_config, build_parser

    args = build_parser().parse_args(["run", "gt", "infer", "--set", "device_kernels=on", "--set", "tf32=off"])
    config = _run_config(args)
    assert (config.device_kernels, config.tf32) == ("on", False)


def test_a_config_file_bool_for_a_str_choice_becomes_that_choice(tmp_path):
    """YAML 1.1 reads `device_kernels: on` as True: the one choice spelled `on` is meant."""
    path = tmp_path / "c.yaml"
    path.write_text("device_kernels: on\n", encoding="utf-8")
    assert yaml.safe_load(path.read_text()) == {"device_kernels": True}
    assert load_config(path).device_kernels == "on"
    path.write_text("device_kernels: off\n", encoding="utf-8")
    assert load_config(path).device_kernels == "off"


def test_a_config_file_bool_for_a_str_setting_without_such_choice_is_refused_clearly(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("cer:\n  compute_type: yes\n", encoding="utf-8")
    with pytest.raises(ValueError, match="quote the value"):
        load_config(path)


# ----------------------------------------------------------------------------- item 7: selection


@pytest.mark.parametrize("flag", ["--metrics", "--stages"])
def test_an_empty_selection_is_a_usage_error(flag, example_pairs, capsys):
    """Before: --metrics '' ran every default stage; --stages '' ran nothing; both exited 0."""
    code = main(["run", str(example_pairs / "gt"), str(example_pairs / "infer"), "--quiet", flag, ""])
    assert code == 2
    assert "is empty" in capsys.readouterr().err


@pytest.mark.parametrize(
    "selection", [["--metrics", "ang_cos"], ["--stages", "bat"], ["--metrics", "bat_trajectory_error_deg"]]
)
def test_a_named_metric_that_cannot_be_computed_exits_2_with_the_reason(
    selection, example_pairs, tmp_path, capsys, monkeypatch
):
    """Before: --metrics ang_cos without a checkpoint computed nothing and exited 0."""
    monkeypatch.delenv("SPATIALEVAL_CKPT", raising=False)
    monkeypatch.chdir(tmp_path)  # no ckpt/finetuned.pth here
    out = tmp_path / "out"
    code = main(
        ["run", str(example_pairs / "gt"), str(example_pairs / "infer"), "--quiet", "--out", str(out), *selection]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "cannot be computed" in err and "checkpoint" in err
    assert not (out / "items.jsonl").exists()  # stopped before any item


def test_default_stages_that_cannot_run_are_still_skipped():
    config = config_from_dict({})
    assert config.stages is None and config.named_metrics() == {}
    assert "bat" in config.active_stages()
