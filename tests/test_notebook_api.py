"""The notebook example runs end to end and the top-level functions are the documented ones."""

from __future__ import annotations

import runpy
from pathlib import Path

import spatialeval


def test_notebook_example_runs(capsys):
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "docs" / "notebook_example.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert "ipd_mae" in printed and "doa_error_deg" in printed


def test_top_level_functions():
    for name in ("evaluate", "ipd_ild_mae", "isdrama_cosine", "cer", "wer", "ffe", "sim", "spatial_cue_errors"):
        assert callable(getattr(spatialeval, name)), name
