"""The decoder study's curves: each decoder's error on noisy synthetic Gaussians, against the bound.

Errors are in heatmap px; an RMSE is the Euclidean one, ``sqrt(mean ||c_hat - c||^2)``, and its
Cramer-Rao bound is ``sqrt(var x + var y)`` of :func:`dark.study.theory.crlb` at each trial's centre (RMS over
the trials). Each function returns a tidy ``pandas.DataFrame`` (one row per setting and decoder).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dark import codecs
from dark.study import theory
from dark.study.synthetic import add_noise, gaussian_maps, random_centres
from dark.study.trials import decode_all, subseed


def _trials(n: int, size, sigma: float, noise: float, seed: int, correlation=None, margin=None):
    """``n`` random centres ``(n, 2)`` float64 (heatmap px, ``margin`` from the border, default
    ``3 sigma``) and their noisy peak-1 Gaussians ``(n, H, W)`` float32, seeded from the setting."""
    margin = 3 * sigma if margin is None else margin
    centres = random_centres(n, size, margin, seed=subseed(seed, 1, sigma, noise), dtype=torch.float64)
    clean = gaussian_maps(centres, size, sigma, dtype=torch.float64)
    maps = add_noise(clean, noise, seed=subseed(seed, 2, sigma, noise), correlation=correlation)
    return centres, maps.float()


def _bound(sigma: float, noise: float, size, centres: Tensor) -> float:
    """The Cramer-Rao bound on the Euclidean RMSE (heatmap px), RMS over the ``(n, 2)`` centres."""
    return float(np.sqrt(theory.crlb(sigma, 1.0, noise, size, centres.numpy()).sum(-1).mean()))


def decoder_rmse(
    sigmas: Sequence[float],
    noise_levels: Sequence[float],
    trials: int,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
    decoders: Sequence[str] | None = None,
    correlation: float | None = None,
    kernel_size: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """RMSE (and mean bias) of each decoder on noisy Gaussians, with the Cramer-Rao bound.

    Peak 1, sigma known to the decoders (``kernel_size`` None: DARK's kernel matched to sigma),
    centres uniform at least ``3 sigma`` from the border, ``trials`` maps per (sigma, noise).
    ``correlation``: blur std of the noise (see :func:`dark.study.synthetic.add_noise`); the white-noise
    bound is still reported but is no bound there.

    Returns columns ``sigma, noise, decoder, rmse, bias_x, bias_y, crlb_rmse, ratio, trials``
    (``ratio = rmse / crlb_rmse``; ``nan`` where the bound is 0, at noise 0).
    """
    rows = []
    settings = [(s, n) for s in sigmas for n in noise_levels]
    for sigma, noise in _progress(settings, progress, "decoder_rmse"):
        centres, maps = _trials(trials, size, sigma, noise, seed, correlation)
        bound = _bound(sigma, noise, size, centres)
        for name, est in decode_all(maps, sigma, decoders, kernel_size).items():
            err = est - centres
            rmse = float(err.pow(2).sum(-1).mean().sqrt())
            rows.append(
                dict(
                    sigma=sigma,
                    noise=noise,
                    decoder=name,
                    rmse=rmse,
                    bias_x=float(err[:, 0].mean()),
                    bias_y=float(err[:, 1].mean()),
                    crlb_rmse=bound,
                    ratio=rmse / bound if bound > 0 else math.nan,
                    trials=trials,
                )
            )
    return pd.DataFrame(rows)


def bias_curve(
    sigma: float,
    offsets: Sequence[float],
    size: tuple[int, int] = (32, 32),
    decoders: Sequence[str] | None = None,
    kernel_size: int | None = None,
) -> pd.DataFrame:
    """Noise-free bias in x of each decoder against the sub-pixel offset of the true centre.

    The centre is ``(W // 2 + offset, H // 2)``: only x is sub-pixel. Returns columns
    ``sigma, offset, decoder, bias`` (``x_hat - x``, heatmap px).
    """
    h, w = size
    off = torch.as_tensor(list(offsets), dtype=torch.float64)
    centres = torch.stack([w // 2 + off, torch.full_like(off, float(h // 2))], dim=-1)
    maps = gaussian_maps(centres, size, sigma, dtype=torch.float64)
    rows = []
    for name, est in decode_all(maps, sigma, decoders, kernel_size).items():
        bias = (est[:, 0] - centres[:, 0]).tolist()
        rows += [
            dict(sigma=sigma, offset=float(o), decoder=name, bias=b)
            for o, b in zip(off.tolist(), bias, strict=True)
        ]
    return pd.DataFrame(rows)


def threshold_curve(
    sigma: float,
    noise_levels: Sequence[float],
    trials: int,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
    gross: float = 1.0,
) -> pd.DataFrame:
    """The low-SNR threshold effect: ``mle`` started at the raw argmax vs at the matched filter.

    Also ``dark`` and ``argmax`` for reference. Returns columns ``noise, decoder, rmse, crlb_rmse,
    ratio, gross_rate`` (the fraction of trials with an error above ``gross`` px).
    """
    variants = {
        "mle (argmax start)": ("mle", {"init": "argmax"}),
        "mle (matched-filter start)": ("mle", {}),
        "dark": ("dark", {}),
        "argmax": ("argmax", {}),
    }
    rows = []
    for noise in noise_levels:
        centres, maps = _trials(trials, size, sigma, noise, seed)
        bound = _bound(sigma, noise, size, centres)
        for label, (name, opts) in variants.items():
            est = decode_all(maps, sigma, [name], **{name: opts})[name]
            d = (est - centres).norm(dim=-1)
            rmse = float(d.pow(2).mean().sqrt())
            rows.append(
                dict(
                    sigma=sigma,
                    noise=noise,
                    decoder=label,
                    rmse=rmse,
                    crlb_rmse=bound,
                    ratio=rmse / bound if bound > 0 else math.nan,
                    gross_rate=float((d > gross).double().mean()),
                )
            )
    return pd.DataFrame(rows)


def kernel_sensitivity(
    sigmas: Sequence[float],
    kernel_sizes: Sequence[int],
    noise_levels: Sequence[float],
    trials: int,
    size: tuple[int, int] = (64, 64),
    seed: int = 0,
) -> pd.DataFrame:
    """DARK's RMSE against its blur kernel size, per sigma and noise level (same maps for every k).

    Returns columns ``sigma, noise, kernel_size, matched (bool: the default for this sigma), rmse,
    crlb_rmse, ratio``.
    """
    rows = []
    for sigma in sigmas:
        matched = codecs.matched_kernel_size(sigma)
        for noise in noise_levels:
            centres, maps = _trials(trials, size, sigma, noise, seed)
            bound = _bound(sigma, noise, size, centres)
            for k in kernel_sizes:
                est = decode_all(maps, sigma, ["dark"], kernel_size=int(k))["dark"]
                rmse = float((est - centres).pow(2).sum(-1).mean().sqrt())
                rows.append(
                    dict(
                        sigma=sigma,
                        noise=noise,
                        kernel_size=int(k),
                        matched=int(k) == matched,
                        rmse=rmse,
                        crlb_rmse=bound,
                        ratio=rmse / bound if bound > 0 else math.nan,
                    )
                )
    return pd.DataFrame(rows)


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc)
