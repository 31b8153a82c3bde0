"""Decoders that weigh the whole map: com, soft_argmax, soft_argmax_debiased, mom.

Each reduces a weight map to its two marginals (one read per axis, in the maps' precision, each sum
short), then works on the ``(N, W)`` and ``(N, H)`` marginals in float64. Inputs are ``(N, H, W)``
finite maps whose maximum is > 0 (what :func:`dark.codecs.decode` passes); outputs ``(N, 2)`` float64
``(x, y)`` in heatmap px.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .local import peak_of

__all__ = ["com", "mom", "soft_argmax", "soft_argmax_debiased"]


def _marginals(weights: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, H, W) -> ((N, W), (N, H))`` float64 column and row sums."""
    return weights.sum(dim=1).to(torch.float64), weights.sum(dim=2).to(torch.float64)


def _overflowed(cols: Tensor) -> Tensor:
    """``(N,)`` bool: which maps' marginals are not finite (sums of float32 values near its largest,
    about 3.4e38, overflow; the maps themselves are finite)."""
    return ~torch.isfinite(cols.sum(dim=1))


def _mass_marginals(maps: Tensor) -> tuple[Tensor, Tensor]:
    """The marginals of ``max(h, 0)`` (:func:`_marginals`); maps whose sums overflow are summed again
    divided by their maximum, which the mean and the median of a marginal do not see."""
    weights = maps.clamp_min(0)
    cols, rows = _marginals(weights)
    bad = _overflowed(cols)
    if bool(bad.any()):
        few = weights[bad]
        cols[bad], rows[bad] = _marginals(few / few.amax(dim=(1, 2), keepdim=True))
    return cols, rows


def _soft_marginals(maps: Tensor, top: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """The marginals of ``exp(beta (h - max h))`` (``top``: ``(N, 1, 1)`` maxima). Maps where ``beta h``
    overflows (``inf - inf``) are computed again as ``(h - max h) beta``, which cannot (it is <= 0);
    the others keep the order of operations, and their results, of before."""
    cols, rows = _marginals((maps * beta).sub_(top * beta).exp_())  # one new tensor
    bad = _overflowed(cols)
    if bool(bad.any()):
        cols[bad], rows[bad] = _marginals(((maps[bad] - top[bad]) * beta).exp_())
    return cols, rows


def _mean(marginal: Tensor) -> Tensor:
    """``(N, L) -> (N,)`` mean position of a non-negative marginal with positive total."""
    pos = torch.arange(marginal.shape[1], dtype=marginal.dtype, device=marginal.device)
    return (marginal * pos).sum(dim=1) / marginal.sum(dim=1)


def _median(marginal: Tensor) -> Tensor:
    """``(N, L) -> (N,)`` median of a non-negative marginal, each pixel's mass spread uniformly over
    ``[i - 1/2, i + 1/2]`` (so the cumulative mass is piecewise linear and a symmetric mass has its
    median at its centre)."""
    cdf = marginal.cumsum(dim=1)
    cdf = cdf / cdf[:, -1:]
    i = (cdf < 0.5).sum(dim=1, keepdim=True).clamp_max(marginal.shape[1] - 1)  # first cdf >= 1/2
    before = torch.where(i > 0, cdf.gather(1, (i - 1).clamp_min(0)), torch.zeros_like(cdf[:, :1]))
    mass = cdf.gather(1, i) - before  # > 0: cdf jumps across 1/2 at pixel i
    return (i - 0.5 + (0.5 - before) / mass)[:, 0]


def com(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """Centre of mass of ``max(h, 0)`` over the whole map: ``(N, H, W) -> (N, 2)`` (the DARK paper's
    centre-of-mass baseline; ``book/codecs.md``)."""
    cols, rows = _mass_marginals(maps)
    return torch.stack([_mean(cols), _mean(rows)], dim=1)


def soft_argmax(
    maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None, beta: float = 20.0
) -> Tensor:
    """Expectation of the position under ``softmax(beta h)``: ``(N, H, W) -> (N, 2)``.

    Integral regression (Sun et al. 2018) / DSNT (Nibali et al. 2018). Not scale-invariant: ``beta``
    sets the temperature for maps of peak about 1 (the encoders' targets). The default 20 concentrates
    the weight on the peak of such a map (the background of a 64 x 48 map then carries ~1e-5 of it)
    while keeping a Gaussian of sigma 2 sampled finely enough (std ``sigma / sqrt(beta)``) to avoid
    pixel-locking.
    """
    n = maps.shape[0]
    top = maps.reshape(n, -1).gather(1, peak_of(maps, peak)[:, None]).reshape(n, 1, 1)
    cols, rows = _soft_marginals(maps, top, beta)  # of exp(beta (h - max)) <= 1
    return torch.stack([_mean(cols), _mean(rows)], dim=1)


def soft_argmax_debiased(
    maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None, beta: float = 20.0
) -> Tensor:
    """Soft-argmax without its pull towards the map centre: ``(N, H, W) -> (N, 2)``.

    Gu, Yang & Yao, "Removing the Bias of Integral Pose Regression", ICCV 2021 (mmpose's
    ``IntegralRegressionHead(debias=True)``). The softmax gives every pixel at least the weight of a
    zero logit, ``exp(0) / C`` with ``C = sum_i exp(beta h_i)``: a uniform background of total mass
    ``r = P / C`` (``P = H W`` pixels) whose mean is the map centre ``x_c = (W - 1) / 2``. With the
    rest of the mass symmetric about the keypoint ``mu``, the soft-argmax is
    ``J = r x_c + (1 - r) mu``, so

        ``mu = (J - r x_c) / (1 - r) = (C J - P x_c) / (C - P)``  (likewise in y).

    mmpose writes the same correction in coordinates normalised to ``[0, 1]`` as
    ``C / (C - 1) (J - 1 / (2 C))``, Gu et al.'s continuous form, in which the map has unit area and
    ``C`` is the integral of ``exp``; there ``C`` is the MEAN of ``exp`` over the pixels, which is
    ``C / P`` here. (mmpose's head sums instead of averaging, which weakens the correction by the factor
    ``P``; this project uses the exact discrete form above and tests it on synthetic Gaussians.)

    ``C`` is computed as ``exp(beta max h) sum_i exp(beta (h_i - max h))``, so ``r`` underflows to 0
    (no correction, the plain soft-argmax) when the background weight is negligible, e.g. for maps of
    peak about 1 at the default ``beta = 20`` (the same temperature as ``soft_argmax``; the correction
    matters at small ``beta``, e.g. mmpose's default 1, where the background holds most of the mass
    and the correction ``1 / (1 - r)`` amplifies noise accordingly). Where ``1 - r < 1e-6`` (no mass
    above the zero background: ``C <= P``, e.g. a mostly negative map, where the derivation does not
    hold) the plain soft-argmax is returned; the result is clipped to the map, ``[0, W - 1] x [0, H - 1]``.
    """
    n, h, w = maps.shape
    top = maps.reshape(n, -1).gather(1, peak_of(maps, peak)[:, None]).reshape(n, 1, 1)
    cols, rows = _soft_marginals(maps, top, beta)
    plain = torch.stack([_mean(cols), _mean(rows)], dim=1)
    total = cols.sum(dim=1)  # sum_i exp(beta (h_i - max)), in [1, P]
    r = (h * w) * torch.exp(-beta * top.reshape(n).to(torch.float64)) / total
    centre = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=torch.float64, device=maps.device)
    ok = (r < 1 - 1e-6)[:, None]
    r = torch.where(ok, r[:, None], torch.zeros_like(r[:, None]))
    out = torch.where(ok, (plain - r * centre) / (1 - r), plain)
    return torch.minimum(out.clamp_min(0.0), centre * 2)


def mom(maps: Tensor, sigma: float = 2.0, *, peak: Tensor | None = None) -> Tensor:
    """Median of mass (Tensmeyer & Martinez 2019): per-axis median of the marginals of ``max(h, 0)``,
    linearly interpolated: ``(N, H, W) -> (N, 2)``."""
    cols, rows = _mass_marginals(maps)
    return torch.stack([_median(cols), _median(rows)], dim=1)
