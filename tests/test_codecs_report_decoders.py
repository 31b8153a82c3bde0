"""The report's own decoding code (dark.codecs.report) against transcriptions of moai's source
(``docs/report-code.md``, items 2 and 3).

The oracles below are written from moai's functions (``_argmax_sub`` with the H4D grid, ``VisibilityHeatmap``
after ``gaussian2d``), in moai's own convention (input pixel j centred at j + 0.5), not from dark.codecs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dark import codecs


def _moai_grid(W=320, H=160, w=80, h=40):
    """moai's grid (order xy, coord mode, inclusive false), nearest-resized to the heatmap: (2, h, w)."""
    xs = (np.arange(W) + 0.5)[np.floor(np.arange(w) * W / w).astype(int)]
    ys = (np.arange(H) + 0.5)[np.floor(np.arange(h) * H / h).astype(int)]
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy])


def _argmax_sub_moai(hm, grid, sub=0.25):
    """A transcription of moai's ``_argmax_sub`` (docs/report-code.md, item 2; flip false):
    (B, K, h, w) -> (B, K, 2) moai input px."""
    b, k, h, w = hm.shape
    rng = grid.reshape(2, -1).max(1) - grid.reshape(2, -1).min(1)
    dims = np.array([h, w], dtype=float)
    out = np.zeros((b, k, 2))
    for j in range(k):
        flat = hm[:, j].reshape(b, -1)
        top = np.argsort(-flat, axis=1, kind="stable")[:, :2]
        m = grid[:, top[:, 0] // w, top[:, 0] % w].T
        s = grid[:, top[:, 1] // w, top[:, 1] % w].T
        d = s - m
        out[:, j] = m + sub * d * rng / (np.sqrt((d**2).sum()) * dims)
    return out


def _distinct_maps(rng, b, k, h=40, w=80):
    """Maps with distinct values (no ties at the top-2) and a peak; some second pixels far from the peak."""
    hm = rng.permutation(b * k * h * w).reshape(b, k, h, w).astype(np.float64) / (b * k * h * w) * 0.5
    for i in range(b):
        for j in range(k):
            y, x = rng.integers(2, h - 2), rng.integers(2, w - 2)
            hm[i, j, y, x] = 0.99
            if rng.random() < 0.7:  # the second pixel next to the peak
                dy, dx = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1)][rng.integers(5)]
                hm[i, j, y + dy, x + dx] = 0.98
            else:  # far away (a global top-2, not a neighbour)
                hm[i, j, rng.integers(h), rng.integers(w)] = 0.985
    return hm


@pytest.mark.parametrize("batch", [1, 16, 24])
def test_standard_report_equals_moais_argmax_sub(batch):
    rng = np.random.default_rng(batch)
    for h, w, stride in ((40, 80, 4), (20, 40, 8)):
        hm = _distinct_maps(rng, batch, 3, h, w)
        expect = _argmax_sub_moai(hm, _moai_grid(w=w, h=h))  # moai input px, pixel centres at j + 0.5
        ours, conf = codecs.decode(torch.tensor(hm, dtype=torch.float32), "standard_report")
        np.testing.assert_allclose(stride * ours.numpy() + 0.5, expect, atol=1e-9)  # ours: x_in = stride x_hm
        np.testing.assert_allclose(conf.numpy(), hm.reshape(batch, 3, -1).max(-1), rtol=1e-6)


def test_standard_report_shift_depends_on_the_batch_and_the_axis():
    hm = np.zeros((1, 2, 40, 80))
    hm[0, 0, 20, 30], hm[0, 0, 20, 31] = 1.0, 0.5  # x-neighbour
    hm[0, 1, 20, 30], hm[0, 1, 21, 30] = 1.0, 0.5  # y-neighbour
    xy = codecs.decode(hm, "standard_report")[0]
    # docs/report-code.md, item 2: +1.975 and +0.4875 input px at batch 1 (a correct quarter-pixel step:
    # 1.0 input px)
    np.testing.assert_allclose(4 * (xy[0] - [30, 20]), [[1.975, 0], [0, 0.4875]])
    # a second sample whose second pixel is 10 px away shrinks the first sample's shift of joint 0
    two = np.concatenate([hm, hm])
    two[1, 0, 20, 31], two[1, 0, 20, 40] = 0.0, 0.5
    xy2 = codecs.decode(two, "standard_report")[0]
    assert xy2[0, 0, 0] - 30 == pytest.approx(0.25 * 79 / 40 / np.sqrt(1 + 100))
    assert xy2[0, 1, 1] - 20 == pytest.approx(0.25 * 39 / 80 / np.sqrt(2))  # joint 1: two unit steps


def test_standard_report_reads_every_map_and_answers_invalid_ones_itself():
    rng = np.random.default_rng(3)
    hm = _distinct_maps(rng, 4, 2)
    hm[2, 1] = 0.0  # invalid: no positive value
    xy, conf, valid = codecs.decode(hm, "standard_report", return_valid=True)
    assert not valid[2, 1] and conf[2, 1] == 0 and xy[2, 1].tolist() == [39.5, 19.5]
    t = torch.tensor(hm)
    direct = codecs.standard_report(t.reshape(-1, 40, 80), channels=2).reshape(4, 2, 2).numpy()
    ok = np.ones((4, 2), bool)
    ok[2, 1] = False
    np.testing.assert_allclose(xy[ok], direct[ok])  # the invalid map still counts in joint 1's norm
    with pytest.raises(ValueError, match="no option"):
        codecs.decode(hm, "standard_report", channels=2)
    with pytest.raises(ValueError, match="whole batch"):
        codecs.standard_report(t.reshape(-1, 40, 80)[:7], channels=2)


# --- the report's visibility rule -----------------------------------------------------------------------


def _blur_reflect(hm):
    """kornia GaussianBlur2d((5, 5), (1, 1), 'reflect') by hand: (..., h, w) -> (..., h, w)."""
    g = np.exp(-(np.arange(-2, 3) ** 2) / 2.0)
    g /= g.sum()
    p = np.pad(hm, [(0, 0)] * (hm.ndim - 2) + [(2, 2), (2, 2)], mode="reflect")
    h, w = hm.shape[-2:]
    return sum(g[i] * g[j] * p[..., i : i + h, j : j + w] for i in range(5) for j in range(5))


def _visibility_moai(c_hm, hm, thr=0.4):
    """A transcription of moai's ``VisibilityHeatmap`` (docs/report-code.md, item 3): c_hm (B, K, 2) moai
    heatmap px, hm (B, K, H, W) already blurred."""
    b, k, h, w = hm.shape
    ix, iy = np.trunc(c_hm[..., 0]).astype(int), np.trunc(c_hm[..., 1]).astype(int)
    inb = (ix > -1) & (iy > -1) & (iy < h) & (ix < w)
    v = np.zeros((b, k), bool)
    for i in range(b):
        for j in range(k):
            if inb[i, j]:
                v[i, j] = hm[i, j, iy[i, j], ix[i, j]] > thr
    return v


def test_report_visibility_equals_the_oracle_on_random_maps():
    rng = np.random.default_rng(7)
    for stride, (h, w) in ((4, (40, 80)), (8, (20, 40))):
        hm = rng.uniform(0, 1, (50, 2, h, w)) ** 3
        hm[:, :, :3] = 0.9  # some bright rows, borders included
        c = rng.uniform(-2, w + 1, (50, 2, 2)) * [1, h / w]
        c[:10] = np.round(c[:10]) - 0.5 / stride  # exactly on a pixel edge in moai's convention
        expect = _visibility_moai(c + 0.5 / stride, _blur_reflect(hm))
        got = codecs.report_visibility(hm, c, stride=stride)
        assert got.dtype == np.bool_ and 0.1 < expect.mean() < 0.9
        np.testing.assert_array_equal(got, expect)
        t = codecs.report_visibility(torch.tensor(hm, dtype=torch.float32), torch.tensor(c), stride=stride)
        np.testing.assert_array_equal(t.numpy(), expect)


def test_report_visibility_hand_built():
    ones = np.full((1, 1, 10, 20), 0.5)  # blurred: 0.5 everywhere (reflect keeps a constant map)
    at = lambda x, y, m=ones, s=4.0: bool(codecs.report_visibility(m, np.array([[[x, y]]]), stride=s)[0, 0])  # noqa: E731
    # truncation toward zero in moai's coordinate x' = x + 0.125: x = -0.2 -> -0.075 -> column 0 (a floor: -1)
    assert at(-0.2, 3.0) and at(-1.1, 3.0) and not at(-1.125, 3.0) and not at(3.0, -1.2)
    assert at(19.8, 9.8) and not at(19.875, 3.0) and not at(3.0, 9.875)
    # the blurred map, not the raw one: a lone peak of 1 blurs to 0.4026^2 = 0.162
    peak = np.zeros((1, 1, 10, 20))
    peak[0, 0, 5, 7] = 1.0
    assert not at(7.0, 5.0, peak)
    # which pixel: a step (1 from column 7 on) blurs to 0.701 at column 7 and 0.299 at column 6
    step = np.zeros((1, 1, 10, 20))
    step[..., 7:] = 1.0
    assert at(6.9, 5.0, step) and not at(6.85, 5.0, step)  # 6.9 + 0.125 -> 7; 6.85 + 0.125 -> 6
    assert at(6.95, 5.0, step, 8.0) and not at(6.9, 5.0, step, 8.0)  # stride 8: + 0.0625
    # reflect border: a stripe at column 1 reads twice at column 0 (2 x 0.244 > 0.4; zero padding: 0.244)
    stripe = np.zeros((1, 1, 10, 20))
    stripe[..., 1] = 1.0
    assert at(0.0, 5.0, stripe) and not at(3.0, 5.0, stripe)
    with pytest.raises(ValueError, match="coords_hm"):
        codecs.report_visibility(ones, np.zeros((1, 2, 2)))


def test_report_test_batch():
    assert codecs.REPORT_TEST_BATCH == 16 and codecs.REPORT_TEST_BATCHES == {("sh", "ceil"): 24}
    assert codecs.report_test_batch("sh", "ceil") == 24 and codecs.report_test_batch("hrnet", "ceil") == 16
    assert "standard_report" in codecs.DECODERS and codecs.REGISTRY["standard_report"].batch
