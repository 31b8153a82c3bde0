"""dark.study: the decoder study's numbers against analytic values (rounding, S-curves, the bound)."""

import math

import numpy as np
import pytest

from dark import codecs, study

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
    # the large-grid limit of the bound: var x = var y = 2 noise^2 / (pi A^2) (dark.study.theory's docstring)
    assert abs(bound / math.sqrt(2 * 2 * 0.05**2 / math.pi) - 1) < 1e-6
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


def test_subseed():
    assert study.subseed(1, 2.0, 0.05) == study.subseed(1, 2.0, 0.05) != study.subseed(1, 2.0, 0.1)


def test_predicted_error_is_the_rounding_law():
    assert study.predicted_error("unbiased", 4) == (0.0, 0.0)
    assert study.predicted_error("ceil", 4) == pytest.approx((0.5, math.sqrt(1 / 3)))
    assert study.predicted_error("floor", 8) == pytest.approx((-0.5, math.sqrt(1 / 3)))
    assert study.predicted_error("quantized", 8) == pytest.approx((0.0, math.sqrt(1 / 12)))  # 0.289 px
    assert study.predicted_error("quantized-heatmap", 4) == pytest.approx((0.0, 4 * math.sqrt(1 / 12)))
    assert study.predicted_error("random-heatmap", 4) == pytest.approx((0.0, 4 * math.sqrt(1 / 6)))


N_ORACLE = 3000


@pytest.fixture(scope="module")
def oracle():
    return study.oracle_table(decoders=["mle", "dark", "argmax"], n=N_ORACLE, seed=5).set_index(
        ["encoding", "decoder"]
    )


def test_oracle_table_matches_the_analytic_values(oracle):
    """An exact decoder (mle; dark on clean targets to ~0.005 input px) sees the target's own centre:
    its bias is within 5 standard errors (predicted_rms / sqrt(n)) of the prediction and its per-axis
    RMSE within 5 of the RMS estimator's (relative SE about 0.5 / sqrt(n), i.e. 0.9% at n = 3000)."""
    assert set(oracle.index.get_level_values(0)) == set(codecs.ENCODINGS)
    for (enc, dec), row in oracle[oracle.index.get_level_values(1) != "argmax"].iterrows():
        for axis in "xy":
            assert abs(row[f"bias_{axis}"] - row.predicted_bias) < 5 * row.se_bias + 0.005, (enc, dec, axis)
            tol = 5 * 0.5 / math.sqrt(N_ORACLE) * row.predicted_rms + 0.005
            assert abs(row[f"rmse_{axis}"] - row.predicted_rms) < tol, (enc, dec, axis)
    # the headline numbers of the ceil quantiser (input px): +0.5 per axis, RMS 0.577
    ceil = oracle.loc[("ceil", "mle")]
    assert ceil.predicted_bias == 0.5 and ceil.predicted_rms == pytest.approx(0.577, abs=1e-3)
    assert 0.45 < ceil.bias_x < 0.55 and 0.45 < ceil.bias_y < 0.55
    assert oracle.loc[("unbiased", "mle"), "rmse_x"] < 1e-4


def test_oracle_argmax_on_input_grid_targets_breaks_ties_low(oracle):
    """Input-grid targets sit on quarter heatmap px; argmax rounds the fractions 0, 1/4, 1/2, 3/4 to
    errors 0, -1/4, -1/2 (the tie goes to the first pixel), +1/4: bias -1/8 heatmap px = -stride/8 =
    -0.5 input px; for ceil targets the same rounding of a +0.5 px shifted centre gives bias 0."""
    se = oracle.loc[("quantized", "argmax"), "rmse_x"] / math.sqrt(N_ORACLE)
    for axis in "xy":
        assert abs(oracle.loc[("quantized", "argmax"), f"bias_{axis}"] + 0.5) < 5 * se
        assert abs(oracle.loc[("ceil", "argmax"), f"bias_{axis}"]) < 5 * se


def test_time_decoders_covers_every_decoder_and_extra():
    times = study.time_decoders(batch=2, joints=3, repeats=1, extra={"twice": lambda maps: maps * 2})
    assert set(times) == {"floor", "twice", *codecs.DECODERS}
    assert all(t >= 0 for t in times.values())
    assert study.make_batch(2, 3, (16, 12)).shape == (2, 3, 16, 12)


def test_plot_per_sigma_draws_a_line_per_decoder_and_the_bound():
    import matplotlib

    matplotlib.use("Agg")
    df = study.decoder_rmse(
        [1.0, 2.0], [0.0, 0.05, 0.1], trials=50, size=(24, 24), decoders=["argmax", "dark"]
    )
    colors = study.decoder_colors(["argmax", "dark", "mle"])
    assert colors["mle"] == "black" and colors["argmax"] != colors["dark"]
    fig = study.plot_per_sigma(df, "rmse", [1.0, 2.0], colors, "RMSE", bound="bound", reference=1.0)
    axes = fig.axes
    assert len(axes) == 2 and axes[0].get_title() == "sigma = 1 px"
    # the decoders by their labels
    assert [ln.get_label() for ln in axes[0].get_lines()][:3] == ["ArgMax", "DARK", "bound"]
    np.testing.assert_allclose(
        axes[1].get_lines()[0].get_ydata(),
        df[(df.sigma == 2.0) & (df.noise > 0) & (df.decoder == "argmax")].rmse,
    )


def test_argmax_within_is_the_area_of_the_disc_in_the_square():
    """The closed form against Monte Carlo points uniform on the square (an independent computation)."""
    pts = np.random.default_rng(0).uniform(-2.0, 2.0, (400_000, 2))
    for r in (1.0, 2.0, 2.3, 2.7, 3.0):
        mc = 100 * (np.hypot(pts[:, 0], pts[:, 1]) <= r).mean()
        assert study.argmax_within(r, 4.0) == pytest.approx(mc, abs=0.2), r


def test_resolution_floor_has_the_analytic_grid_errors():
    """Noiseless Gaussians far from the border: ArgMax's per-axis error is uniform over a pixel (RMSE
    stride / sqrt(12), at most stride / 2), Standard's a quarter pixel less (RMSE stride / sqrt(48), at most
    stride / 4), DARK's nearly none; ArgMax's PCKh is the closed form's within binomial noise."""
    n = 4000
    df = study.resolution_floor([(32, 64)], [2.3], noise_levels=[0.0], trials=n, margin=8.0, seed=1)
    row = df.set_index("decoder")
    assert row.loc["argmax", "rmse_axis"] == pytest.approx(4 / math.sqrt(12), rel=0.03)
    assert row.loc["standard", "rmse_axis"] == pytest.approx(4 / math.sqrt(48), rel=0.03)
    assert 1.95 < row.loc["argmax", "max_axis"] <= 2.0 and 0.95 < row.loc["standard", "max_axis"] <= 1.0
    assert row.loc["dark", "rmse_axis"] < 0.02 and row.loc["dark", "pckh"] == 100.0
    p = study.argmax_within(2.3, 4.0)
    assert abs(row.loc["argmax", "pckh"] - p) < 3 * 100 * math.sqrt(p / 100 * (1 - p / 100) / n)
    assert row.loc["standard", "pckh"] == 100.0  # its error never exceeds sqrt(2) px < 2.3
