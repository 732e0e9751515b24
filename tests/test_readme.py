"""The README shows what the commands print, and its set-up commands are the ones CI runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = [sys.executable, "-m", "spatialeval.cli"]


def _block_after(command: str) -> str:
    """The text of the README's code block that starts with ``$ command``."""
    match = re.search(r"```\n\$ " + re.escape(command) + r"\n(.*?)\n```", README, flags=re.S)
    assert match, f"README has no example block for `{command}`"
    return match.group(1)


def test_readme_opens_with_the_two_setup_commands_and_ci_runs_the_second():
    block = re.search(r"```bash\n(.*?)\n```", README, flags=re.S).group(1).splitlines()
    assert len(block) == 2 and "spatialeval example example" in block[0] and block[1].endswith("pytest -q")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert block[1] in ci


@pytest.mark.slow
def test_readme_example_output_is_what_the_command_prints(tmp_path):
    env = {**os.environ, "SPATIALEVAL_CKPT": ""}  # the README's run has no BAT checkpoint
    subprocess.run([*CLI, "example", "example"], cwd=tmp_path, check=True, capture_output=True, env=env)
    run = subprocess.run(
        [*CLI, "run", "example/gt", "example/gen", "--out", "example/results", "--quiet"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    expected = _block_after("spatialeval run example/gt example/gen --out example/results")
    assert run.stdout.rstrip("\n") == expected, "update the README's example output"


def test_readme_metric_listing_is_what_the_command_prints():
    listing = subprocess.run([*CLI, "metrics"], check=True, capture_output=True, text=True).stdout
    assert listing.rstrip("\n") == _block_after("spatialeval metrics"), "update the README's metric listing"


def test_reliability_doc_holds_each_metrics_declared_degenerate_outcomes():
    from spatialeval.pipeline.display import format_degenerate_table

    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- degenerate-table -->\n(.*?)\n<!-- /degenerate-table -->", doc, flags=re.S)
    assert match, "docs/reliability.md has no <!-- degenerate-table --> section"
    assert match.group(1) == format_degenerate_table(), (
        "regenerate docs/reliability.md's table with `spatialeval metrics --degenerate`"
    )
