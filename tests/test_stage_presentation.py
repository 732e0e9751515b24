"""A stage declares what the report and the console show of it; `report/` and `display.py` name no stage."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "spatialeval"
#: The modules that render results for people: they may know the metric registry, never a stage.
PRESENTATION = sorted((PACKAGE / "report").glob("*.py")) + [PACKAGE / "pipeline" / "display.py"]
#: Words that are a stage's field names by coincidence, with the reason.
COINCIDENCES = {
    # the `spatialeval validate` table's column (pipeline/validate.py COLUMNS), not the cue stage's field
    ("validate.py", "front_back"),
}


def _stage_words(name: str, cls) -> re.Pattern:
    """The stage's name, its metric and extra field names as whole words, and any ``<name>_…`` identifier."""
    words = sorted({name, *cls.fields, *cls.extra_fields}, key=len, reverse=True)
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?!\w)|(?<![\w.]){re.escape(name)}_\w+")


def stage_knowledge_in(paths: list[Path]) -> list[str]:
    from spatialeval.pipeline.registry import BUILTIN_STAGES, stage_class

    found = []
    for name in BUILTIN_STAGES:
        pattern = _stage_words(name, stage_class(name))
        for path in paths:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in pattern.finditer(line):
                    if (path.name, match.group(0)) not in COINCIDENCES:
                        found.append(f"{path.name}:{number}: {match.group(0)!r} (stage {name})")
    return found


def test_report_and_console_name_no_stage():
    found = stage_knowledge_in(PRESENTATION)
    assert not found, "stage knowledge outside the stages (declare it on the Stage instead):\n" + "\n".join(found)


def test_the_scan_finds_stage_knowledge(tmp_path):
    leaky = tmp_path / "leaky.py"
    leaky.write_text('rows = [r for r in rows if "cues_track_gt" in r]  # the trajectory stage\nextra["cer_corpus"]\n')
    found = {line.split(": ", 1)[1] for line in stage_knowledge_in([leaky])}
    assert {
        "'trajectory' (stage trajectory)",
        "'cues_track_gt' (stage trajectory)",
        "'cer_corpus' (stage cer)",
    } <= found


@pytest.fixture
def peak_stage():
    from plugins import registered_stages
    from plugins.peak_metric import PeakStage

    with registered_stages(PeakStage):  # the one registration (register_stage), undone after the test
        yield PeakStage


def _pairs(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for item, gain in (("loud", 1.0), ("quiet", 0.25)):
        voice = 0.1 * rng.standard_normal((16000, 2))
        for side, scale in (("gt", 1.0), ("infer", gain)):
            (root / side).mkdir(parents=True, exist_ok=True)
            sf.write(root / side / f"{item}.wav", voice * scale, 16000, subtype="FLOAT")
    return root


def test_a_plugin_stage_gets_its_report_section_and_summary_lines(peak_stage, tmp_path):
    pytest.importorskip("matplotlib")
    from spatialeval.pipeline.display import format_report
    from spatialeval.pipeline.evaluate import evaluate
    from spatialeval.report import write_report

    root = _pairs(tmp_path)
    result = evaluate(root / "gt", root / "infer", {"stages": ["peak"]}, out_dir=tmp_path / "out")
    quiet = result.items.set_index("id").loc["quiet"]
    assert quiet["peak_diff_db"] == pytest.approx(20 * np.log10(4), rel=1e-5)

    written = write_report(tmp_path / "out", max_items=0)  # no IPD/ILD maps: only this stage's figure
    markdown = written["markdown"].read_text(encoding="utf-8")
    section = markdown[markdown.index("## Peak levels per item") :]
    assert (
        f"| `quiet` | {quiet['peak_gt_db']:.4g} | {quiet['peak_gen_db']:.4g} | {quiet['peak_diff_db']:.4g} |" in section
    )
    # the table comes before the distributions, the figure after them, saved and embedded like the report's own
    assert markdown.index("## Peak levels per item") < markdown.index("## Per-item distributions")
    assert markdown.index("## Per-item distributions") < markdown.index("## Peak differences")
    assert written["peaks:all"].name == "peaks_all.png" and written["peaks:all"].read_bytes()[:4] == b"\x89PNG"
    assert "![peak difference per item](peaks_all.png)" in markdown
    assert 'alt="peak difference per item" data-file="peaks_all.png"' in written["html"].read_text(encoding="utf-8")

    printed = format_report(result.summary)
    assert re.search(r"Peak diff \(largest item\) +12\.0412 +lower is better", printed)
    assert "peak: one item's peak differs by 12.0 dB" in printed


def test_a_section_of_unknown_blocks_is_refused(tmp_path):
    from spatialeval.pipeline.presentation import Section
    from spatialeval.report.build import _render

    with pytest.raises(TypeError, match="not a presentation block"):
        _render([Section("odd", ["a bare string"])], tmp_path, {})
