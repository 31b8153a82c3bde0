"""dark.study.synthetic: the Gaussian model and the noise statistics the decoder study relies on."""

import numpy as np
import pytest
import torch

from dark.study.synthetic import add_noise, gaussian_maps, random_centres


def test_gaussian_maps_values_and_broadcasting():
    centres = torch.tensor([[3.25, 2.5], [0.0, 4.0]], dtype=torch.float64)
    sigma = torch.tensor([1.0, 2.0], dtype=torch.float64)
    m = gaussian_maps(centres, (6, 8), sigma, amplitude=2.0, dtype=torch.float64)
    assert m.shape == (2, 6, 8)
    yy, xx = np.mgrid[0:6, 0:8]
    for i, ((cx, cy), s) in enumerate(zip(centres.tolist(), sigma.tolist(), strict=True)):
        ref = 2.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
        np.testing.assert_allclose(m[i].numpy(), ref, rtol=1e-12)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        gaussian_maps([1.0, 2.0, 3.0], (4, 4))
    with pytest.raises(ValueError, match="sigma"):
        gaussian_maps([[1.0, 2.0]], (4, 4), sigma=0.0)


def test_white_noise_is_seeded_with_the_right_level():
    maps = torch.zeros(200, 32, 32, dtype=torch.float64)
    a = add_noise(maps, 0.1, seed=3)
    b = add_noise(maps, 0.1, seed=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, add_noise(maps, 0.1, seed=4))
    assert abs(a.std().item() - 0.1) < 0.001
    assert abs(a.mean().item()) < 0.001
    # neighbours uncorrelated
    corr = (a[..., :, 1:] * a[..., :, :-1]).mean() / a.var()
    assert abs(corr.item()) < 0.01


def test_correlated_noise_keeps_the_level_and_has_the_blur_correlation():
    maps = torch.zeros(400, 40, 40, dtype=torch.float64)
    rho = 1.5
    a = add_noise(maps, 0.2, seed=5, correlation=rho)
    # per-pixel std is exactly renormalised, also in the corner and at the border
    for sl in [(slice(None), 0, 0), (slice(None), 20, 0), (slice(None), 20, 20)]:
        assert abs(a[sl].std().item() / 0.2 - 1) < 0.1
    # white noise blurred by a Gaussian of std rho has correlation exp(-d^2 / (4 rho^2)) at lag d
    inner = a[:, 10:30, 10:30]
    for d in (1, 2, 3):
        c = (inner[:, :, d:] * inner[:, :, :-d]).mean() / inner.var()
        assert abs(c.item() - np.exp(-(d**2) / (4 * rho**2))) < 0.03


def test_random_centres_respect_the_margin():
    c = random_centres(1000, (20, 30), 3.0, seed=1)
    assert c.shape == (1000, 2)
    assert c[:, 0].min() >= 3.0 and c[:, 0].max() <= 26.0
    assert c[:, 1].min() >= 3.0 and c[:, 1].max() <= 16.0
    with pytest.raises(ValueError, match="margin"):
        random_centres(1, (5, 5), 3.0, seed=1)
