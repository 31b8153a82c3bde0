"""The decoders' floor at a heatmap size: their error and PCKh on synthetic Gaussians before any network.

A decoder that reads a perfect (or noisy) Gaussian of known sub-pixel centre still errs by its grid
(ArgMax rounds to the nearest pixel: a per-axis error uniform on ``[-stride/2, stride/2)`` input px,
RMSE ``stride / sqrt(12)``; Standard's quarter-pixel step halves its range, RMSE ``stride / sqrt(48)``).
Whether that matters for PCKh depends on the radius in heatmap pixels: :func:`resolution_floor` scores
each decoder at several heatmap sizes, the radius scaled with the image (the head, in input px, grows
with the input), so the same person at a coarser heatmap has a smaller radius in heatmap pixels.

Sizes are ``(H, W)`` heatmap px; errors and radii in input px (heatmap px times ``stride``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from dark.study.synthetic import add_noise, gaussian_maps, random_centres
from dark.study.trials import decode_all, subseed

__all__ = ["argmax_within", "resolution_floor"]


def argmax_within(radius: float, stride: float) -> float:
    """Percent of ArgMax's noiseless errors within ``radius`` (input px), its error uniform on the square
    ``[-stride/2, stride/2)^2``: the area of the disc inside the square over the square's.

    >>> round(argmax_within(2.0, 4.0), 4), argmax_within(3.0, 4.0) == 100.0  # pi/4: the inscribed disc
    (78.5398, True)
    """
    a, r = stride / 2, float(radius)
    if r <= a:
        area = math.pi * r * r
    elif r >= a * math.sqrt(2):
        area = 4 * a * a
    else:  # the disc cut by the four sides
        area = 4 * (a * math.sqrt(r * r - a * a) + r * r * (math.pi / 4 - math.acos(a / r)))
    return 100 * area / (4 * a * a)


def resolution_floor(
    sizes: Sequence[tuple[int, int]],
    radii: Sequence[float],
    noise_levels: Sequence[float] = (0.0, 0.05),
    trials: int = 2000,
    sigma: float = 2.0,
    stride: float = 4.0,
    seed: int = 0,
    decoders: Sequence[str] = ("argmax", "standard", "dark"),
    margin: float = 2.0,
) -> pd.DataFrame:
    """Each decoder's error and PCKh on peak-1 Gaussians at every heatmap size.

    Args:
        sizes: ``(H, W)`` heatmap sizes; ``radii``: the PCKh radius (input px) at each size (e.g. 0.1 x
            the head, which scales with the input image).
        noise_levels: per-pixel std of white noise added to the maps (0: noiseless).
        trials: maps per (size, noise), centres uniform at least ``margin`` heatmap px from the border.
        sigma: the Gaussian's std (heatmap px, the codecs' default 2); DARK's kernel matched to it.
        stride: input px per heatmap px.

    Returns columns ``H, W, noise, decoder, radius`` (input px), ``rmse_axis`` (per-axis RMSE, input px:
    ``sqrt(mean of both axes' squared errors)``), ``max_axis`` (the largest per-axis error, input px),
    ``pckh`` (percent of maps whose Euclidean error is within the radius) and ``trials``.
    """
    if len(sizes) != len(radii):
        raise ValueError(f"one radius per size: {len(sizes)} sizes, {len(radii)} radii")
    rows = []
    for (h, w), radius in zip(sizes, radii, strict=True):
        centres = random_centres(trials, (h, w), margin, seed=subseed(seed, 1, h, w), dtype=torch.float64)
        clean = gaussian_maps(centres, (h, w), sigma, dtype=torch.float64)
        for noise in noise_levels:
            maps = add_noise(clean, noise, seed=subseed(seed, 2, h, w, noise)) if noise > 0 else clean
            for name, est in decode_all(maps.float(), sigma, decoders).items():
                err = (est - centres) * stride  # (trials, 2) input px
                within = (err.pow(2).sum(-1).sqrt() <= radius).double().mean()
                rows.append({
                    "H": h, "W": w, "noise": noise, "decoder": name, "radius": float(radius),
                    "rmse_axis": float(err.pow(2).mean().sqrt()), "max_axis": float(err.abs().max()),
                    "pckh": 100 * float(within), "trials": trials,
                })  # fmt: skip
    return pd.DataFrame(rows)
