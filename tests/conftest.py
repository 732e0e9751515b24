"""Shared test fixtures: the bundled fixture pairs and the seed-0 stand-in BAT checkpoint."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PAIRS = TESTS / "data" / "pairs"


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


@pytest.fixture(scope="session")
def test_checkpoint(tmp_path_factory) -> Path:
    """The project's own seed-0 stand-in for finetuned.pth (random weights, the real keys and shapes)."""
    from spatialeval.models.standins.bat import write_test_checkpoint

    return write_test_checkpoint(tmp_path_factory.mktemp("ckpt") / "bat_seed0.pth", seed=0)


@pytest.fixture(autouse=True)
def _no_ambient_checkpoint(monkeypatch):
    """Tests decide explicitly whether a checkpoint exists."""
    monkeypatch.delenv("SPATIALEVAL_CKPT", raising=False)
    monkeypatch.delenv("SPATIALEVAL_STEREOCRW_CKPT", raising=False)
