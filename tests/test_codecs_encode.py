"""Encoders and the heatmap <-> input mapping: each definition puts the peak where it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dark import codecs

H, W = 40, 80  # the study's heatmaps: 160 x 320 input, stride 4
STRIDE = 4


def formula(cx: float, cy: float, sigma: float) -> np.ndarray:
    """The target by its definition, pixel by pixel."""
    out = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            out[y, x] = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    return out


CASES = [
    # x_hm, y_hm, method, grid, expected centre
    (10.3, 5.6, "unbiased", "heatmap", (10.3, 5.6)),
    (10.3, 5.6, "quantized", "heatmap", (10.0, 6.0)),
    (10.5, 5.49, "quantized", "heatmap", (11.0, 5.0)),  # floor(x + 0.5): halves round up
    (10.3, 5.6, "quantized", "input", (41 / 4, 22 / 4)),  # 41.2 -> 41, 22.4 -> 22 input px
    (10.375, 5.625, "quantized", "input", (42 / 4, 23 / 4)),  # 41.5 -> 42, 22.5 -> 23
    (10.3, 5.6, "unbiased", "input", (10.3, 5.6)),  # the grid is quantized's only
]


@pytest.mark.parametrize(("x", "y", "method", "grid", "centre"), CASES)
def test_encoders_put_the_gaussian_where_each_definition_says(x, y, method, grid, centre):
    for sigma in (1.0, 2.0):
        t = codecs.encode(np.array([[x, y]]), (H, W), sigma=sigma, method=method, grid=grid, stride=STRIDE)
        assert t.shape == (1, H, W)
        np.testing.assert_allclose(t[0], formula(*centre, sigma), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize(("x_img", "y_img"), [(0.0, 0.0), (319.0, 159.0), (41.2, 22.4)])
def test_udp_codec_maps_with_udp_scaling_and_renders_there(x_img, y_img):
    """The UDP codec end to end: input px -> to_heatmap(scaling="udp") -> encode (unbiased: UDP's
    encoding is the unbiased one under UDP's mapping) -> decode -> to_input; the Codec does the same."""
    img = np.array([[x_img, y_img]])
    hm = codecs.to_heatmap(img, scaling="udp", input_size=(160, 320), heatmap_size=(H, W))
    expected = (x_img * (W - 1) / (320 - 1), y_img * (H - 1) / (160 - 1))
    np.testing.assert_allclose(hm[0], expected, rtol=1e-15)
    t = codecs.encode(hm, (H, W), sigma=2.0, method="unbiased")
    np.testing.assert_allclose(t[0], formula(*expected, 2.0), rtol=1e-12, atol=1e-300)
    codec = codecs.Codec("unbiased", 2.0, 320 / W, "udp", (160, 320), (H, W))
    np.testing.assert_array_equal(codec.targets(img[None], np.ones((1, 1), bool))[0][0], t)
    if 4 <= expected[0] <= W - 5 and 4 <= expected[1] <= H - 5:  # DARK needs the peak inside
        back = codecs.to_input(
            codecs.decode(t, "dark_udp", sigma=2.0)[0], scaling="udp", input_size=(160, 320)
        )
        np.testing.assert_allclose(back[0], img[0], atol=0.05)
        np.testing.assert_array_equal(codec.decode(t, "dark_udp")[0], back)
    with pytest.raises(ValueError, match="method"):  # the encoder "udp" was "unbiased" under another name
        codecs.encode(hm, (H, W), method="udp")


def test_centres_are_what_encode_renders():
    coords = torch.tensor([[10.3, 5.6], [0.2, 39.4], [-0.3, 20.0]], dtype=torch.float64)
    for method in codecs.ENCODERS:
        for grid in ("heatmap", "input"):
            c = codecs.centres(coords, (H, W), method, grid, STRIDE)
            t, w = codecs.encode(coords, (H, W), sigma=2.0, method=method, grid=grid, return_weights=True)
            assert w.tolist() == [1, 1, 1]  # all three lie in the map's pixel cells
            for i in range(len(coords)):
                np.testing.assert_allclose(
                    t[i].numpy(), formula(*c[i].tolist(), 2.0), rtol=1e-12, atol=1e-300
                )


def test_unbiased_targets_decode_back_to_the_joint():
    rng = np.random.default_rng(0)
    coords = np.stack([rng.uniform(8, W - 9, (3, 5)), rng.uniform(8, H - 9, (3, 5))], -1)
    t = codecs.encode(torch.from_numpy(coords).float(), (H, W), sigma=2.0)
    assert t.shape == (3, 5, H, W) and t.dtype == torch.float32
    est, _ = codecs.decode(t, "dark", sigma=2.0)
    np.testing.assert_allclose(est.numpy(), coords, atol=2e-3)


def test_invisible_and_outside_joints_get_zero_maps_and_weights():
    coords = np.array(
        [
            [10.0, 10.0],  # visible, inside
            [10.0, 10.0],  # invisible
            [-0.6, 10.0],  # left of pixel 0's cell [-0.5, 0.5): outside
            [-0.4, 10.0],  # in pixel 0's cell: inside
            [79.4, 39.4],  # in pixel (79, 39)'s cell: inside
            [79.5, 20.0],  # right of the last cell: outside
            [np.nan, 3.0],  # not a number: dropped
        ]
    )
    visible = np.array([True, False, True, True, True, True, True])
    t, w = codecs.encode(coords, (H, W), visible=visible, return_weights=True)
    assert w.tolist() == [1, 0, 0, 1, 1, 0, 0]
    for i, keep in enumerate(w):
        assert (t[i].max() > 0.9) if keep else (t[i] == 0).all()
    assert np.isfinite(t).all()
    _, w_q = codecs.encode(coords, (H, W), method="quantized", visible=visible, return_weights=True)
    assert w_q.tolist() == w.tolist()


def test_libraries_devices_and_dtypes():
    c32 = torch.tensor([[[10.3, 5.6]]])
    assert codecs.encode(c32, (H, W)).dtype == torch.float32
    assert codecs.encode(c32.double(), (H, W)).dtype == torch.float64
    assert codecs.encode(c32.half(), (H, W)).dtype == torch.float32
    assert codecs.encode(torch.tensor([[10, 5]]), (H, W)).dtype == torch.float32
    out = codecs.encode(np.array([[10.3, 5.6]]), (H, W))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_allclose(codecs.encode(c32, (H, W))[0].numpy(), out, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"coords_hm": np.zeros((3,)), "size": (H, W)},
        {"coords_hm": np.zeros((2, 3)), "size": (H, W)},
        {"coords_hm": [[1.0, 2.0]], "size": (H, W)},
        {"coords_hm": np.zeros((2, 2)), "size": (H,)},
        {"coords_hm": np.zeros((2, 2)), "size": (0, W)},
        {"coords_hm": np.zeros((2, 2)), "size": (H, W), "sigma": 0},
        {"coords_hm": np.zeros((2, 2)), "size": (H, W), "method": "fancy"},
        {"coords_hm": np.zeros((2, 2)), "size": (H, W), "grid": "output"},
        {"coords_hm": np.zeros((2, 2)), "size": (H, W), "visible": np.ones(3, bool)},
    ],
)
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        codecs.encode(**kwargs)


# --- mapping -----------------------------------------------------------------------------------------


def test_stride_mapping():
    img = np.array([[0.0, 0.0], [319.0, 159.0], [41.2, 22.4]])
    np.testing.assert_array_equal(codecs.to_heatmap(img, stride=4), img / 4)
    np.testing.assert_allclose(codecs.to_input(codecs.to_heatmap(img, stride=4), stride=4), img, rtol=1e-15)


def test_udp_mapping_aligns_the_corner_pixels():
    img = torch.tensor([[0.0, 0.0], [319.0, 159.0], [160.0, 80.0]], dtype=torch.float64)
    for kwargs in (
        {"input_size": (160, 320)},
        {"heatmap_size": (40, 80)},
        {"input_size": (160, 320), "heatmap_size": (40, 80)},
    ):
        hm = codecs.to_heatmap(img, scaling="udp", **kwargs)
        expected = torch.tensor(
            [[0.0, 0.0], [79.0, 39.0], [160 * 79 / 319, 80 * 39 / 159]], dtype=torch.float64
        )
        torch.testing.assert_close(hm, expected, rtol=1e-15, atol=1e-12)
        torch.testing.assert_close(codecs.to_input(hm, scaling="udp", **kwargs), img, rtol=1e-15, atol=1e-12)


def test_mapping_errors():
    with pytest.raises(ValueError, match="input_size"):
        codecs.to_heatmap(np.zeros((1, 2)), scaling="udp")
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        codecs.to_heatmap(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="scaling"):
        codecs.to_input(np.zeros((1, 2)), scaling="affine")


def test_docstring_examples():
    import doctest
    import importlib

    for name in (
        "dark.codecs",
        "dark.codecs.decode",
        "dark.codecs.encode",
        "dark.codecs.mapping",
        "dark.codecs.taylor",
    ):
        failed, attempted = doctest.testmod(importlib.import_module(name), verbose=False)
        assert failed == 0 and attempted > 0, name
