"""The debiased soft-argmax and the report code's decoder options, against independent computations.

- ``soft_argmax_debiased`` (Gu et al., ICCV 2021): on off-centre Gaussians the plain soft-argmax is
  pulled towards the map centre by exactly ``r (x_c - mu)``, ``r`` the softmax's background share
  (computed here in numpy from its definition); the debiased one is not.
- ``dark_report``: DARK's Newton step after a 5 x 5 blur of sigma 1, recomputed here with numpy loops.
- ``standard_top2``: the quarter-pixel step towards the second-highest pixel of the whole map.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dark import codecs

H, W = 48, 64


def gaussian(cx: float, cy: float, sigma: float = 2.0, amp: float = 1.0) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    return amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))


OFF_CENTRE = [(12.3, 10.7), (50.6, 36.2), (20.25, 30.8), (45.1, 12.4)]


def soft_argmax_numpy(h: np.ndarray, beta: float) -> tuple[np.ndarray, float]:
    """The softmax expectation and the background share r = (H W) / sum exp(beta h), by definition."""
    e = np.exp(beta * h)
    y, x = np.mgrid[0:H, 0:W]
    j = np.array([(e * x).sum(), (e * y).sum()]) / e.sum()
    return j, h.size / e.sum()


@pytest.mark.parametrize("beta", [1.0, 3.0])
def test_plain_soft_argmax_is_pulled_to_the_centre_and_debiased_is_not(beta):
    centre = np.array([(W - 1) / 2, (H - 1) / 2])
    maps = np.stack([gaussian(cx, cy) for cx, cy in OFF_CENTRE])[:, None]
    truth = np.array(OFF_CENTRE)
    plain = codecs.decode(maps, "soft_argmax", beta=beta)[0][:, 0]
    debiased = codecs.decode(maps, "soft_argmax_debiased", beta=beta)[0][:, 0]
    for i, (h, mu) in enumerate(zip(maps[:, 0], truth, strict=True)):
        j, r = soft_argmax_numpy(h, beta)
        np.testing.assert_allclose(plain[i], j, atol=1e-9)
        # the pull: J - mu = r (x_c - mu), to the accuracy of the symmetric-signal assumption
        np.testing.assert_allclose(plain[i] - mu, r * (centre - mu), atol=1e-3)
        assert r > 0.9  # at these temperatures the background holds most of the softmax mass
    pull = np.abs(plain - truth)
    assert pull.min() > 5.0  # px: at least 5 px towards the centre for every map (up to 19 px)
    assert (np.sign(plain - truth) == np.sign(centre - truth)).all()
    np.testing.assert_allclose(debiased, truth, atol=1e-3)  # and the debiased is within 0.001 px


def test_debiased_equals_plain_where_the_background_is_negligible():
    maps = np.stack([gaussian(cx, cy) for cx, cy in OFF_CENTRE])[:, None]
    plain = codecs.decode(maps, "soft_argmax")[0]  # beta = 20: r ~ 1e-5
    debiased = codecs.decode(maps, "soft_argmax_debiased")[0]
    np.testing.assert_allclose(debiased, plain, atol=1e-3)


def test_debiased_stays_finite_and_in_the_map_on_bad_maps():
    rng = np.random.default_rng(0)
    maps = np.stack([rng.normal(-1, 0.1, (H, W)), np.full((H, W), 0.01), gaussian(5.0, 5.0, 2.0, 1e-6)])
    coords = codecs.decode(maps[:, None], "soft_argmax_debiased", beta=1.0)[0][:, 0]
    assert np.isfinite(coords).all()
    assert (coords >= 0).all() and (coords[:, 0] <= W - 1).all() and (coords[:, 1] <= H - 1).all()


# --- dark_report ----------------------------------------------------------------------------------


def dark_5x5_sigma1_loop(h: np.ndarray) -> np.ndarray:
    """DARK with cv2.GaussianBlur(h, (5, 5), 1) and zero padding, pixel by pixel."""
    t = np.arange(5) - 2.0
    g = np.exp(-(t**2) / 2)
    g /= g.sum()
    pad = np.pad(h, 2)
    b = np.zeros_like(h)
    for y in range(H):
        for x in range(W):
            b[y, x] = sum(g[i] * g[j] * pad[y + i, x + j] for i in range(5) for j in range(5))
    my, mx = np.unravel_index(np.argmax(h), h.shape)
    L = np.log(np.maximum(b / b.max(), 1e-10))
    dx = 0.5 * (L[my, mx + 1] - L[my, mx - 1])
    dy = 0.5 * (L[my + 1, mx] - L[my - 1, mx])
    dxx = 0.25 * (L[my, mx + 2] - 2 * L[my, mx] + L[my, mx - 2])
    dyy = 0.25 * (L[my + 2, mx] - 2 * L[my, mx] + L[my - 2, mx])
    dxy = 0.25 * (L[my + 1, mx + 1] - L[my - 1, mx + 1] - L[my + 1, mx - 1] + L[my - 1, mx - 1])
    hess = np.array([[dxx, dxy], [dxy, dyy]])
    return np.array([mx, my]) - np.linalg.solve(hess, [dx, dy])


@pytest.mark.parametrize(("cx", "cy", "sigma"), [(20.3, 30.6, 2.0), (40.7, 11.2, 1.0), (31.5, 23.9, 3.0)])
def test_dark_report_is_dark_after_the_5x5_sigma_1_blur(cx, cy, sigma):
    rng = np.random.default_rng(1)
    h = gaussian(cx, cy, sigma) + rng.normal(0, 0.02, (H, W))
    got = codecs.decode(h[None], "dark_report", sigma=sigma)[0][0]
    np.testing.assert_allclose(got, dark_5x5_sigma1_loop(h), atol=1e-9)
    # and it is not DARK's own blur (k = 5 table, sigma 1.1), so the option changes the answer
    own = codecs.decode(h[None], "dark", sigma=sigma, kernel_size=5)[0][0]
    assert np.abs(own - got).max() > 1e-6


# --- standard_top2 ---------------------------------------------------------------------------------


def top2_loop(h: np.ndarray) -> np.ndarray:
    vals = [(h[y, x], y, x) for y in range(h.shape[0]) for x in range(h.shape[1])]
    best = max(range(len(vals)), key=lambda i: (vals[i][0], -i))  # first maximum
    second = max((i for i in range(len(vals)) if i != best), key=lambda i: (vals[i][0], -i))
    m = np.array([vals[best][2], vals[best][1]], float)
    s = np.array([vals[second][2], vals[second][1]], float)
    return m + 0.25 * (s - m) / np.linalg.norm(s - m)


def test_standard_top2_steps_towards_the_global_second_pixel():
    rng = np.random.default_rng(2)
    maps = [gaussian(20.3, 30.6), gaussian(40.5, 11.5), rng.uniform(0, 1, (H, W))]
    two_peaks = gaussian(10.0, 10.0) + 0.9 * gaussian(50.0, 40.0)  # second pixel far away, diagonal
    maps.append(two_peaks)
    got = codecs.decode(np.stack(maps)[:, None], "standard_top2")[0][:, 0]
    for g, h in zip(got, maps, strict=True):
        np.testing.assert_allclose(g, top2_loop(h), atol=1e-12)
    # on the two-peak map it steps towards the far peak (not a neighbour): (10, 10) + 0.25 (40, 30) / 50
    np.testing.assert_allclose(got[3], [10.2, 10.15], atol=1e-12)
    # on a single smooth peak it agrees with standard_2nd (the second pixel is a neighbour)
    np.testing.assert_allclose(got[0], codecs.decode(maps[0][None], "standard_2nd")[0][0], atol=1e-12)


def test_standard_top2_on_tiny_maps():
    coords = codecs.decode(np.array([[[0.5]], [[2.0]]])[:, None], "standard_top2")[0]
    np.testing.assert_array_equal(coords[:, 0], [[0.0, 0.0], [0.0, 0.0]])
    two = codecs.decode(np.array([[[1.0, 3.0]]]), "standard_top2")[0][0]
    assert two.tolist() == [1 - 0.25, 0.0] and math.isfinite(two[0])


@pytest.mark.parametrize("name", ["soft_argmax_debiased", "dark_report", "standard_top2"])
def test_new_decoders_are_registered(name):
    assert name in codecs.DECODERS
