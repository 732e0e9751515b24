"""Shared test fixtures: the bundled fixture pairs and the seed-0 stand-in BAT checkpoint."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PAIRS = TESTS / "data" / "pairs"

# Scripts under tests/data make reference values in the released codes' environments (e.g. with torchaudio,
# which CI does not have); they are data provenance, not test modules, so --doctest-modules must not import them.
collect_ignore_glob = ["data/*"]


def shared_dir() -> Path | None:
    """The workplace's read-only shared/ folder beside the checkout, when present."""
    candidate = Path(os.environ.get("SPATIALEVAL_SHARED", TESTS.parents[1] / "shared"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def pairs_dir() -> Path:
    return PAIRS


@pytest.fixture(scope="session")
def expected() -> dict:
    return json.loads((PAIRS / "expected_isdrama.json").read_text())


def run_shared_dir(tmp_path_factory) -> Path:
    """A folder every process of this pytest run shares, and no other run: under xdist each worker's base
    temporary folder is a child of the run's, so the parent; without xdist the session's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def run_shared_file(tmp_path_factory, name: str, make: Callable[[Path], object]) -> Path:
    """``name`` in the run's shared folder, written by ``make(path)`` by the first process that asks.

    A file lock makes the other xdist workers wait for that one instead of writing it again; ``make`` writes
    to a temporary name that is renamed into place, so a file under ``name`` is always whole. Only for inputs
    that a test reads and never changes (the folder is shared).
    """
    from filelock import FileLock  # a dependency of torch

    folder = run_shared_dir(tmp_path_factory) / "shared-inputs"
    folder.mkdir(exist_ok=True)
    target = folder / name
    with FileLock(str(folder / f"{name}.lock")):
        if not target.is_file():
            partial = folder / f"{name}.partial-{os.getpid()}"
            make(partial)
            os.replace(partial, target)
    return target


@pytest.fixture(scope="session")
def test_checkpoint(tmp_path_factory) -> Path:
    """The project's own seed-0 stand-in for finetuned.pth (random weights, the real keys and shapes).

    Written once per run (about 350 MB, seconds of CPU) and read by every xdist worker; read-only for tests.
    """
    from spatialeval.models.standins.bat import write_test_checkpoint

    return run_shared_file(tmp_path_factory, "bat_seed0.pth", lambda path: write_test_checkpoint(path, seed=0))


@pytest.fixture(autouse=True)
def _no_ambient_checkpoint(monkeypatch):
    """Tests decide explicitly whether a checkpoint exists."""
    monkeypatch.delenv("SPATIALEVAL_CKPT", raising=False)
    monkeypatch.delenv("SPATIALEVAL_STEREOCRW_CKPT", raising=False)
