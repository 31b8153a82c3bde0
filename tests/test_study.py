"""dark.study: the decoder study's numbers against analytic values (rounding, S-curves, the bound)."""

import math

import numpy as np
import pytest

from dark import study, theory

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_bias_curves_of_argmax_and_standard_are_the_analytic_s_curves():
    offsets = [-0.4, -0.3, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4]
    df = study.bias_curve(2.0, offsets, size=(32, 32), decoders=["argmax", "standard", "mle", "dark"])
    bias = df.pivot(index="offset", columns="decoder", values="bias")
    off = np.array(offsets)
    np.testing.assert_allclose(bias["argmax"], -off, atol=1e-12)  # rounds to the centre pixel
    # standard: argmax + 0.25 sign(offset)
    np.testing.assert_allclose(bias["standard"], 0.25 * np.sign(off) - off, atol=1e-12)
    np.testing.assert_allclose(bias["mle"], 0, atol=1e-6)
    assert np.abs(bias["dark"]).max() < 0.01


def test_decoder_rmse_noise_free_rounding_and_efficiency():
    df = study.decoder_rmse(
        [2.0], [0.0, 0.05], trials=1500, size=(32, 32), seed=3, decoders=["argmax", "mle"]
    )
    row = df.set_index(["noise", "decoder"])
    # argmax on uniform sub-pixel centres: rounding error uniform on [-0.5, 0.5) per axis
    assert abs(row.loc[(0.0, "argmax"), "rmse"] / math.sqrt(2 / 12) - 1) < 0.04
    assert row.loc[(0.0, "mle"), "rmse"] < 1e-5
    assert math.isnan(row.loc[(0.0, "mle"), "ratio"])
    bound = row.loc[(0.05, "mle"), "crlb_rmse"]
    assert abs(bound / math.sqrt(2 * theory.crlb_continuous(1.0, 0.05)) - 1) < 1e-6
    assert 0.93 < row.loc[(0.05, "mle"), "ratio"] < 1.05
    assert abs(row.loc[(0.05, "mle"), "bias_x"]) < 4 * bound / math.sqrt(2 * 1500)
    # a setting's numbers do not depend on the others run with it
    alone = study.decoder_rmse([2.0], [0.05], trials=1500, size=(32, 32), seed=3, decoders=["mle"])
    assert alone["rmse"].iloc[0] == row.loc[(0.05, "mle"), "rmse"]


def test_correlated_noise_changes_the_errors():
    kw = dict(trials=600, size=(32, 32), seed=1, decoders=["mle"])
    white = study.decoder_rmse([1.5], [0.1], **kw)["rmse"].iloc[0]
    corr = study.decoder_rmse([1.5], [0.1], correlation=1.0, **kw)["rmse"].iloc[0]
    assert corr > 1.2 * white  # smooth noise looks like signal: fewer independent pixels


def test_quantisation_error_matches_uniform_rounding():
    df = study.quantisation_error(1000, seed=0, stride=4, size=(24, 40)).set_index("encoding")
    assert df.loc["unbiased", "rmse"] < 1e-5
    for enc in ("quantised, heatmap grid", "quantised, input grid"):
        assert abs(df.loc[enc, "rmse"] / df.loc[enc, "analytic"] - 1) < 0.04
    assert df.loc["quantised, input grid", "analytic"] == pytest.approx(0.25 * math.sqrt(2 / 12))


def test_kernel_sensitivity_and_threshold_curve_shapes():
    ks = study.kernel_sensitivity([2.0], [3, 11], [0.0], trials=200, size=(32, 32), seed=0)
    assert ks["matched"].tolist() == [False, True]
    assert ks.set_index("kernel_size").loc[11, "rmse"] < 0.01
    th = study.threshold_curve(1.0, [0.05], trials=200, size=(32, 32), seed=0)
    assert set(th["decoder"]) == {"mle (argmax start)", "mle (matched-filter start)", "dark", "argmax"}
    assert (th["gross_rate"] >= 0).all() and (th["gross_rate"] <= 1).all()


def test_subseed_and_load_benchmark(tmp_path):
    assert study.subseed(1, 2.0, 0.05) == study.subseed(1, 2.0, 0.05) != study.subseed(1, 2.0, 0.1)
    assert study.load_benchmark(tmp_path) is None
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "decode.py").write_text("def time_decoders():\n    return 42\n")
    assert study.load_benchmark(tmp_path).time_decoders() == 42
