"""DARK's blur of the patch around the argmax against the blur of the whole map (issue 30).

``dark``, ``dark_report`` and ``dark_udp`` blur only the ``(4 + k)^2`` window their Taylor step reads
(and, on the CPU, in numpy). Here each is compared, map by map, with an independent computation that
blurs the WHOLE zero-padded map (``scipy.ndimage.correlate``) and then takes the documented Taylor
step on it, written out below: on the codec tests' maps, and over random maps (hypothesis) with
peaks on the border and in the corners, maps smaller than the window, the first and last map of a
batch (whose windows would leave the batch's buffer) and NaN/Inf. Agreement: 1e-5 px. The device
path (torch, what CUDA tensors take) is run on the CPU against the same reference.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from test_codecs_reference import CASES  # tests/ is on sys.path: the reference tests' maps

from dark import codecs
from dark.codecs import taylor
from dark.codecs._maps import window_np

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOL = 1e-5  # px
#: the 13 points, (dy, dx) from the argmax, whose blurred values DARK's steps read
POINTS = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0)]
POINTS += [(1, 1), (-1, 1), (1, -1), (-1, -1)]


def whole_map_blur(hm: np.ndarray, k: int, blur_sigma: float | None) -> np.ndarray:
    """``(H, W)`` float64: the ``(k, k)`` Gaussian blur of the whole map, zero outside it (OpenCV's
    kernel, ``codecs.blur_kernel``, which tests/test_codecs_reference.py checks against cv2)."""
    g = codecs.blur_kernel(k, blur_sigma)
    return ndimage.correlate(hm.astype(np.float64), np.outer(g, g), mode="constant", cval=0.0)


def peak_of(hm: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The map with NaN/Inf as 0 (float64) and its first maximum ``(y, x)`` in row-major order."""
    hm = np.where(np.isfinite(hm), hm, 0.0).astype(np.float64)
    y, x = divmod(int(np.argmax(hm)), hm.shape[1])
    return hm, y, x


def ref_dark(hm: np.ndarray, k: int, blur_sigma: float | None = None) -> np.ndarray:
    """DARK on the whole-map blur: ``log(max(B / top, 1e-10))`` with ``top`` the largest of the 13
    values the step reads; central differences (step 2 for the second derivatives); a Newton step
    where ``1 < x < W-2``, ``1 < y < H-2``, ``top > 0`` and the Hessian is invertible."""
    hm, y, x = peak_of(hm)
    h, w = hm.shape
    blurred = whole_map_blur(hm, k, blur_sigma)
    if not (1 < x < w - 2 and 1 < y < h - 2):
        return np.array([x, y], dtype=np.float64)
    top = max(blurred[y + dy, x + dx] for dy, dx in POINTS)
    if top <= 0:
        return np.array([x, y], dtype=np.float64)

    def L(dy: int, dx: int) -> float:
        return float(np.log(max(blurred[y + dy, x + dx] / top, 1e-10)))

    grad = np.array([0.5 * (L(0, 1) - L(0, -1)), 0.5 * (L(1, 0) - L(-1, 0))])
    dxx = 0.25 * (L(0, 2) - 2 * L(0, 0) + L(0, -2))
    dyy = 0.25 * (L(2, 0) - 2 * L(0, 0) + L(-2, 0))
    dxy = 0.25 * (L(1, 1) - L(-1, 1) - L(1, -1) + L(-1, -1))
    if dxx * dyy - dxy * dxy == 0:
        return np.array([x, y], dtype=np.float64)
    offset = -np.linalg.solve(np.array([[dxx, dxy], [dxy, dyy]]), grad)
    return np.array([x, y]) + (offset if np.isfinite(offset).all() else 0.0)


def ref_dark_udp(hm: np.ndarray, k: int) -> np.ndarray:
    """mmpose's DARK-UDP on the whole-map blur: rescaled to the map's maximum (by the largest of the
    13 values in the map), ``log(clip(., 1e-3, 50))`` edge-padded by one pixel, step-1 differences,
    ``(Hessian + eps I)``."""
    hm, y, x = peak_of(hm)
    h, w = hm.shape
    blurred = whole_map_blur(hm, k, None)
    top = max(blurred[y + dy, x + dx] for dy, dx in POINTS if 0 <= y + dy < h and 0 <= x + dx < w)
    if top <= 0:
        return np.array([x, y], dtype=np.float64)
    p = np.pad(np.log(np.clip(blurred * (hm[y, x] / top), 1e-3, 50.0)), 1, mode="edge")
    Y, X = y + 1, x + 1
    grad = np.array([0.5 * (p[Y, X + 1] - p[Y, X - 1]), 0.5 * (p[Y + 1, X] - p[Y - 1, X])])
    dxx = p[Y, X + 1] - 2 * p[Y, X] + p[Y, X - 1]
    dyy = p[Y + 1, X] - 2 * p[Y, X] + p[Y - 1, X]
    c, right, left, down, up = p[Y, X], p[Y, X + 1], p[Y, X - 1], p[Y + 1, X], p[Y - 1, X]
    dxy = 0.5 * (p[Y + 1, X + 1] - right - down + 2 * c - left - up + p[Y - 1, X - 1])
    eps = float(np.finfo(np.float32).eps)
    hessian = np.array([[dxx + eps, dxy], [dxy, dyy + eps]])
    if np.linalg.det(hessian) == 0:
        return np.array([x, y], dtype=np.float64)
    offset = -np.linalg.solve(hessian, grad)
    return np.array([x, y]) + (offset if np.isfinite(offset).all() else 0.0)


def reference(name: str, maps: np.ndarray, k: int, blur_sigma: float | None) -> np.ndarray:
    if name == "dark_udp":
        return np.stack([ref_dark_udp(m, k) for m in maps])
    return np.stack([ref_dark(m, k, blur_sigma) for m in maps])


def ours(name: str, maps: np.ndarray, k: int, blur_sigma: float | None) -> np.ndarray:
    options = {} if name == "dark_udp" else {"blur_sigma": blur_sigma}
    coords, _ = codecs.decode(torch.from_numpy(maps), name, sigma=2.0, kernel_size=k, **options)
    return coords.numpy().astype(np.float64)


@pytest.fixture(params=["numpy", "torch"])
def path(request, monkeypatch):
    """Both paths of the decoders: numpy (CPU float32/64 tensors) and torch (every other device)."""
    if request.param == "torch":
        monkeypatch.setattr(taylor, "_on_numpy", lambda maps: False)
    return request.param


@pytest.mark.parametrize("name", ["dark", "dark_udp"])
@pytest.mark.parametrize("k", [3, 5, 7, 11, 17])
def test_patch_blur_equals_the_whole_map_blur_on_the_codec_test_maps(name, k, path):
    maps = np.concatenate([c[2] for c in CASES])  # clean, noisy and border Gaussians, sigma 1 to 3
    np.testing.assert_allclose(ours(name, maps, k, None), reference(name, maps, k, None), atol=TOL, rtol=0)


def test_dark_report_is_dark_on_the_whole_map_blur_of_its_5x5_sigma1_kernel(path):
    maps = np.concatenate([c[2] for c in CASES])
    coords, _ = codecs.decode(maps, "dark_report", sigma=3.0)  # the training sigma plays no part
    np.testing.assert_allclose(coords, reference("dark", maps, 5, 1.0), atol=TOL, rtol=0)


@st.composite
def batches(draw) -> np.ndarray:
    """``(N, H, W)`` float32 or float64: a Gaussian (sigma 0.7-3) per map, centred anywhere from 1 px
    outside the map to 1 px outside the opposite side, often exactly on a border row/column or in a
    corner, plus uniform noise; maps from 1 x 1 up to 40 x 40 (many smaller than the window, and some
    with windows both inside the map and cut by its border), 1 to 4 per batch, a few NaN/Inf."""
    n, h, w = draw(st.integers(1, 4)), draw(st.integers(1, 40)), draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    noise = draw(st.sampled_from([0.0, 0.02, 0.2]))
    ys, xs = np.mgrid[0:h, 0:w]
    maps = []
    for _ in range(n):
        cx = rng.choice([0.0, w - 1.0, rng.uniform(-1, w), rng.uniform(-1, 2), rng.uniform(w - 3, w)])
        cy = rng.choice([0.0, h - 1.0, rng.uniform(-1, h), rng.uniform(-1, 2), rng.uniform(h - 3, h)])
        s = rng.uniform(0.7, 3.0)
        gauss = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * s * s))
        maps.append(gauss + rng.uniform(-noise, noise, (h, w)))
    maps = np.stack(maps).astype(draw(st.sampled_from([np.float32, np.float64])))
    for _ in range(draw(st.integers(0, 2))):  # missing values (NaN/Inf count as 0)
        maps[rng.integers(n), rng.integers(h), rng.integers(w)] = rng.choice([np.nan, np.inf, -np.inf])
    valid = np.where(np.isfinite(maps), maps, 0).reshape(n, -1).max(axis=1) > 0
    return maps[valid] if valid.any() else np.abs(np.nan_to_num(maps, posinf=0, neginf=0)) + 1.0


@settings(max_examples=150, deadline=None)
@given(
    maps=batches(),
    name=st.sampled_from(["dark", "dark_udp"]),
    k=st.sampled_from([1, 3, 5, 7, 9, 11, 17]),
    blur_sigma=st.one_of(st.none(), st.floats(0.5, 3.0)),
    torch_path=st.booleans(),
)
def test_property_patch_blur_equals_the_whole_map_blur(maps, name, k, blur_sigma, torch_path):
    blur_sigma = None if name == "dark_udp" else blur_sigma
    expected = reference(name, maps, k, blur_sigma)
    if torch_path:
        on_numpy, taylor._on_numpy = taylor._on_numpy, lambda maps: False
    try:
        got = ours(name, maps, k, blur_sigma)
    finally:
        if torch_path:
            taylor._on_numpy = on_numpy
    np.testing.assert_allclose(got, expected, atol=TOL, rtol=0)


@settings(max_examples=100, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 12), st.integers(1, 12)),
    radius=st.integers(0, 8),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_window_np_is_the_zero_padded_window(shape, radius, dtype, seed):
    """Every window, including those the border cuts and those that would leave the batch's buffer."""
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=shape).astype(dtype)
    n, h, w = shape
    peak = rng.integers(0, h * w, n)
    peak[rng.random(n) < 0.5] = rng.choice([0, w - 1, (h - 1) * w, h * w - 1])  # corners
    padded = np.pad(maps, ((0, 0), (radius, radius), (radius, radius)))
    s = 2 * radius + 1
    ys, xs = np.divmod(peak, w)
    expected = np.stack([padded[i, ys[i] : ys[i] + s, xs[i] : xs[i] + s] for i in range(n)])
    got = window_np(maps, peak, radius)
    assert got.dtype == dtype and got.shape == (n, s, s)
    np.testing.assert_array_equal(got, expected)
