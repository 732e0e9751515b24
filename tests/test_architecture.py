"""The package's structure: imports point one way, and a metric or a backend is one module plus one registration."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spatialeval"

# io → features → metrics → models → pipeline → cli (+ report, check). `errors` is below everything;
# the test/example-audio generators (synth*) and the example writer sit beside metrics: they may use
# io/features/metrics, and only the command line and the tools above may use them.
LAYERS = {
    "_version": 0,
    "errors": 0,
    "names": 0,
    "numbers": 0,
    "precision": 0.5,
    "io": 1,
    "features": 2,
    "metrics": 3,
    "synth": 3.5,
    "example": 3.5,
    "models": 4,
    "pipeline": 5,
    "training": 5,
    "tensor": 5,  # deprecated alias of training
    "torchmetrics_compat": 5.5,
    "report": 6,
    "check": 6,
    "cli": 7,
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
                violations.append(
                    f"{relative}.py:{line} ({module}, layer {own}) imports {imported} (layer {_layer(imported)})"
                )
    assert not violations, "imports pointing up the layers:\n" + "\n".join(violations)


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from spatialeval.pipeline.stages.base import StageUnavailable\n")
    assert _imports(bad) == [(2, "spatialeval.pipeline.stages.base")]
    assert _layer("spatialeval.pipeline.stages.base") > _layer("spatialeval.models.asr")


#: Import cycles inside a sub-package that predate the cycle test (each a lazy import inside a function);
#: a new cycle, or a larger one, fails it.
TOLERATED_CYCLES = {
    "synth": [{"spatialeval.synth.heads", "spatialeval.synth.reverb", "spatialeval.synth.scene"}],
}


def _module_name(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def _import_cycles(files: list[Path], root: Path = PACKAGE.parent) -> list[set[str]]:
    """The import cycles among ``files`` (strongly connected groups of two or more modules; ``root`` is the
    folder that holds ``spatialeval``), counting imports inside functions too: a lazy import avoids the
    load-time error, not the knot."""
    graph: dict[str, set[str]] = {_module_name(path, root): set() for path in files}
    for path in files:
        module = _module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{alias.name}" for alias in node.names]  # a submodule, or a name in one
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                while parts and ".".join(parts) not in graph:
                    parts.pop()
                if parts and ".".join(parts) != module:
                    graph[module].add(".".join(parts))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = {stack.pop()}
            while node not in group:
                group.add(stack.pop())
            if len(group) > 1:
                cycles.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()))
def test_no_import_cycles_inside_a_sub_package(package):
    cycles = _import_cycles(sorted((PACKAGE / package).rglob("*.py")))
    new = [sorted(cycle) for cycle in cycles if not any(cycle <= known for known in TOLERATED_CYCLES.get(package, []))]
    assert not new, f"import cycles inside spatialeval.{package}: {new}"


def test_the_cycle_rule_catches_a_lazy_import_cycle(tmp_path):
    package = tmp_path / "spatialeval" / "pkg"
    package.mkdir(parents=True)
    (package / "a.py").write_text("from spatialeval.pkg.b import B\n")
    (package / "b.py").write_text("def f():\n    from spatialeval.pkg import a\n")
    (package / "c.py").write_text("from spatialeval.pkg.a import B\n")
    cycles = _import_cycles(sorted(package.glob("*.py")), root=tmp_path)
    assert cycles == [{"spatialeval.pkg.a", "spatialeval.pkg.b"}]


def test_scripts_import_only_what_the_package_has():
    """The benchmark and data scripts import the library inside functions, where a renamed or moved
    module would only fail when that code path runs; resolve every such import here."""
    import importlib

    def guarded(tree: ast.AST) -> set[int]:
        """Imports inside ``try: … except ImportError:`` (a deliberate fallback, e.g. for older checkouts)."""
        ids = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers
            ):
                ids |= {
                    id(inner)
                    for part in (node.body, *(h.body for h in node.handlers))
                    for statement in part
                    for inner in ast.walk(statement)
                }
        return ids

    missing = []
    for path in sorted((PACKAGE.parents[1] / "scripts").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = guarded(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("spatialeval")
                and id(node) not in optional
            ):
                try:
                    module = importlib.import_module(node.module)
                except ImportError as exc:
                    missing.append(f"{path.name}:{node.lineno}: {node.module} ({exc})")
                    continue
                missing += [
                    f"{path.name}:{node.lineno}: {node.module}.{alias.name}"
                    for alias in node.names
                    if not hasattr(module, alias.name)
                    and not (
                        hasattr(module, "__path__")  # a submodule of a package
                        and importlib.util.find_spec(f"{node.module}.{alias.name}")
                    )
                ]
    assert not missing, "scripts import names the package does not have:\n" + "\n".join(missing)


def test_building_the_parser_and_the_default_config_imports_no_torch():
    """Stage and backend modules are light (their heavy imports happen inside methods), so the CLI's
    parser and the default configuration are built without importing torch (~2 s)."""
    code = (
        "import sys, spatialeval.cli as cli; cli.build_parser(); "
        "from spatialeval.pipeline.config import EvalConfig; EvalConfig(); "
        "import json; print(json.dumps(sorted(m for m in ('torch', 'scipy', 'transformers') if m in sys.modules)))"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE.parent), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    heavy = json.loads(out.stdout)
    assert "torch" not in heavy, f"building the parser and EvalConfig() imported {heavy}"


# --------------------------------------------------------------------------- extension points


def _pairs(root: Path) -> Path:
    from spatialeval.synth import spatialize, speech_like

    voice = 0.4 * spatialize(speech_like(1.0, 16000, seed=3), 16000, 30.0)
    for side, gain in (("gt", 1.0), ("infer", 0.5)):
        (root / side).mkdir(parents=True)
        sf.write(root / side / "a.wav", voice * gain, 16000, subtype="PCM_16")
    (root / "gt" / "a.txt").write_text("hello there world")
    return root


@pytest.fixture
def level_metric():
    from plugins import registered_stages
    from plugins.level_metric import LevelStage

    with registered_stages(LevelStage):  # the one registration (register_stage), undone after the test
        yield LevelStage


def test_a_new_metric_is_one_module_plus_one_registration(level_metric, tmp_path, capsys):
    from spatialeval.cli import main
    from spatialeval.pipeline.config import EvalConfig, load_config
    from spatialeval.pipeline.registry import METRICS

    # config: the stage's settings are a section of the configuration tree, with its default
    assert EvalConfig().level.floor_db == -100.0
    assert load_config(None, {"level": {"floor_db": -80}}).level.floor_db == -80
    # CLI: its flag and its metric exist; `spatialeval metrics` lists it
    assert "--level-floor-db" in _run_help()
    assert METRICS["level_diff_db"].direction == "lower"
    assert main(["metrics"]) == 0 and "level_diff_db" in capsys.readouterr().out
    # run by metric name, a setting through its flag and one through --set: the summary holds the mean
    root = _pairs(tmp_path)
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(root / "gt"),
                str(root / "infer"),
                "--metrics",
                "level_diff_db",
                "--level-floor-db",
                "-90",
                "--set",
                "level.floor_db=-95",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["level_diff_db"] == pytest.approx(20 * np.log10(2), abs=1e-3) and "Level diff" in printed
    assert summary["config"]["level"]["floor_db"] == -95 and summary["stages"]["level"]["floor_db"] == -95
    # check: the metric is gated in its direction
    worse = dict(summary, level_diff_db=summary["level_diff_db"] - 1.0)
    (tmp_path / "baseline.json").write_text(json.dumps(worse))
    assert main(["check", str(out), "--baseline", str(tmp_path / "baseline.json")]) == 1
    assert "level_diff_db" in capsys.readouterr().out
    assert main(["check", str(out), "--baseline", str(out), "--tol", "level_diff_db=0"]) == 0


def test_a_plugin_stage_with_inputs_of_its_own_resumes(tmp_path):
    """A stage whose numbers depend on another input declares the keys of its input_identity: a rerun
    reuses its rows while that input is unchanged and recomputes them when it changes."""
    import hashlib

    from plugins import registered_stages
    from plugins.level_metric import LevelStage

    from spatialeval.metrics.registry import MetricInfo
    from spatialeval.pipeline.evaluate import evaluate

    calibration = tmp_path / "calibration.txt"
    calibration.write_text("0 dB")
    computed = []

    class CalibratedLevel(LevelStage):
        name = "calibrated_level"
        metrics = (
            MetricInfo(
                "calibrated_level_db",
                "Calibrated level",
                "calibrated_level",
                False,
                "level difference after a calibration file",
                unit="dB",
            ),
        )
        identity_fields = ("calibration_sha256",)

        def input_identity(self, pair):
            return {"calibration_sha256": hashlib.sha256(calibration.read_bytes()).hexdigest()}

        def compute_one(self, item):
            computed.append(item.id)
            return {"calibrated_level_db": 1.0}

    with registered_stages(CalibratedLevel):
        root, out = _pairs(tmp_path), tmp_path / "out"
        config = {"stages": ["calibrated_level"]}
        evaluate(root / "gt", root / "infer", config, out_dir=out)
        again = evaluate(root / "gt", root / "infer", config, out_dir=out)
        assert computed == ["a"] and again.summary["run"]["resume"]["reused"] == 1
        calibration.write_text("+3 dB")
        changed = evaluate(root / "gt", root / "infer", config, out_dir=out)
        assert computed == ["a", "a"] and changed.summary["run"]["resume"]["recomputed_changed"] == ["a"]


def _run_help() -> str:
    from spatialeval.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sub.choices["run"].format_help()


@pytest.fixture
def echo_backend():
    from plugins.echo_asr import EchoASR

    from spatialeval.models.registry import ASR_BACKENDS

    ASR_BACKENDS.register("echo", EchoASR)  # the one registration
    yield EchoASR
    ASR_BACKENDS.unregister("echo")


def test_a_new_asr_backend_is_one_class_plus_one_registration(echo_backend, tmp_path, capsys):
    from spatialeval.cli import main
    from spatialeval.pipeline.config import config_from_dict

    assert "echo" in _run_help()  # a CLI choice
    assert config_from_dict({"cer": {"backend": "echo"}}).cer.backend == "echo"  # a valid setting
    root = _pairs(tmp_path)
    out = tmp_path / "out"
    assert (
        main(
            [
                "run",
                str(root / "gt"),
                str(root / "infer"),
                "--stages",
                "cer",
                "--cer-backend",
                "echo",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"]["cer"]["asr"]["backend"] == "echo"
    assert summary["wer"] == pytest.approx(1 / 3)  # "hello world" vs "hello there world"
    baseline = dict(summary, wer=0.0)
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    assert main(["check", str(out), "--baseline", str(tmp_path / "baseline.json")]) == 1
    capsys.readouterr()


def test_default_config_file_is_the_code_defaults_and_every_config_loads():
    from spatialeval.pipeline.config import EvalConfig, default_config_yaml, load_config

    configs = Path(__file__).resolve().parents[1] / "configs"
    assert (configs / "default.yaml").read_text(encoding="utf-8") == default_config_yaml(), (
        "regenerate it: spatialeval config > configs/default.yaml"
    )
    assert load_config(configs / "default.yaml").to_dict() == EvalConfig().to_dict()
    for path in sorted(configs.glob("*.yaml")):
        if path.name != "tolerances.yaml":
            load_config(path)  # every shipped config is valid


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_the_code_passes_the_linter(command):
    """ruff (pinned in the test extra; rules in pyproject.toml: pyflakes, pycodestyle, import order, layout).

    .ci/run runs the same two commands before the tests; this keeps a local ``pytest`` honest too."""
    import shutil

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    root = PACKAGE.parents[1]
    result = subprocess.run([ruff, *command, "--no-cache"], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
