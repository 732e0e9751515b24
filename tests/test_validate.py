"""`spatialeval validate`: the metric sanity harness on its reduced (CI) sweep, SOFA input and its errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spatialeval.cli import main
from spatialeval.io.hrir import load_kemar
from spatialeval.metrics import sanity
from spatialeval.synth.scene import render

QUICK_METRICS = ("doa_error_deg", "ipd_mae")


@pytest.mark.slow
def test_quick_validation_from_the_cli(tmp_path, capsys):
    out = tmp_path / "validation"
    code = main(["validate", "--quick", "--metrics", ",".join(QUICK_METRICS), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    table_lines = [
        line.split()[0] for line in printed.splitlines() if line.split()[:1] and line.split()[0] in QUICK_METRICS
    ]
    assert table_lines == list(QUICK_METRICS)  # one row per selected metric, in order
    result = json.loads((out / "validation.json").read_text())
    assert set(result["table"]) == set(QUICK_METRICS)
    assert result["table"]["doa_error_deg"]["rho_azimuth"] > 0.8  # the cue DoA error follows the azimuth on KEMAR
    for metric, row in result["table"].items():
        for column, value in row.items():  # every statistic is a finite number, or n/a with a reason
            if value is None:
                assert result["reasons"][metric][column], (metric, column)
            else:
                assert math.isfinite(value), (metric, column)
    for column in ("lr_asymmetry", "floor_p95"):
        assert result["table"]["doa_error_deg"][column] is not None
    for metric in QUICK_METRICS:
        assert (out / f"validate_{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "validate.html").read_text()
    assert "Metric validation" in html and "data:image/png;base64," in html


def test_an_unreadable_hrir_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "head.sofa"
    bad.write_bytes(b"this is not a SOFA file")
    assert main(["validate", "--quick", "--hrir", str(bad)]) == 2
    message = capsys.readouterr().err
    assert "head.sofa" in message and "SOFA" in message
    assert main(["validate", "--quick", "--hrir", str(tmp_path / "missing.sofa")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_named_checkpoint_metric_without_checkpoint_is_a_usage_error(capsys):
    assert main(["validate", "--quick", "--metrics", "ang_cos"]) == 2
    assert "--ckpt" in capsys.readouterr().err


def test_sofa_round_trip_gives_the_shipped_kemar(tmp_path):
    sofar = pytest.importorskip("sofar")
    from spatialeval.io.hrir import load_sofa

    kemar = load_kemar()
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.Data_IR = np.transpose(kemar.hrir, (0, 2, 1))
    sofa.Data_SamplingRate = kemar.sample_rate
    sofa.SourcePosition = np.stack([kemar.azimuth_deg, kemar.elevation_deg, np.full(kemar.azimuth_deg.shape, 1.4)], 1)
    sofar.write_sofa(str(tmp_path / "kemar.sofa"), sofa)
    loaded, reference = load_sofa(tmp_path / "kemar.sofa", 32000), load_kemar(32000)
    np.testing.assert_allclose(loaded.hrir, reference.hrir, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loaded.azimuth_deg, reference.azimuth_deg, atol=1e-9)
    # receiver 0 on the right (negative y): the ears are swapped back to (left, right)
    sofa.ReceiverPosition = np.array([[0.0, -0.09, 0.0], [0.0, 0.09, 0.0]])[:, :, None]
    sofar.write_sofa(str(tmp_path / "swapped.sofa"), sofa)
    np.testing.assert_allclose(
        load_sofa(tmp_path / "swapped.sofa", 32000).hrir, reference.hrir[:, :, ::-1], rtol=1e-5, atol=1e-7
    )


def test_render_with_a_given_hrir_set_is_the_kemar_rendering():
    mono = np.random.default_rng(0).standard_normal(3200)
    own = render(mono, 32000, 35.0, 10.0, hrir_set=load_kemar(32000))
    assert np.array_equal(own, render(mono, 32000, 35.0, 10.0))  # the same lookup and convolution
    with pytest.raises(ValueError, match="hrir_set"):
        render(mono, 16000, 35.0, hrir_set=load_kemar(32000))


def test_statistics_are_oriented_so_that_worse_is_larger():
    change = [0.0, 10.0, 20.0, 30.0]
    similarity = [1.0, 0.9, 0.7, 0.2]  # higher is better: falling similarity is a metric that sees the change
    rho, _ = sanity.responsiveness(change, sanity.badness(similarity, higher_is_better=True))
    assert rho == pytest.approx(1.0)
    assert sanity.monotonicity(sanity.badness(similarity, True))[0] == 1.0
    assert sanity.monotonicity(similarity)[0] == 0.0
    assert math.isnan(sanity.responsiveness(change, [0.0] * 4)[0])  # a blind metric is n/a, not ρ = 0


def test_float32_rounding_along_a_sweep_is_not_a_response():
    import pandas as pd

    from spatialeval.pipeline.validate import metric_statistics

    rows = [("azimuth", d, s, 2.0 * d) for d in (0.0, 5.0, 10.0) for s in (("+",) if d == 0 else ("+", "-"))]
    rows += [("level", db, "", noise) for db, noise in zip((0.0, 6.0, 12.0, 18.0), (0.0, 3e-7, 1e-7, 4e-7))]
    rows += [("floor", 0.0, "", v) for v in (0.5, 1.0)]
    frame = pd.DataFrame(rows, columns=["sweep", "change", "side", "bad"]).assign(label=0.0, reason=None)
    stats, reasons = metric_statistics(frame)
    assert stats["rho_azimuth"] == pytest.approx(1.0)
    assert math.isnan(stats["rho_level"]) and reasons["rho_level"] == "constant along the sweep"
    assert stats["min_azimuth_deg"] == 5.0 and stats["lr_asymmetry"] == 0.0
