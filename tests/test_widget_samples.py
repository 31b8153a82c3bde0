"""dark.book.widgets.samples: the state holds what dark.codecs computes; the traits drive the estimates."""

import base64
import json

import numpy as np
import pytest
import torch

from dark import codecs
from dark.book.widgets import samples

S, K, H, W = 6, 18, 40, 80
CFG = {"sigma": 2.0, "heatmap_stride": 4, "scaling": "stride"}
DECODERS = ("argmax", "standard", "dark", "com", "soft_argmax")  # a subset keeps the tests fast


def _fixture(tmp_path, s=S, seed=0):
    """A fake evaluated run: noisy Gaussian heatmaps at known joints, saved as RUN/heatmaps_test.npy."""
    rng = np.random.default_rng(seed)
    gt = np.stack([rng.uniform(20, 300, (s, K)), rng.uniform(15, 145, (s, K))], -1)
    maps = codecs.encode(torch.as_tensor(gt / 4), size=(H, W), sigma=2.0)
    maps = maps + 0.05 * torch.randn(
        maps.shape, generator=torch.Generator().manual_seed(seed), dtype=maps.dtype
    )
    hm = maps.numpy().astype(np.float16)
    run = tmp_path / "run"
    run.mkdir()
    np.save(run / "heatmaps_test.npy", np.concatenate([np.zeros((3, K, H, W), np.float16), hm]))
    depth = rng.uniform(2, 4, (s, 160, 320)).astype(np.float32)
    depth[:, :10] = 0
    vis = rng.random((s, K)) > 0.1
    indices = np.arange(3, 3 + s)  # test-set indices of these samples in heatmaps_test.npy
    state = samples.build_state(hm, depth, gt, vis, CFG, indices=indices, run_dir=run, decoders=DECODERS)
    return state, hm, gt


def _decode(hm, method, joint):
    xy, _ = codecs.decode(torch.from_numpy(hm.astype(np.float32)), method, sigma=2.0)
    return xy[joint].double().numpy() * 4  # stride 4: heatmap px -> input px


def test_state_holds_codecs_estimates_and_is_small(tmp_path):
    state, hm, gt = _fixture(tmp_path)
    est = np.array(state["estimates"])
    assert est.shape == (S, K, len(DECODERS), 2)
    for d, name in enumerate(state["decoders"]):
        for s in (0, S - 1):
            np.testing.assert_allclose(est[s, 5, d], _decode(hm[s], name, 5), atol=1e-9, err_msg=name)
    np.testing.assert_allclose(state["gt"], gt)
    np.testing.assert_allclose(state["heatmap"]["peak"], hm.astype(np.float32).max(axis=(2, 3)), atol=1e-4)
    assert len(base64.b64decode(state["depth"])) == S * 160 * 320
    # by default every decoder of one sample (not standard_report, whose value depends on its batch); 24
    # samples (what the book shows) stay well under 3 MB of JSON
    one = samples.build_state(hm[:1], np.ones((1, 160, 320)), gt[:1], np.ones((1, K), bool), CFG, indices=[0])
    assert one["decoders"] == [d for d in codecs.DECODERS if d != "standard_report"]
    assert 24 * len(json.dumps(one)) < 3e6


def test_widget_traits_recompute_with_codecs(tmp_path):
    state, hm, _ = _fixture(tmp_path)
    w = samples.SampleBrowser(state, heatmaps=hm.astype(np.float32))
    w.sample, w.joint = 2, 7
    first = dict(w.estimates)
    for name in state["decoders"]:
        np.testing.assert_allclose(first[name], _decode(hm[2], name, 7), atol=1e-9)
    w.joint = 8
    assert w.estimates["dark"] != first["dark"]
    np.testing.assert_allclose(w.estimates["dark"], _decode(hm[2], "dark", 8), atol=1e-9)
    with pytest.raises(Exception, match="sample must be in"):
        w.sample = S
    # without float heatmaps the widget re-reads them from the run directory
    w2 = samples.SampleBrowser(state, sample=4, joint=1)
    np.testing.assert_allclose(w2.estimates["standard"], _decode(hm[4], "standard", 1), atol=1e-9)


def test_expected_from_state_file_and_notebook(tmp_path):
    state, _hm, _ = _fixture(tmp_path)
    w = samples.SampleBrowser(state)
    path = w.save(tmp_path / "state.json")
    e = samples.expected(path, 3, 11)
    assert set(e) == set(DECODERS)
    for d, name in enumerate(state["decoders"]):
        np.testing.assert_allclose(e[name], state["estimates"][3][11][d], atol=1e-9)
    nb = {"metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
        "a": {"model_name": "LayoutModel", "state": {}}, "b": {"state": {"data": state}}}}}}}  # fmt: skip
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert samples.expected(tmp_path / "nb.ipynb", 3, 11) == e
    with pytest.raises(ValueError, match="sample must be in"):
        samples.expected(state, S, 0)


def test_heatmap_crops_centre_on_the_peak():
    hm = np.zeros((1, 2, 10, 12), np.float32)
    hm[0, 0, 4, 7] = 2.0
    hm[0, 0, 4, 8] = 1.0
    hm[0, 1, 0, 0] = 0.5  # a corner peak: the crop is padded with zeros
    crops, origin = samples.heatmap_crops(hm, radius=2)
    assert crops.shape == (1, 2, 5, 5) and crops.dtype == np.uint8
    assert crops[0, 0, 2, 2] == 255 and crops[0, 0, 2, 3] == 128  # round(255 / 2)
    np.testing.assert_array_equal(origin[0], [[5, 2], [-2, -2]])
    assert crops[0, 1, 2, 2] == 255 and crops[0, 1].sum() == 255


def test_depth_to_uint8_and_pick_samples():
    d = np.array([[[0.0, 2.0], [3.0, 4.0]]])
    np.testing.assert_array_equal(samples.depth_to_uint8(d), [[[0, 255], [128, 1]]])
    rng = np.random.default_rng(0)
    dark = rng.normal(size=(50, 3, 2))
    com = dark.copy()
    com[17, 1] += 30.0
    com[40, 2] += 20.0
    idx = samples.pick_samples({"dark": dark, "com": com}, np.ones((50, 3), bool), n=10, seed=1)
    assert len(idx) == 10 and len(set(idx.tolist())) == 10 and list(idx) == sorted(idx)
    assert {17, 40} <= set(idx.tolist())
    cand = np.zeros(50, bool)
    cand[20:35] = True
    idx = samples.pick_samples(
        {"dark": dark, "com": com}, np.ones((50, 3), bool), n=10, seed=1, candidates=cand
    )
    assert set(idx.tolist()) <= set(range(20, 35)) and len(idx) == 10
    hm = np.zeros((5, 2, 3, 4), np.float16)
    hm[2, 1, 1, 1] = 0.5
    np.testing.assert_array_equal(samples.map_peaks(hm, chunk=2), [[0, 0], [0, 0], [0, 0.5], [0, 0], [0, 0]])


def test_javascript_follows_the_dom_contract():
    js = samples.SampleBrowser._esm
    for needle in ('"data-widget": "sample-browser"', '"dark-widget"', '"data-param"', '"data-decoder"',
                   '"data-x"', '"data-y"', "export default"):  # fmt: skip
        assert needle in js
