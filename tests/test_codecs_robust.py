"""dark.codecs on bad input, across libraries, dtypes and devices, and batch independence.

Every generic test iterates over ``codecs.DECODERS``, so a newly registered decoder is covered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dark import codecs

H, W = 16, 12
CENTRE = ((W - 1) / 2, (H - 1) / 2)
#: the decoders book/codecs.md calls scale-invariant
SCALE_INVARIANT = (
    "argmax", "standard", "standard_2nd", "standard_top2", "dark", "dark_report",
    "com", "local_com", "mom", "gaussian_fit",
)  # fmt: skip


def gaussian(cx: float, cy: float, sigma: float = 2.0, amp: float = 1.0, size=(H, W)) -> np.ndarray:
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]]
    return amp * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))


def batch(n: int = 6, seed: int = 0, noise: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    maps = [gaussian(rng.uniform(2, W - 3), rng.uniform(2, H - 3), rng.uniform(1.2, 2.5)) for _ in range(n)]
    return (np.stack(maps) + rng.normal(0, noise, (n, H, W))).astype(np.float32)


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_nan_and_inf_are_ignored(name):
    clean = batch()
    dirty = clean.copy()
    dirty[0, 0, 0] = np.nan
    dirty[1, -1, 3] = np.inf
    dirty[2, 5, -1] = -np.inf
    dirty[3, 0, :] = np.nan
    # the same maps with the missing values as 0, which is what "ignored" means
    zeroed = np.where(np.isfinite(dirty), dirty, 0).astype(np.float32)
    coords, conf, valid = codecs.decode(dirty, name, return_valid=True)
    expected, expected_conf = codecs.decode(zeroed, name)
    assert np.isfinite(coords).all() and np.isfinite(conf).all() and valid.all()
    np.testing.assert_allclose(coords, expected, atol=1e-6)
    np.testing.assert_array_equal(conf, expected_conf)


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_missing_values_raise_no_warning(name):
    """"Ignored" includes silent: +Inf beside one peak and -Inf beside another (their blurred values meet
    in one sum), and huge finite values, decode without a RuntimeWarning."""
    maps = batch(4)
    for i, value in enumerate((np.inf, -np.inf, np.nan)):
        y, x = np.unravel_index(np.argmax(maps[i]), maps[i].shape)
        maps[i, y, min(x + 1, W - 1)] = value  # next to the peak: every blur reaches it
    ordinary = maps[3].copy()
    maps[3] *= np.float32(3e38) / maps[3].max()  # finite, but sums of them overflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coords, conf = codecs.decode(maps, name)
    assert np.isfinite(coords).all() and np.isfinite(conf).all()
    if name in ("argmax", "standard", "dark", "com", "local_com", "mom", "gaussian_fit"):  # scale-invariant
        np.testing.assert_allclose(coords[3], codecs.decode(ordinary[None], name)[0][0], atol=1e-5)


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_invalid_maps_are_flagged_and_isolated(name):
    maps = batch(7)
    alone = [codecs.decode(m[None], name)[0][0] for m in maps]
    maps[1] = 0.0  # max == 0
    maps[3] = -np.abs(maps[3]) - 0.1  # all negative
    maps[5] = np.nan  # no finite value
    maps[6, :, :] = np.inf  # no finite value either
    coords, conf, valid = codecs.decode(maps, name, return_valid=True)
    assert valid.tolist() == [True, False, True, False, True, False, False]
    for i in (1, 3, 5, 6):
        assert tuple(coords[i]) == CENTRE and conf[i] == 0
    for i in (0, 2, 4):  # the others as if decoded alone
        np.testing.assert_allclose(coords[i], alone[i], atol=1e-6)
    assert np.isfinite(coords).all() and np.isfinite(conf).all()


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_all_invalid_and_empty_batches(name):
    coords, conf, valid = codecs.decode(np.zeros((2, 3, H, W), np.float32), name, return_valid=True)
    assert coords.shape == (2, 3, 2) and (coords == CENTRE).all() and (conf == 0).all() and not valid.any()
    coords, conf = codecs.decode(torch.zeros((0, 4, H, W)), name)
    assert coords.shape == (0, 4, 2) and conf.shape == (0, 4)


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_no_reads_across_maps(name):
    """A map next to a huge neighbour (in memory, before and after it) decodes as alone."""
    m = batch(1)[0]
    lone = codecs.decode(m[None], name)[0][0]
    spike = np.zeros((H, W), np.float32)
    spike[-1, -1] = spike[0, 0] = spike[0, -1] = spike[-1, 0] = 1e6
    coords = codecs.decode(np.stack([spike, m, spike]), name)[0]
    np.testing.assert_allclose(coords[1], lone, atol=1e-6)


@pytest.mark.parametrize("name", codecs.DECODERS)
@pytest.mark.parametrize("where", ["corner", "edge"])
def test_border_peaks_are_finite_and_in_the_map(name, where):
    cx, cy = (0.0, H - 1.0) if where == "corner" else (W - 1.0, 7.3)
    m = gaussian(cx, cy, 1.5).astype(np.float32)
    coords = codecs.decode(m[None], name, sigma=1.5)[0][0]
    assert np.isfinite(coords).all()
    assert -0.5 <= coords[0] <= W - 0.5 and -0.5 <= coords[1] <= H - 0.5


@pytest.mark.parametrize("name", SCALE_INVARIANT)
@pytest.mark.parametrize("scale", [1e-30, 1e6])
def test_scale_invariance(name, scale):
    maps = batch(8, seed=3, noise=0.02)
    ref = codecs.decode(maps.astype(np.float64), name)[0]
    scaled = codecs.decode((maps.astype(np.float64) * scale).astype(np.float32), name)[0]
    # float32 rounds the scaled values differently (relative 6e-8): tiny differences only
    np.testing.assert_allclose(scaled, ref, atol=1e-4)


@pytest.mark.parametrize("name", ["soft_argmax", "dark_udp"])
@pytest.mark.parametrize("scale", [1e-30, 1e6])
def test_scale_dependent_decoders_stay_finite(name, scale):
    coords, conf, valid = codecs.decode(batch(4) * np.float32(scale), name, return_valid=True)
    assert np.isfinite(coords).all() and np.isfinite(conf).all() and valid.all()


@pytest.mark.parametrize(
    "bad",
    [np.zeros((H, W), np.float32), np.zeros((3, 0, W), np.float32), np.zeros((2, H, 0), np.float32)],
    ids=["2d", "no-rows", "no-cols"],
)
def test_wrong_shapes_raise_value_error_naming_the_shape(bad):
    with pytest.raises(ValueError, match=r"\(\.\.\., K, H, W\)"):
        codecs.decode(bad)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((1, H, W), np.int32),
        torch.zeros((1, H, W), dtype=torch.int64),
        [[[1.0]]],
        np.zeros((1, 2, 2), bool),
    ],
)
def test_wrong_dtypes_raise_value_error_naming_the_shape(bad):
    with pytest.raises(ValueError, match=r"\(\.\.\., K, H, W\)"):
        codecs.decode(bad)


def test_bad_arguments_raise_value_error():
    maps = batch(2)
    with pytest.raises(ValueError, match="unknown decoder"):
        codecs.decode(maps, "nope")
    with pytest.raises(ValueError, match="sigma"):
        codecs.decode(maps, sigma=0)
    with pytest.raises(ValueError, match="option"):
        codecs.decode(maps, "com", beta=3)
    with pytest.raises(ValueError, match="kernel_size"):
        codecs.decode(maps, "dark", kernel_size=4)


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_kernel_size_is_ignored_by_decoders_without_blur(name):
    maps = batch(3)
    np.testing.assert_allclose(
        codecs.decode(maps, name, kernel_size=5)[0],
        codecs.decode(maps, name, **({"kernel_size": 5} if name.startswith("dark") else {}))[0],
    )


@pytest.mark.parametrize("name", codecs.DECODERS)
def test_libraries_dtypes_and_shapes(name):
    maps = batch(6).reshape(2, 3, H, W)
    ref, ref_conf = codecs.decode(maps.astype(np.float64), name)
    assert ref.dtype == np.float64 and ref.shape == (2, 3, 2) and ref_conf.shape == (2, 3)
    for dtype, out, tol in [
        (torch.float64, torch.float64, 1e-9),
        (torch.float32, torch.float32, 1e-4),
        (torch.float16, torch.float32, 0.05),
        (torch.bfloat16, torch.float32, 0.3),
    ]:
        t = torch.from_numpy(maps).to(dtype)
        coords, conf, valid = codecs.decode(t, name, return_valid=True)
        assert coords.dtype == out and conf.dtype == out and valid.dtype == torch.bool
        assert coords.shape == (2, 3, 2) and conf.shape == (2, 3)
        # the decoders see the half-precision values themselves: compare with those in float64
        exact = codecs.decode(t.double().numpy(), name)[0]
        np.testing.assert_allclose(coords.double().numpy(), exact, atol=1e-4)
        np.testing.assert_allclose(coords.double().numpy(), ref, atol=tol)
    np.testing.assert_allclose(codecs.decode(maps, name)[0], ref, atol=1e-4)  # float32 numpy


def test_decode_does_not_modify_its_input():
    maps = batch(4)
    maps[0, 2, 2] = np.nan
    before = maps.copy()
    for name in codecs.DECODERS:
        codecs.decode(maps, name)
        codecs.decode(torch.from_numpy(maps), name)
    np.testing.assert_array_equal(maps, before)


def test_read_only_and_non_contiguous_inputs():
    maps = batch(6).reshape(2, 3, H, W)
    expected = codecs.decode(maps, "dark")[0]
    ro = maps.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(codecs.decode(ro, "dark")[0], expected)
    transposed = np.ascontiguousarray(maps.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    np.testing.assert_array_equal(codecs.decode(transposed, "dark")[0], expected)
    big_endian = maps.astype(">f4")
    np.testing.assert_array_equal(codecs.decode(big_endian, "dark")[0], expected)


# --- properties (hypothesis) -------------------------------------------------------------------------

values = st.one_of(
    st.floats(-2, 2, width=32),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e-30, 1e6]),
)
small_maps = hnp.arrays(
    np.float32, st.tuples(st.integers(1, 6), st.integers(1, 9), st.integers(1, 9)), elements=values
)


@settings(max_examples=40, deadline=None)
@given(maps=small_maps, name=st.sampled_from(codecs.DECODERS))
def test_property_any_input_gives_finite_answers_and_the_rules(maps, name):
    n, h, w = maps.shape
    coords, conf, valid = codecs.decode(maps, name, sigma=1.0, return_valid=True)
    assert coords.shape == (n, 2) and np.isfinite(coords).all() and np.isfinite(conf).all()
    finite = np.where(np.isfinite(maps), maps, -np.inf).reshape(n, -1)
    top = finite.max(axis=1)
    np.testing.assert_array_equal(valid, top > 0)
    np.testing.assert_array_equal(conf, np.where(top > 0, top, 0))
    assert (coords[~valid] == ((w - 1) / 2, (h - 1) / 2)).all()


@settings(max_examples=40, deadline=None)
@given(
    maps=small_maps,
    name=st.sampled_from([d for d in codecs.DECODERS if not codecs.REGISTRY[d].batch]),  # batch: by design
    perm_seed=st.integers(0, 2**16),
    pad=st.integers(0, 3),
)
def test_property_batch_independence(maps, name, perm_seed, pad):
    """A map decodes the same alone or inside any batch, in any order, next to any other maps."""
    n = maps.shape[0]
    rng = np.random.default_rng(perm_seed)
    others = rng.normal(0, 1, (pad, *maps.shape[1:])).astype(np.float32)
    big = np.concatenate([others, maps, others[::-1]])
    order = rng.permutation(len(big))
    coords, conf = codecs.decode(big[order], name, sigma=1.0)
    back, back_conf = np.empty_like(coords), np.empty_like(conf)
    back[order], back_conf[order] = coords, conf
    for i in range(n):
        alone, alone_conf = codecs.decode(maps[i : i + 1], name, sigma=1.0)
        np.testing.assert_allclose(back[pad + i], alone[0], atol=1e-6, rtol=1e-6)  # float32 rounding at most
        assert back_conf[pad + i] == alone_conf[0]


# --- devices ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", codecs.DECODERS)
def test_cuda_matches_cpu(name):
    maps = batch(8)
    maps[1, 0, 0] = np.nan
    maps[2] = 0.0
    cpu, cpu_conf, cpu_valid = codecs.decode(torch.from_numpy(maps), name, return_valid=True)
    gpu, gpu_conf, gpu_valid = codecs.decode(torch.from_numpy(maps).cuda(), name, return_valid=True)
    assert gpu.device.type == "cuda" and gpu_conf.device.type == "cuda"
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), atol=1e-4)
    assert torch.equal(gpu_valid.cpu(), cpu_valid) and torch.equal(gpu_conf.cpu(), cpu_conf)
    targets = codecs.encode(torch.tensor([[3.3, 4.6]], device="cuda"), size=(H, W))
    assert targets.device.type == "cuda"
    np.testing.assert_allclose(
        targets.cpu().numpy(), codecs.encode(np.array([[3.3, 4.6]]), size=(H, W)), atol=1e-6
    )


def test_first_max_device_path_agrees_with_the_numpy_path():
    """The argmax used off the CPU (sanitise, then torch's argmax), run here on CPU half floats."""
    from dark.codecs._maps import first_max

    rows = torch.from_numpy(batch(6).reshape(6, -1))
    rows[0, 5] = torch.nan
    rows[1, :] = -1.0
    rows[2, 7] = torch.inf
    rows[3, :] = torch.nan
    rows = rows.half().float()  # values exactly representable in both paths
    index, value = first_max(rows)
    index_t, value_t = first_max(rows.half())
    assert torch.equal(index, index_t) and torch.equal(value.half(), value_t)


def test_network_outputs_that_require_grad_decode():
    maps = torch.from_numpy(batch(4)).requires_grad_(True)
    for name in codecs.DECODERS:
        coords, conf = codecs.decode(maps * 1.0, name)
        assert not coords.requires_grad and not conf.requires_grad
        np.testing.assert_array_equal(coords.numpy(), codecs.decode(maps.detach(), name)[0].numpy())
