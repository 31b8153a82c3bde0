"""Rounding rules of the quantised encoder, the ENCODINGS table and the Codec object.

Checked against plain-Python loops (``math.floor`` / ``math.ceil`` and a per-pixel Gaussian) and
against the analytic error laws of each rule for uniformly distributed coordinates. Statistical
checks use fixed seeds and a tolerance of 5 standard errors, the standard error computed from the
law itself (so a correct implementation fails with probability < 1e-6, a biased one by > 5 SE fails).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dark import codecs

H, W, STRIDE = 40, 80, 4
N = 100_000


def loop_round(values: np.ndarray, rounding: str, u: np.ndarray | None = None) -> np.ndarray:
    """Each value rounded by its definition, one at a time (``u``: the uniform draws of ``random``)."""
    out = np.empty_like(values)
    for i, x in enumerate(values.ravel()):
        if rounding == "nearest":
            r = math.floor(x + 0.5)
        elif rounding == "ceil":
            r = math.ceil(x)
        elif rounding == "floor":
            r = math.floor(x)
        else:
            r = math.floor(x) + (1 if u.ravel()[i] < x - math.floor(x) else 0)
        out.ravel()[i] = r
    return out


def formula(cx: float, cy: float, sigma: float) -> np.ndarray:
    out = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            out[y, x] = math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    return out


VALUES = np.array([-1.5, -0.5, -0.49, 0.0, 0.25, 0.5, 0.5000001, 1.5, 2.49999, 2.5, 7.0, 10.3, 41.2])


@pytest.mark.parametrize("rounding", ["nearest", "ceil", "floor"])
def test_deterministic_roundings_match_the_loop(rounding):
    np.testing.assert_array_equal(codecs.round_coords(VALUES, rounding), loop_round(VALUES, rounding))
    t = torch.from_numpy(VALUES)
    np.testing.assert_array_equal(codecs.round_coords(t, rounding).numpy(), loop_round(VALUES, rounding))


def test_random_rounding_matches_the_loop_with_the_same_draws():
    g = torch.Generator().manual_seed(3)
    x = torch.from_numpy(VALUES)
    got = codecs.round_coords(x, "random", torch.Generator().manual_seed(3))
    u = torch.rand(x.shape, generator=g, dtype=x.dtype).numpy()  # the same draws, in the same order
    np.testing.assert_array_equal(got.numpy(), loop_round(VALUES, "random", u))


@pytest.mark.parametrize("rounding", ["nearest", "ceil", "floor"])
@pytest.mark.parametrize("grid", ["heatmap", "input"])
def test_encode_renders_the_rounded_centre(rounding, grid):
    xy = np.array([[10.3, 5.6], [10.375, 5.625], [20.5, 7.25]])  # input px 41.2, 41.5, 82.0, ...
    t = codecs.encode(xy, (H, W), sigma=2.0, method="quantized", grid=grid, stride=STRIDE, rounding=rounding)
    scale = 1 if grid == "heatmap" else STRIDE
    for i, (x, y) in enumerate(xy):
        cx = loop_round(np.array([x * scale]), rounding)[0] / scale
        cy = loop_round(np.array([y * scale]), rounding)[0] / scale
        np.testing.assert_allclose(t[i], formula(cx, cy, 2.0), rtol=1e-12, atol=1e-300)


def _uniform(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.stack([rng.uniform(8, W - 9, n), rng.uniform(8, H - 9, n)], -1))


@pytest.mark.parametrize("grid", ["heatmap", "input"])
def test_every_random_draw_lies_on_the_grid_next_to_the_joint(grid):
    c = _uniform(2000, 1)
    scale = 1 if grid == "heatmap" else STRIDE
    got = codecs.centres(c, (H, W), "quantized", grid, STRIDE, "random", torch.Generator().manual_seed(0))
    on_grid = got * scale
    np.testing.assert_allclose(on_grid, torch.round(on_grid), atol=1e-9)
    assert ((on_grid == torch.floor(c * scale)) | (on_grid == torch.floor(c * scale) + 1)).all()


def test_random_rounding_mean_converges_to_the_coordinate():
    """One fixed coordinate per fractional part, drawn N times: the mean of a Bernoulli(f) step has
    standard error sqrt(f (1 - f) / N); the mean centre must be within 5 of them of the truth."""
    fracs = torch.tensor([0.1, 0.25, 0.5, 0.9], dtype=torch.float64)
    x = (12.0 + fracs).repeat(N, 1)  # (N, 4)
    g = torch.Generator().manual_seed(7)
    mean = codecs.round_coords(x, "random", g).mean(dim=0)
    se = torch.sqrt(fracs * (1 - fracs) / N)
    assert (mean - (12.0 + fracs)).abs().max() < 5 * se.min()  # 5 SE of the smallest: < 0.0048 px
    # nearest and ceil on the same points are off by their deterministic amounts
    assert torch.allclose(codecs.round_coords(x[:1], "ceil") - x[:1], 1 - fracs)


@pytest.mark.parametrize(
    ("rounding", "bias", "rms"),
    [
        ("nearest", 0.0, math.sqrt(1 / 12)),  # U(-1/2, 1/2)
        ("ceil", 0.5, math.sqrt(1 / 3)),  # U(0, 1)
        ("floor", -0.5, math.sqrt(1 / 3)),
        ("random", 0.0, math.sqrt(1 / 6)),  # E[f (1 - f)] over f ~ U(0, 1)
    ],
)
@pytest.mark.parametrize("grid", ["heatmap", "input"])
def test_error_laws_per_axis_on_each_grid(rounding, bias, rms, grid):
    """Uniform coordinates: error (centre - truth) in grid px. SE of the bias <= 0.58 / sqrt(N) = 0.0018,
    SE of the RMS <= 0.001 px; tolerance 0.01 grid px (> 5 SE) for both."""
    c = _uniform(N, 2)
    scale = 1 if grid == "heatmap" else STRIDE
    g = torch.Generator().manual_seed(5)
    err = (codecs.centres(c, (H, W), "quantized", grid, STRIDE, rounding, g) - c) * scale
    np.testing.assert_allclose(err.mean(dim=0), [bias, bias], atol=0.01)
    np.testing.assert_allclose(err.pow(2).mean(dim=0).sqrt(), [rms, rms], atol=0.01)


def test_random_rounding_is_repeatable_and_draws_afresh():
    c = _uniform(50, 3)
    a = codecs.encode(
        c, (H, W), method="quantized", rounding="random", generator=torch.Generator().manual_seed(1)
    )
    b = codecs.encode(
        c, (H, W), method="quantized", rounding="random", generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(1)
    first = codecs.encode(c, (H, W), method="quantized", rounding="random", generator=g)
    second = codecs.encode(c, (H, W), method="quantized", rounding="random", generator=g)
    assert not torch.equal(first, second)


def test_rounding_errors():
    with pytest.raises(ValueError, match="generator"):
        codecs.encode(np.zeros((1, 2)), (H, W), method="quantized", rounding="random")
    with pytest.raises(ValueError, match="rounding"):
        codecs.encode(np.zeros((1, 2)), (H, W), method="quantized", rounding="banker")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("stride", [4, 8, 16])
def test_the_placebo_grid_moves_every_centre_by_at_most_half_a_step_onto_the_grid(dtype, stride):
    """Nearest rounding on a grid of 1/64 input px: every centre lies exactly on the grid (a multiple of
    1/64 input px: the step is a power of two, so dividing by it, rounding and multiplying back are exact)
    and at most 1/128 input px from the joint; half-way points round up, as ``floor(x + 0.5)`` does."""
    g = torch.Generator().manual_seed(0)
    x_in = torch.rand(N, 2, generator=g, dtype=torch.float64) * torch.tensor([320.0, 160.0])
    halves = torch.tensor([[10 + 1 / 128, 3 + 65 / 128], [0.0, 1 / 64]], dtype=torch.float64)
    x_in = torch.cat([x_in, halves]).to(dtype)
    c = codecs.centres(x_in / stride, (H, W), "quantized", "input", stride, "nearest", grid_step=1 / 64)
    c_in = (c * stride).double()
    on_grid = c_in * 64
    assert torch.equal(on_grid, torch.round(on_grid))  # exactly on the 1/64 grid
    assert float((c_in - x_in.double()).abs().max()) <= 1 / 128  # moved by at most half a step
    assert c_in[-2:].tolist() == [[10 + 1 / 64, 3 + 66 / 128], [0.0, 1 / 64]]  # halves up; grid points stay
    # the heatmap grid with a step: d R(x / d) in heatmap px
    h = codecs.centres(torch.tensor([[2.3]], dtype=dtype), (H, W), "quantized", "heatmap", stride,
                       "nearest", grid_step=0.25)  # fmt: skip
    assert h.tolist() == [[2.25]]
    # the placebo row's targets differ from the unbiased ones by at most the Gaussian's steepest slope
    # (1 / (sigma sqrt(e)) per heatmap px) times the centre's shift (sqrt(2) / 128 input px at most)
    codec = codecs.Codec("placebo", 2.0, stride, "stride", (160, 320), (160 // stride, 320 // stride))
    t, _ = codec.targets(x_in[None, :4], torch.ones(1, 4, dtype=torch.bool))
    u = codecs.encode(x_in[None, :4] / stride, codec.heatmap_size, 2.0)
    assert float((t - u).abs().max()) <= math.sqrt(2) / (128 * stride) / (2.0 * math.exp(0.5)) + 1e-6
    with pytest.raises(ValueError, match="grid_step"):
        codecs.encode(np.zeros((1, 2)), (H, W), method="quantized", grid_step=0)


# --- the table and the Codec ---------------------------------------------------------------------


def test_encodings_table_is_the_contract():
    rows = {n: (e.method, e.grid, e.rounding) for n, e in codecs.ENCODINGS.items()}
    assert rows == {
        "unbiased": ("unbiased", None, None),
        "quantized": ("quantized", "input", "nearest"),
        "ceil": ("quantized", "input", "ceil"),
        "floor": ("quantized", "input", "floor"),
        "quantized-heatmap": ("quantized", "heatmap", "nearest"),
        "random-heatmap": ("quantized", "heatmap", "random"),
        "placebo": ("quantized", "input", "nearest"),
    }
    steps = {n: e.grid_step for n, e in codecs.ENCODINGS.items()}
    assert steps == {n: 1 / 64 if n == "placebo" else 1.0 for n in codecs.ENCODINGS}
    assert codecs.ENCODINGS["unbiased"].label == "w/o quant"
    assert all(e.name == n and e.label and e.description for n, e in codecs.ENCODINGS.items())


CONFIG = {"sigma": 2.0, "heatmap_stride": 8, "scaling": "stride", "heatmap_size": [20, 40]}


@pytest.mark.parametrize("encoding", list(codecs.ENCODINGS))
def test_codec_from_config(encoding):
    """A mapping of current names (old config.json spellings: dark.experiment.runs.RunConfig.from_json)."""
    c = codecs.Codec.from_config({**CONFIG, "encoding": encoding})
    assert c == codecs.Codec(encoding, 2.0, 8, "stride", (160, 320), (20, 40))


def test_codec_targets_are_encode_with_the_row():
    j = torch.tensor([[[41.2, 22.4], [100.7, 60.1]]], dtype=torch.float64)  # input px
    vis = torch.tensor([[True, False]])
    for name, e in codecs.ENCODINGS.items():
        codec = codecs.Codec(name, 2.0, STRIDE, "stride", (160, 320), (H, W))
        t, w = codec.targets(j, vis, generator=torch.Generator().manual_seed(0))
        ref, ref_w = codecs.encode(
            j / STRIDE, (H, W), 2.0, e.method, e.grid, STRIDE, e.rounding,
            torch.Generator().manual_seed(0), visible=vis, return_weights=True, grid_step=e.grid_step,
        )  # fmt: skip
        assert torch.equal(t, ref) and torch.equal(w, ref_w) and w.tolist() == [[1.0, 0.0]]


def test_codec_mapping_round_trips_and_udp_uses_the_sizes():
    j = np.array([[0.0, 0.0], [319.0, 159.0], [41.2, 22.4]])
    udp = codecs.Codec("unbiased", 2.0, STRIDE, "udp", (160, 320), (H, W))
    np.testing.assert_allclose(udp.to_heatmap(j)[1], [79.0, 39.0])
    np.testing.assert_allclose(udp.to_input(udp.to_heatmap(j)), j, atol=1e-12)
    std = codecs.Codec("ceil", 2.0, STRIDE, "stride", (160, 320), (H, W))
    np.testing.assert_allclose(std.to_heatmap(j), j / STRIDE)
    with pytest.raises(ValueError, match="encoding"):
        codecs.Codec("banker", 2.0, STRIDE, "stride", (160, 320), (H, W))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_random_rounding_on_cuda_matches_the_cpu_with_the_same_generator():
    """Training encodes on the GPU: a CPU generator gives the same draws as on the CPU, and a CUDA
    generator works too (its draws are on the device)."""
    c = _uniform(200, 4)
    cpu = codecs.encode(
        c, (H, W), method="quantized", rounding="random", generator=torch.Generator().manual_seed(2)
    )
    gpu = codecs.encode(
        c.cuda(), (H, W), method="quantized", rounding="random", generator=torch.Generator().manual_seed(2)
    )
    torch.testing.assert_close(gpu.cpu(), cpu)
    g = torch.Generator(device="cuda").manual_seed(2)
    on_device = codecs.encode(c.cuda(), (H, W), method="quantized", rounding="random", generator=g)
    assert on_device.device.type == "cuda" and torch.isfinite(on_device).all()
