"""The Markdown/HTML report: content, embedded plots, IPD/ILD maps, item selection and errors."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from spatialeval.report import ReportInputError, run_report, write_report  # noqa: E402
from spatialeval.report.maps import compute_maps, wrap_phase  # noqa: E402

PAIRS = Path(__file__).parent / "data" / "pairs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pair(name: str) -> dict[str, str]:
    return {"id": name, "gt": str(PAIRS / "gt" / f"{name}.wav"), "gen": str(PAIRS / "infer" / f"{name}.wav")}


def _make_results(directory: Path) -> Path:
    """A hand-written results directory in the `spatialeval run --out` layout."""
    rows = [
        {**_pair("az_shift_large"), "ipd_mae": 1.5e-4, "ild_mae": 1.6e-3, "ang_cos": 0.42, "cer": 0.08, "error": None},
        {**_pair("same"), "ipd_mae": 0.0, "ild_mae": 0.0, "ang_cos": 1.0, "cer": 0.0, "error": None},
        {**_pair("quieter"), "ipd_mae": 2.0e-5, "ild_mae": 1.0e-4, "ang_cos": 0.97, "cer": 0.05, "error": None},
        # The worst IPD, but its audio is gone: the report must say so instead of failing.
        {
            "id": "ghost",
            "gt": "gone/gt/ghost.wav",
            "gen": "gone/infer/ghost.wav",
            "ipd_mae": 9.0e-4,
            "ild_mae": 2.0e-4,
            "ang_cos": 0.9,
            "cer": 0.1,
            "error": None,
        },
        {
            **_pair("silent_infer"),
            "ipd_mae": None,
            "ild_mae": None,
            "ang_cos": None,
            "cer": None,
            "error": "load: clip is <silent> & empty",
        },
    ]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "items.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    valid = [row for row in rows if row["ipd_mae"] is not None]
    summary = {name: float(np.mean([row[name] for row in valid])) for name in ("ipd_mae", "ild_mae", "ang_cos", "cer")}
    summary.update(
        {
            "dis_cos": None,
            "protocol": "isdrama",
            "n_items": len(rows),
            "n_failed": 1,
            "failed_items": {"silent_infer": rows[-1]["error"]},
            "counts": {"ipd_mae": 4, "ild_mae": 4, "ang_cos": 4, "cer": 4},
            "extra": {"cer_corpus": 0.0625},
            "stages": {
                "interaural": {"status": "ran", "reason": "", "stft": "32 kHz, n_fft 1024, hop 320"},
                "bat": {"status": "ran", "reason": "", "checkpoint_sha256": "c0ffee" * 4},
                "cer": {"status": "ran", "reason": "", "backend": "pocketsphinx"},
                "sim": {"status": "skipped", "reason": "optional dependency missing: resemblyzer"},
            },
            "versions": {"spatialeval": "0.1.0", "torch": "2.13.0"},
            "config": {"protocol": "isdrama", "interaural": {"floor_db": 60.0}},
        }
    )
    (directory / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    results = _make_results(tmp_path_factory.mktemp("results"))
    written = write_report(results, max_items=2)
    return results, written


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_files_are_written_beside_each_other(report):
    results, written = report
    assert written["markdown"] == results / "report" / "report.md"
    assert written["html"].parent == written["markdown"].parent
    # Default selection: worst by ipd_mae (ghost, audio missing), then worst by ild_mae (az_shift_large).
    assert set(written) == {"markdown", "html", "distributions", "maps:az_shift_large"}
    for path in written.values():
        assert path.is_file() and path.stat().st_size > 500
        assert path.parent == written["markdown"].parent


def test_markdown_content(report):
    _, written = report
    text = written["markdown"].read_text(encoding="utf-8")
    for expected in (
        "| IPD MAE | `ipd_mae` | ↓ lower |",
        "| ANG Cos | `ang_cos` | ↑ higher |",
        "×100",
        "ISDrama units",
        "cer_corpus",
        "optional dependency missing: resemblyzer",
        "silent_infer",
        "clip is <silent> & empty",
        "c0ffeec0ffee",
        "torch",
        "![IPD/ILD maps of az_shift_large](maps_az_shift_large.png)",
        "](distributions.png)",
    ):
        assert expected in text, expected
    # The mean is printed on the table scale (×100 for IPD MAE): (1.5e-4 + 0 + 2e-5 + 9e-4) / 4 × 100.
    assert "| 0.02675 |" in text
    # The missing audio of the worst-IPD item is reported, not drawn.
    ghost = text[text.index("### `ghost`") :]
    assert "Maps skipped" in ghost.split("###")[1] and "gone/gt/ghost.wav" in ghost
    # dis_cos is in the summary as null: listed without a value.
    assert re.search(r"\| Dis Cos \| `dis_cos` \| ↑ higher \| — ", text)


def test_html_is_self_contained(report):
    _, written = report
    page = written["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for name in ("ipd_mae", "ild_mae", "ang_cos", "cer", "IPD MAE", "ILD MAE"):
        assert name in page
    assert "clip is &lt;silent&gt; &amp; empty" in page  # escaped, not raw markup
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)" data-file="([^"]*)"', page)
    assert len(images) == 2
    for data, _, filename in images:
        # Each embedded image is exactly the PNG saved beside the report.
        assert base64.b64decode(data) == (written["html"].parent / filename).read_bytes()
    assert 'src="distributions.png"' not in page and "<script" not in page


def test_pngs_are_valid_images_of_sensible_size(report):
    from matplotlib.image import imread

    _, written = report
    width, height = _png_size(written["distributions"].read_bytes())
    assert 700 <= width <= 2500 and 250 <= height <= 1500
    width, height = _png_size(written["maps:az_shift_large"].read_bytes())
    assert 1200 <= width <= 2500 and 600 <= height <= 1500
    pixels = imread(written["maps:az_shift_large"])[..., :3]
    saturation = pixels.max(axis=-1) - pixels.min(axis=-1)
    # The maps are drawn in colour (not an empty grey/white figure): a good share of saturated pixels.
    assert (saturation > 0.25).mean() > 0.10
    pixels = imread(written["distributions"])[..., :3]
    blue_dots = (pixels[..., 2] > 0.55) & (pixels[..., 0] < 0.45)
    red_mean_line = (pixels[..., 0] > 0.65) & (pixels[..., 1] < 0.45)
    assert blue_dots.sum() > 100 and red_mean_line.sum() > 100


def test_maps_of_identical_clips_have_zero_difference_and_a_mirrored_source_does_not():
    same = compute_maps(PAIRS / "gt" / "same.wav", PAIRS / "infer" / "same.wav")
    assert same.ipd_gt.shape == (513, same.ipd_diff.shape[1])
    assert np.isfinite(same.ipd_diff).mean() > 0.2  # the energy mask keeps the speech bins
    assert np.nanmax(np.abs(same.ipd_diff)) == 0 and np.nanmax(np.abs(same.ild_diff)) == 0
    mirrored = compute_maps(PAIRS / "gt" / "az_shift_large.wav", PAIRS / "infer" / "az_shift_large.wav")
    assert np.nanmean(np.abs(mirrored.ild_diff)) > 3.0  # dB: the level cue flips side
    assert np.nanmax(np.abs(mirrored.ipd_diff)) <= np.pi + 1e-6  # wrapped
    assert np.nanmean(mirrored.ild_gt) * np.nanmean(mirrored.ild_gen) < 0  # opposite sides
    assert np.allclose(wrap_phase(np.array([np.pi, -np.pi, 3 * np.pi])), np.pi)


def test_resampled_pair_is_drawn_at_32k(tmp_path):
    maps = compute_maps(PAIRS / "gt" / "rate_mixed.wav", PAIRS / "infer" / "rate_mixed.wav")  # 32 kHz vs 48 kHz
    assert maps.ipd_gen.shape[0] == 513 and maps.max_hz == 16000
    assert abs(maps.ipd_gt.shape[1] - maps.ipd_gen.shape[1]) <= 1 + abs(maps.seconds_gt - maps.seconds_gen) * 100


def test_chosen_items_and_unknown_ids(tmp_path, capsys):
    results = _make_results(tmp_path / "results")
    with pytest.raises(ReportInputError, match=r"'az_shift_larg'.*did you mean 'az_shift_large'"):
        write_report(results, items=["az_shift_larg"])
    written = write_report(results, out_dir=tmp_path / "only_tables", items=["ghost"])
    assert "maps:ghost" not in written and "Maps skipped" in written["markdown"].read_text(encoding="utf-8")
    assert run_report(results, tmp_path / "cli", items=["nope"]) == 2
    assert "not in" in capsys.readouterr().err
    assert run_report(tmp_path / "absent") == 2
    assert "not found" in capsys.readouterr().err


def test_report_without_items_file_or_maps(tmp_path):
    results = _make_results(tmp_path / "results")
    (results / "items.jsonl").unlink()
    written = write_report(results, max_items=0)
    assert set(written) == {"markdown", "html"}
    text = written["markdown"].read_text(encoding="utf-8")
    assert "No metric has a per-item value to plot." in text and "| 0.02675 |" in text


def test_importing_the_report_package_stays_light():
    code = (
        "import sys, spatialeval.report, spatialeval.check; "
        "print(sorted(m for m in ('matplotlib', 'torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).parents[1] / "src"), "PATH": ""},
    )
    assert out.stdout.strip() == "[]"
