"""The ``mle`` decoder: exact on clean maps, efficient (at the Cramer-Rao bound) in noise, never NaN."""

import math

import numpy as np
import pytest
import torch

from dark.codecs.mle import decode_mle, matched_filter_peak
from dark.study.synthetic import add_noise, gaussian_maps, random_centres
from dark.study.theory import crlb

pytestmark = pytest.mark.usefixtures("one_torch_thread")


SIZE = (32, 32)


def euclidean_rmse(est: torch.Tensor, truth: torch.Tensor) -> float:
    return float(((est.double() - truth.double()) ** 2).sum(-1).mean().sqrt())


def bound_rmse(sigma: float, noise: float, centres: torch.Tensor, size=SIZE) -> float:
    """RMS over the trials' centres of the per-centre CRLB on the Euclidean error."""
    return float(np.sqrt(crlb(sigma, 1.0, noise, size, centres.numpy()).sum(-1).mean()))


@pytest.mark.parametrize("sigma", [0.8, 1.0, 1.7, 2.0, 3.0])
def test_clean_maps_decode_exactly(sigma):
    c = random_centres(200, SIZE, 1.0, seed=7)  # also within 1 px of the border: a masked window
    maps = gaussian_maps(c, SIZE, sigma, dtype=torch.float64)
    est = decode_mle(maps, sigma)
    assert est.dtype == torch.float64
    assert float((est - c).abs().max()) < 1e-6


@pytest.mark.parametrize("amplitude", [1e-30, 1e-3, 1.0, 1e6, 1e30])
def test_scale_invariant(amplitude):
    c = torch.tensor([[10.3, 12.8], [20.7, 5.4]])
    maps = gaussian_maps(c, SIZE, 2.0, amplitude=amplitude)
    est = decode_mle(maps, 2.0)
    assert float((est - c).abs().max()) < 1e-4


def test_fitted_sigma_recovers_the_centre_of_a_wider_gaussian():
    c = random_centres(50, SIZE, 8.0, seed=2, dtype=torch.float32)
    maps = gaussian_maps(c, SIZE, 2.6)
    assert float((decode_mle(maps, 2.0, fit_sigma=True) - c).abs().max()) < 1e-4
    # with the wrong sigma fixed, the centre of a symmetric Gaussian is still found (not the width)
    assert float((decode_mle(maps, 2.0) - c).abs().max()) < 1e-3


# (sigma, noise) spanning sigma 1-3 and noise 0.02-0.20; a different noise seed per point (with a
# shared seed, low-noise points would be exact rescalings of each other: linear regime).
GRID = [
    (1.0, 0.02), (1.0, 0.10), (1.0, 0.20), (1.5, 0.05), (1.5, 0.20),
    (2.0, 0.02), (2.0, 0.20), (2.5, 0.10), (3.0, 0.05), (3.0, 0.20),
]  # fmt: skip


def test_rmse_within_5_percent_of_the_cramer_rao_bound():
    # 3000 trials per point: the sampling error of an RMSE is about 0.5 / sqrt(3000) = 0.9%
    n = 3000
    ratios = {}
    for k, (sigma, noise) in enumerate(GRID):
        c = random_centres(n, SIZE, 3 * sigma, seed=100 + k, dtype=torch.float32)
        maps = add_noise(gaussian_maps(c, SIZE, sigma), noise, seed=200 + k)
        ratios[sigma, noise] = euclidean_rmse(decode_mle(maps, sigma), c) / bound_rmse(sigma, noise, c)
    assert all(r <= 1.05 for r in ratios.values()), ratios
    # an unbiased estimator cannot beat the bound beyond sampling error: the test is not vacuous
    assert all(r >= 0.93 for r in ratios.values()), ratios


def test_matched_filter_start_avoids_the_low_snr_threshold_effect():
    # sigma 1, noise 0.2: the raw argmax sometimes sits on a noise spike; the matched filter does not
    n, sigma, noise = 3000, 1.0, 0.2
    c = random_centres(n, SIZE, 3 * sigma, seed=11, dtype=torch.float32)
    maps = add_noise(gaussian_maps(c, SIZE, sigma), noise, seed=12)
    bound = bound_rmse(sigma, noise, c)
    err_matched = (decode_mle(maps, sigma) - c).norm(dim=-1)
    err_argmax = (decode_mle(maps, sigma, init="argmax") - c).norm(dim=-1)
    assert euclidean_rmse(decode_mle(maps, sigma), c) <= 1.05 * bound
    assert float(err_matched.max()) < 1.5  # no gross error
    assert int((err_argmax > 3).sum()) >= 1  # gross errors: the fit started on a spike
    assert float(err_argmax.pow(2).mean().sqrt()) > 2 * bound


def test_matched_filter_peak_on_a_clean_gaussian():
    c = torch.tensor([[10.2, 12.9], [0.0, 31.0]])
    m, frac = matched_filter_peak(gaussian_maps(c, SIZE, 1.5), 1.5)
    assert m[0].tolist() == [10, 13]
    # zero padding pulls the correlation peak of a corner Gaussian inwards (the fit then corrects it)
    assert abs(int(m[1, 0]) - 0) <= 1 and abs(int(m[1, 1]) - 31) <= 1
    # the correlation of two Gaussians of sigma s is a Gaussian of s * sqrt(2): a parabola through
    # its samples moves towards the true centre but not all the way
    assert 0 < float(frac[0, 0]) < 0.2 + 1e-6 and -0.1 - 1e-6 < float(frac[0, 1]) < 0


def test_bad_input_never_gives_nan():
    maps = gaussian_maps(torch.tensor([[12.3, 8.6]] * 8), SIZE, 2.0)
    maps[1, 5, 5] = float("nan")
    maps[1, 9, 12] = float("inf")
    maps[2] = float("nan")
    maps[3] = 0.0
    maps[4] = -1.0
    maps[5] = gaussian_maps(torch.tensor([0.0, 0.0]), SIZE, 2.0)  # corner peak
    maps[6] = torch.randn(SIZE, generator=torch.Generator().manual_seed(0)) * 1e3
    maps[7, 8, 12] = 1e30  # a single enormous spike
    est = decode_mle(maps, 2.0)
    assert torch.isfinite(est).all()
    assert float((est[0] - torch.tensor([12.3, 8.6])).abs().max()) < 1e-4
    assert float((est[1] - torch.tensor([12.3, 8.6])).abs().max()) < 1e-3  # non-finite pixels ignored
    assert float((est[5] - torch.tensor([0.0, 0.0])).abs().max()) < 1e-3
    assert ((est >= -2) & (est <= 33)).all()  # never far outside the map
    for init in ("argmax", "matched"):
        assert torch.isfinite(decode_mle(maps, 2.0, init=init, fit_sigma=True)).all()


def test_bad_arguments_and_dtypes():
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        decode_mle(torch.zeros(4, 4), 2.0)
    with pytest.raises(ValueError, match="sigma"):
        decode_mle(torch.zeros(1, 4, 4), math.nan)
    with pytest.raises(ValueError, match="init"):
        decode_mle(torch.zeros(1, 4, 4), 2.0, init="spline")
    assert decode_mle(torch.zeros(0, 4, 4), 2.0).shape == (0, 2)
    half = gaussian_maps(torch.tensor([[9.25, 14.5]]), SIZE, 2.0).half()
    est = decode_mle(half, 2.0)
    assert est.dtype == torch.float32
    assert float((est - torch.tensor([9.25, 14.5])).abs().max()) < 0.02  # float16 map quantisation


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    c = random_centres(64, SIZE, 6.0, seed=3, dtype=torch.float32)
    maps = add_noise(gaussian_maps(c, SIZE, 2.0), 0.05, seed=4)
    cpu = decode_mle(maps, 2.0)
    gpu = decode_mle(maps.cuda(), 2.0)
    assert gpu.device.type == "cuda"
    assert float((gpu.cpu() - cpu).abs().max()) < 1e-4


def test_registered_in_codecs_with_its_options():
    from dark import codecs

    assert "mle" in codecs.DECODERS
    c = torch.tensor([[11.3, 7.8], [20.25, 15.5]])
    maps = gaussian_maps(c, SIZE, 2.6)[None]  # (1, K=2, H, W)
    maps[0, 1] = float("nan")  # an invalid map: the registry answers the map centre, confidence 0
    coords, conf, valid = codecs.decode(maps, "mle", sigma=2.0, fit_sigma=True, return_valid=True)
    assert valid.tolist() == [[True, False]]
    assert float((coords[0, 0] - c[0]).abs().max()) < 1e-4
    assert coords[0, 1].tolist() == [(SIZE[1] - 1) / 2, (SIZE[0] - 1) / 2] and float(conf[0, 1]) == 0
    with pytest.raises(ValueError, match="option"):
        codecs.decode(maps, "mle", sigma=2.0, beta=3.0)
