"""dark.study.theory.crlb: against an independent Fisher computation, its closed form, and Monte-Carlo."""

import math

import numpy as np
import pytest
import torch

from dark.codecs.mle import decode_mle
from dark.study.synthetic import add_noise, gaussian_maps
from dark.study.theory import crlb, crlb_rmse

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fisher_by_finite_differences(sigma, amp, noise, size, centre, fit_sigma=False, eps=1e-5):
    """Fisher matrix of (A, x0, y0[, sigma]) from central differences of the full (H, W) model."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)

    def model(theta):
        a, x0, y0 = theta[:3]
        s = theta[3] if fit_sigma else sigma
        return a * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s * s))

    theta = np.array([amp, *centre] + ([sigma] if fit_sigma else []), dtype=np.float64)
    grads = []
    for i in range(theta.size):
        d = np.zeros_like(theta)
        d[i] = eps
        grads.append(((model(theta + d) - model(theta - d)) / (2 * eps)).ravel())
    jac = np.stack(grads, axis=1)
    return jac.T @ jac / noise**2


@pytest.mark.parametrize("fit_sigma", [False, True])
@pytest.mark.parametrize(
    ("sigma", "centre", "size"),
    [(1.7, (2.3, 5.7), (12, 16)), (0.6, (7.5, 3.25), (9, 11)), (3.0, (20.1, 1.0), (24, 40))],
)
def test_matches_an_independent_fisher_computation(sigma, centre, size, fit_sigma):
    # near the border and at small sigma, where the sampled bound departs from the closed form
    info = fisher_by_finite_differences(sigma, 0.8, 0.07, size, centre, fit_sigma)
    expected = np.diag(np.linalg.inv(info))[1:3]
    got = crlb(sigma, 0.8, 0.07, size, centre, fit_sigma=fit_sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_scales_as_noise_squared_over_amplitude_squared():
    noise = np.array([0.01, 0.02, 0.2, 1.5])
    v = crlb(1.3, 1.0, noise, (20, 30), (10.4, 7.2))
    np.testing.assert_allclose(v / v[:1], np.stack([(noise / noise[0]) ** 2] * 2, axis=1), rtol=1e-12)
    amp = np.array([0.5, 2.0, 1e3])
    va = crlb(1.3, amp, 0.1, (20, 30), (10.4, 7.2))
    np.testing.assert_allclose(va * amp[:, None] ** 2, np.broadcast_to(va[:1] * 0.25, va.shape), rtol=1e-12)


@pytest.mark.parametrize(("sigma", "rtol"), [(1.0, 3e-3), (1.5, 1e-6), (2.0, 1e-8), (3.0, 1e-8)])
@pytest.mark.parametrize("fit_sigma", [False, True])
def test_large_grid_closed_form(sigma, rtol, fit_sigma):
    # sum_p g^2 (x - x0)^2 / sigma^4 -> integral = pi / 2, so var = 2 noise^2 / (pi A^2), any sigma;
    # at sigma 1 the pixel sampling still aliases (Poisson summation, ~exp(-pi^2 sigma^2) terms)
    noise, amp = 0.05, 1.0
    v = crlb(sigma, amp, noise, (96, 128), (60.37, 47.81), fit_sigma=fit_sigma)
    np.testing.assert_allclose(v, 2 * noise**2 / (math.pi * amp**2), rtol=rtol)


def test_broadcasts_over_all_arguments():
    sigma = np.array([1.0, 2.0, 3.0])[:, None, None]
    noise = np.array([0.02, 0.1])[None, :, None]
    centres = np.array([[10.2, 12.9], [15.5, 16.0], [20.0, 11.3], [12.0, 12.0]])[None, None]
    v = crlb(sigma, 1.0, noise, (32, 36), centres)
    assert v.shape == (3, 2, 4, 2)
    for i, s in enumerate([1.0, 2.0, 3.0]):
        for j, n in enumerate([0.02, 0.1]):
            for k in range(4):
                np.testing.assert_allclose(
                    v[i, j, k], crlb(s, 1.0, n, (32, 36), centres[0, 0, k]), rtol=1e-12
                )
    r = crlb_rmse(sigma, 1.0, noise, (32, 36), centres)
    np.testing.assert_allclose(r, np.sqrt(v.sum(-1)))


def test_degenerate_and_bad_arguments():
    assert np.isinf(crlb(2.0, 0.0, 0.1, (32, 32))).all()
    assert (crlb(2.0, 1.0, 0.0, (32, 32)) == 0).all()
    with pytest.raises(ValueError, match="sigma"):
        crlb(0.0, 1.0, 0.1, (32, 32))
    with pytest.raises(ValueError, match="noise_std"):
        crlb(1.0, 1.0, -0.1, (32, 32))
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        crlb(1.0, 1.0, 0.1, (32, 32), centre=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="size"):
        crlb(1.0, 1.0, 0.1, (32,))


@pytest.mark.parametrize(("sigma", "centre"), [(2.0, (16.3, 15.8)), (1.0, (14.6, 17.25))])
def test_monte_carlo_variance_of_the_mle_matches_the_bound(sigma, centre):
    # moderate noise: the least-squares fit is efficient, its per-axis variance is the bound (+-10%);
    # with 4000 trials the sampling error of a variance is sqrt(2 / 4000) = 2.2%.
    n, size, noise = 4000, (32, 32), 0.05
    clean = gaussian_maps(torch.tensor([centre] * n), size, sigma)
    maps = add_noise(clean, noise, seed=20260521)
    est = decode_mle(maps, sigma).double().numpy()
    var = est.var(axis=0)
    bound = crlb(sigma, 1.0, noise, size, centre)
    np.testing.assert_allclose(var, bound, rtol=0.10)
    # and the fit is unbiased to well within its own standard error
    assert np.all(np.abs(est.mean(axis=0) - np.array(centre)) < 4 * np.sqrt(bound / n))
