"""dark.experiment.evaluate: decoding rendered heatmaps with known centres, scoring, model-vs-model, the
CLI."""

import json

import numpy as np
import pytest
import torch
from fakes import write_trained

from dark import codecs, metrics
from dark.data.dataset import prepare_input
from dark.experiment import evaluate, evaluate_cli, runs

H, W, K = 40, 80, 4  # 4 joints: the per-axis PCKh needs the head joints 2 and 3


def _render(coords_input, stride=4.0, sigma=2.0, noise=0.0, seed=0):
    """Gaussian heatmaps (N, K, 40, 80) centred on the joints, from input px, plus white noise."""
    hm_xy = torch.as_tensor(coords_input, dtype=torch.float64) / stride
    maps = codecs.encode(hm_xy, size=(H, W), sigma=sigma, method="unbiased")
    if noise:
        maps = maps + noise * torch.randn(
            maps.shape, generator=torch.Generator().manual_seed(seed), dtype=maps.dtype
        )
    return maps.numpy().astype(np.float16)


def _joints(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(40, 280, (n, K)), rng.uniform(30, 130, (n, K))], axis=-1)


def test_decode_heatmaps_maps_to_input_px():
    gt = _joints(20)
    hms = _render(gt)
    cfg = {"sigma": 2.0, "heatmap_stride": 4, "scaling": "stride"}
    out = evaluate.decode_heatmaps(hms, cfg, ["argmax", "dark"], device="cpu", batch_size=7)
    assert set(out) == {"argmax", "dark"} and out["dark"].shape == (20, K, 2)
    # argmax: the nearest heatmap pixel centre (independent computation), times the stride
    np.testing.assert_allclose(out["argmax"], np.floor(gt / 4 + 0.5) * 4)
    # DARK on clean Gaussians recovers the centre (float16 storage limits it to ~1e-2 input px)
    np.testing.assert_allclose(out["dark"], gt, atol=0.05)


def test_decode_heatmaps_udp_and_bad_shape():
    gt = _joints(5)
    hm_xy = codecs.to_heatmap(torch.as_tensor(gt), scaling="udp", input_size=(160, 320), heatmap_size=(H, W))
    hms = codecs.encode(hm_xy, size=(H, W), sigma=2.0).numpy()
    cfg = {"sigma": 2.0, "heatmap_stride": 4, "scaling": "udp"}
    out = evaluate.decode_heatmaps(hms, cfg, ["dark"], device="cpu")
    np.testing.assert_allclose(out["dark"], gt, atol=0.01)
    with pytest.raises(ValueError, match=r"\(N, K, h, w\)"):
        evaluate.decode_heatmaps(hms[0], cfg)


def test_decode_heatmaps_every_decoder_and_stride_8():
    gt = _joints(4)
    hms = _render(gt, stride=8.0)  # a half-resolution network: 8 input px per heatmap px
    out = evaluate.decode_heatmaps(hms, {"sigma": 2.0, "heatmap_stride": 8}, device="cpu")
    assert tuple(out) == tuple(codecs.DECODERS)
    for d, xy in out.items():
        ref, _ = codecs.decode(torch.from_numpy(hms.astype(np.float32)), d, sigma=2.0)
        np.testing.assert_allclose(xy, ref.double().numpy() * 8, atol=1e-6, err_msg=d)


def test_score_structure_and_values():
    gt = _joints(30, seed=1)
    vis = np.ones((30, K), bool)
    hs = np.full(30, 20.0)
    preds = {"dark": gt + 1.0, "argmax": gt + 3.0}  # errors sqrt(2) and 3 sqrt(2)
    groups = np.repeat(np.arange(10), 3)
    r = evaluate.score(preds, gt, vis, hs, groups=groups, n_resamples=200)
    assert r["decoders"]["dark"]["metrics"]["rmse"]["value"] == pytest.approx(np.sqrt(2))
    assert r["decoders"]["argmax"]["metrics"]["pckh@0.1"]["value"] == 0.0  # 4.24 > 2
    assert r["decoders"]["dark"]["metrics"]["pckh@0.1"]["value"] == 100.0
    d = r["differences"]["dark-argmax"]["mean_error"]
    assert d["value"] == pytest.approx(-2 * np.sqrt(2)) and d["low"] == pytest.approx(d["high"])
    assert r["decoders"]["dark"]["per_joint"]["mean_error"] == pytest.approx([np.sqrt(2)] * K)
    curve = r["decoders"]["argmax"]["pckh_curve"]
    assert len(curve) == len(evaluate.CURVE_ALPHAS) and curve[0] == 0.0 and curve[-1] == 100.0


def test_cli_errors(tmp_path, capsys):
    assert evaluate_cli.cli(["--run", str(tmp_path / "nope"), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err


def test_model_input_is_normalised_area_averaged_and_channels_last():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    torch.testing.assert_close(prepare_input(x, (4, 4)), x)
    np.testing.assert_allclose(prepare_input(x, (2, 2))[0, 0].numpy(), [[2.5, 4.5], [10.5, 12.5]])
    raw = torch.tensor([[[[0, 10000], [20000, 65535]]]], dtype=torch.uint16)  # 0.1 mm; 0 = no depth
    y = prepare_input(raw, (2, 2))
    np.testing.assert_allclose(y[0, 0].numpy(), [[0, 1 - 1 / 6.5535], [1 - 2 / 6.5535, 0]], atol=1e-6)
    assert prepare_input(x.expand(2, 3, 4, 4), (2, 2)).is_contiguous(memory_format=torch.channels_last)


class _OracleModel(torch.nn.Module):
    """Stands in for a trained network: returns the test split's true heatmaps, in the loader's order
    (two 'stacks'; the last one is the real output), and counts the images it has seen."""

    def __init__(self, maps):
        super().__init__()
        self.maps, self.seen = maps, 0

    def forward(self, x):
        out = self.maps[self.seen : self.seen + len(x)]
        self.seen += len(x)
        return [torch.zeros_like(out), out]


@pytest.fixture(scope="module")
def smoke_data(tmp_path_factory):
    from dark.data.synth import render_dataset

    return render_dataset(tmp_path_factory.mktemp("data") / "smoke", profile="smoke", seed=3, progress=False)


def test_evaluate_end_to_end_with_an_oracle_model(smoke_data, tmp_path, monkeypatch):
    from dark.data import open_split

    test = open_split(smoke_data, "test")
    gt = np.stack([s.joints for s in test])
    vis = np.stack([s.visible for s in test])
    maps = codecs.encode(torch.as_tensor(gt / 4), size=(H, W), sigma=2.0).float()
    model = _OracleModel(maps)
    config = runs.RunConfig.resolve("sh", "unbiased", "full", precision="fp32")
    assert (config.input_size, config.heatmap_size, config.heatmap_stride) == ((160, 320), (H, W), 4)
    history = [{"epoch": 1, "val_pckh@0.5": 50.0}, {"epoch": 2, "val_pckh@0.5": 55.0},
               {"epoch": 3, "val_pckh@0.5": 54.0}]  # fmt: skip
    run = write_trained(
        tmp_path, "sh", "unbiased", config.seed, profile="full", precision="fp32", name="run", history=history
    )
    (run / "last.pt").write_bytes(b"weights v1")  # the evaluated checkpoint: the last epoch
    (run / "best.pt").write_bytes(b"best weights")
    trained = runs.Trained(model, config, 3)
    asked = []
    monkeypatch.setattr(
        runs, "load_model", lambda run_dir, which="best", device="cpu": asked.append(which) or trained
    )

    assert (
        evaluate_cli.cli(["--run", str(run), "--data", str(smoke_data), "--quiet", "--resamples", "200"]) == 0
    )
    ev = json.loads((run / "evaluation.json").read_text())
    assert model.seen == len(test)
    hm = np.load(run / "heatmaps_test.npy")
    assert hm.dtype == np.float16 and hm.shape == (len(test), 18, H, W)
    # DARK on exact Gaussians (stored in float16) is exact to ~0.05 px at least 8 px from the border (its
    # blur window fits); ArgMax rounds to the 4-px grid (independent computation)
    p = evaluate.load_predictions(run)
    names = p["decoders"].tolist()
    inside = vis & np.all((gt / 4 >= 8) & (gt / 4 <= np.array([W - 9, H - 9])), axis=-1)
    assert inside.sum() > 100
    err = metrics.joint_errors(p["coords"][names.index("dark")], gt)
    assert err[inside].max() < 0.05
    am = p["coords"][names.index("argmax")][inside]
    assert np.all(am % 4 == 0) and np.abs(am - gt[inside]).max() <= 2.01  # float16 ties near +-2
    assert np.mean(np.all(am == (np.floor(gt / 4 + 0.5) * 4)[inside], axis=-1)) > 0.98
    np.testing.assert_array_equal(p["gt"], gt)
    rmse_dark = metrics.rmse(p["coords"][names.index("dark")], gt, vis)
    assert ev["decoders"]["dark"]["metrics"]["rmse"]["value"] == pytest.approx(rmse_dark, rel=1e-5)
    assert ev["data"]["samples"] == len(test) and ev["data"]["frames"] == len(test) // 4
    assert set(ev["decoders"]) == set(codecs.DECODERS)
    assert ev["differences"]["dark-argmax"]["rmse"]["high"] < 0
    csv = (run / "evaluation.csv").read_text().splitlines()
    assert len(csv) == 1 + len(codecs.DECODERS) and csv[0].startswith("decoder,pckh@0.1,")

    # the bias probe: signed mean and median error (independent computation), with intervals
    dark_xy = p["coords"][names.index("dark")]
    mean = (dark_xy - gt)[vis].mean(0)
    for axis, value in zip(("bias_x", "bias_y"), mean, strict=True):
        iv = ev["decoders"]["dark"]["metrics"][axis]
        assert iv["value"] == pytest.approx(value, abs=1e-6) and iv["low"] <= iv["value"] <= iv["high"]
    assert ev["decoders"]["dark"]["median_bias"] == pytest.approx(np.median((dark_xy - gt)[vis], 0), abs=1e-6)
    assert ev["format"] == evaluate.FORMAT and ev["run"]["encoding"] == "unbiased"
    assert (ev["run"]["profile"], ev["run"]["config_name"], ev["run"]["grid"]) == ("full", "full", None)
    # the last epoch is evaluated; the best epochs by our rule and the report's are beside it (no per-axis
    # validation scores in this history: the report's rule is None)
    assert asked == ["last"] and ev["run"]["checkpoint"] == "last" and ev["run"]["epoch"] == 3
    assert (
        ev["run"]["epochs_by_rule"] == {"last": 3, "ours": 2, "report": None} and ev["run"]["best_epoch"] == 2
    )
    assert (
        ev["run"]["validation_by_rule"]["ours"]["pckh@0.5"] == 55.0
        and ev["run"]["validation_by_rule"]["report"] is None
    )
    assert evaluate.evaluated_checkpoint(ev) == "last"
    assert json.loads((run / "heatmaps_test.json").read_text())["epoch"] == 3
    # frame sums: sorted frame labels, one (G, C) table per decoder that adds up to the metrics, and the
    # cluster of each frame (a placement of a test clip: synth.clusters); the intervals resample clusters
    fs = runs.Run(run).frame_sums()
    assert fs["groups"].tolist() == sorted(set(f"{s.subject}/{s.activity}/{s.frame}" for s in test))
    with np.load(run / "frame_sums.npz") as z:
        frame_clusters = z["clusters"]
    from dark.data.synth import clusters

    view_clusters = clusters(test)
    by_frame = {f"{s.subject}/{s.activity}/{s.frame}": c for s, c in zip(test, view_clusters, strict=True)}
    assert frame_clusters.tolist() == [by_frame[g] for g in fs["groups"].tolist()]
    assert len(set(frame_clusters.tolist())) == len(set(view_clusters.tolist())) > 1
    assert ev["bootstrap"]["unit"].startswith("test clusters")
    assert set(fs["decoders"]) == set(codecs.DECODERS)
    total = fs["decoders"]["argmax"].sum(0)
    col = {c: i for i, c in enumerate(fs["columns"].tolist())}
    am_all = p["coords"][names.index("argmax")]
    assert total[col["n"]] == vis.sum()
    assert total[col["dx"]] == pytest.approx(np.where(vis, am_all[..., 0] - gt[..., 0], 0).sum(), rel=1e-6)
    assert np.sqrt(total[col["sq_error"]] / total[col["n"]]) == pytest.approx(
        ev["decoders"]["argmax"]["metrics"]["rmse"]["value"], rel=1e-9
    )

    # up to date: nothing is recomputed or rewritten; force=True predicts again
    stamp = (run / "evaluation.json").stat().st_mtime_ns
    assert evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False) == ev
    assert (run / "evaluation.json").stat().st_mtime_ns == stamp and model.seen == len(test)
    model.seen = 0
    evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False, force=True)
    assert model.seen == len(test)
    # a subset of decoders decodes the cached heatmaps again (the model is not called again)
    evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False, decoders=["dark"])
    assert model.seen == len(test)
    # a new best.pt is not what is evaluated: the cache stays
    (run / "best.pt").write_bytes(b"other best weights")
    evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False, decoders=["dark"])
    assert model.seen == len(test)
    # a new last.pt invalidates the cache
    (run / "last.pt").write_bytes(b"weights v2")
    model.seen = 0
    evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False, decoders=["dark"])
    assert model.seen == len(test)
    assert not list(run.glob("*.tmp"))
    # the sample browser over this evaluated run shows what the codecs give on its cached heatmaps
    from dark.book.widgets.samples import SampleBrowser, expected

    b = SampleBrowser.from_run(run, smoke_data, samples=6, seed=0)
    assert len(b.data["indices"]) == 6 and b.data["names"][0].startswith("S4/")
    b.sample = 2
    e = expected(b.data, 2, b.joint)
    for name, xy in e.items():
        np.testing.assert_allclose(b.estimates[name], xy, atol=1e-9)
        np.testing.assert_allclose(
            b.data["estimates"][2][b.joint][b.data["decoders"].index(name)], xy, atol=1e-6
        )


# --- the report's instrument: standard_report batches, pred_visible, per-axis PCKh (issue 18) ------------


def test_decode_predictions_runs_standard_report_on_report_batches_in_order():
    from dark.experiment.decoding import decode_predictions

    gt = _joints(37, seed=4)
    hms = _render(gt, noise=0.02, seed=1)
    cfg = {"sigma": 2.0, "heatmap_stride": 4, "scaling": "stride"}
    for report_batch, batch_size in ((16, 256), (4, 7), (24, 10)):
        out = decode_predictions(hms, cfg, ["standard_report", "dark"], batch_size=batch_size,
                                 report_batch=report_batch)  # fmt: skip
        t = torch.from_numpy(hms.astype(np.float32))
        expect = np.concatenate([codecs.decode(t[i : i + report_batch], "standard_report")[0].double().numpy()
                                 for i in range(0, len(t), report_batch)])  # fmt: skip
        np.testing.assert_allclose(out.coords["standard_report"], 4 * expect, atol=1e-9)
        assert out.report_batch == report_batch
        for d, xy in out.coords.items():  # the report's rule at each decoder's own heatmap coordinates
            np.testing.assert_array_equal(
                out.pred_visible[d], codecs.report_visibility(hms, xy / 4, stride=4)
            )
    # batch 1 and the whole set differ (the norm runs over the batch): the batch is not a detail
    one = decode_predictions(hms, cfg, ["standard_report"], report_batch=1).coords["standard_report"]
    assert np.abs(one - out.coords["standard_report"]).max() > 0.1
    # clean Gaussians of peak 1 blur to about 0.8 at the peak (> 0.4): visible; a faint map is not
    faint = decode_predictions(hms * np.float16(0.3), cfg, ["dark"]).pred_visible["dark"]
    assert out.pred_visible["dark"].all() and not faint.any()


def test_score_includes_the_per_axis_pckh_with_each_decoders_visibility():
    gt = _joints(30, seed=2)
    vis = np.ones((30, K), bool)
    hs = np.full(30, 20.0)
    rng = np.random.default_rng(0)
    preds = {"dark": gt + rng.normal(0, 0.5, gt.shape), "argmax": gt + rng.normal(0, 2.0, gt.shape)}
    pv = {"dark": rng.random((30, K)) > 0.1, "argmax": np.ones((30, K), bool)}
    r = evaluate.score(preds, gt, vis, hs, pred_visible=pv, n_resamples=50)
    fov = metrics.fov_mask(gt)
    for d, p in preds.items():
        for a in (0.1, 0.5):
            iv = r["decoders"][d]["metrics"][f"pckh_axis@{a}"]
            assert iv["value"] == pytest.approx(
                metrics.pckh_per_axis(p, gt, a, gt_visible=fov, pred_visible=pv[d])
            )
            assert iv["low"] <= iv["value"] <= iv["high"]
        assert len(r["decoders"][d]["per_joint"]["pckh_axis@0.5"]) == K
    assert r["decoders"]["dark"]["metrics"]["pckh_axis@0.5"]["value"] < 100  # XOR failures count
    tables = evaluate.frame_sum_tables(preds, {"joints": gt, "visible": vis, "head_size": hs,
                                               "groups": np.arange(30).astype(str)}, pv)  # fmt: skip
    cols = tables["columns"].tolist()
    v = metrics.from_sums(tables["decoder:dark"].sum(0), ["pckh_axis@0.1", "pckh_axis@0.5"], cols)
    assert v.tolist() == pytest.approx([r["decoders"]["dark"]["metrics"][m]["value"] for m in
                                        ("pckh_axis@0.1", "pckh_axis@0.5")])  # fmt: skip


def test_evaluation_keeps_pred_visible_and_says_how_it_decoded(smoke_data, tmp_path, monkeypatch):
    from dark.data import open_split

    test = open_split(smoke_data, "test")
    gt = np.stack([s.joints for s in test])
    maps = codecs.encode(torch.as_tensor(gt / 4), size=(H, W), sigma=2.0).float()
    config = runs.RunConfig.resolve("sh", "ceil", "full", precision="fp32")
    run = write_trained(tmp_path, "sh", "ceil", config.seed, profile="full", precision="fp32", name="run")
    (run / "best.pt").write_bytes(b"weights")
    (run / "last.pt").write_bytes(b"weights")
    trained = runs.Trained(_OracleModel(maps), config, 1)
    monkeypatch.setattr(runs, "load_model", lambda run_dir, which="best", device="cpu": trained)
    ev = evaluate.evaluate(run, smoke_data, n_resamples=50, progress=False)
    assert ev["decoding"]["report_batch"] == 24  # SH with ceil: the report's SH quant batch
    p = evaluate.load_predictions(run)
    names = p["decoders"].tolist()
    assert p["pred_visible"].shape == p["coords"].shape[:3] and p["pred_visible"].dtype == np.bool_
    hm = np.load(run / "heatmaps_test.npy")
    sr = names.index("standard_report")
    np.testing.assert_array_equal(p["pred_visible"][sr], codecs.report_visibility(hm, p["coords"][sr] / 4))
    # recomputable from the predictions: every decoder's per-axis PCKh (float32 coordinates stored)
    fov = metrics.fov_mask(gt)
    assert 0 < fov.mean() < 1
    for i, d in enumerate(names):
        v = metrics.pckh_per_axis(p["coords"][i], gt, 0.5, gt_visible=fov, pred_visible=p["pred_visible"][i])
        assert ev["decoders"][d]["metrics"]["pckh_axis@0.5"]["value"] == pytest.approx(v, abs=1e-6), d
    fs = runs.Run(run).frame_sums()
    cols = fs["columns"].tolist()
    assert {"n_axis", "correct_axis@0.1", "correct_axis@0.5"} <= set(cols)
    v = metrics.from_sums(fs["decoders"]["standard_report"].sum(0), ["pckh_axis@0.1"], cols)[0]
    assert v == pytest.approx(ev["decoders"]["standard_report"]["metrics"]["pckh_axis@0.1"]["value"])
