"""The decoder study: every decoder on synthetic heatmaps whose sub-pixel truth is known exactly.

Each function returns a tidy ``pandas.DataFrame`` (one row per setting and decoder) that the
notebook ``01_decoders`` plots; the decoders are always called through :func:`dark.codecs.decode`,
so the study measures exactly what the library computes. Errors are in heatmap px; an RMSE is the
Euclidean one, ``sqrt(mean ||c_hat - c||^2)``, and its Cramer-Rao bound is ``sqrt(var x + var y)``
of :func:`dark.theory.crlb` at each trial's centre (RMS over the trials).

:func:`oracle_table` is the other half: no network and no noise, each encoding's targets decoded by
each decoder, against the analytic bias and RMS of the encoding's rounding (``book/codecs.md``).
:func:`time_decoders` measures each decoder's cost (``benchmarks/decode.py`` adds the per-heatmap
reference loop to it); :func:`plot_per_sigma` draws one panel per sigma of any of these tables.

Randomness: every (setting, trial set) draws its centres and noise from a seed derived from the
study's ``seed`` and the setting itself (``numpy.random.SeedSequence``), so a setting's numbers do not
depend on which other settings are run, and all decoders see the same noisy maps (paired).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from . import codecs, theory
from .synthetic import add_noise, gaussian_maps, random_centres

__all__ = [
    "bias_curve",
    "decode_all",
    "decoder_colors",
    "decoder_rmse",
    "kernel_sensitivity",
    "make_batch",
    "oracle_table",
    "plot_per_sigma",
    "predicted_error",
    "quantisation_error",
    "subseed",
    "threshold_curve",
    "time_decoders",
]


def subseed(seed: int, *keys: float) -> int:
    """A 63-bit seed derived from ``seed`` and the setting ``keys`` (floats rounded to 1e-6)."""
    ints = [int(seed)] + [round(float(k) * 1_000_000) % (2**32) for k in keys]
    return int(np.random.SeedSequence(ints).generate_state(2, dtype=np.uint32).astype(np.uint64) @ [1, 2**31])


def decode_all(
    maps: Tensor,
    sigma: float,
    decoders: Sequence[str] | None = None,
    kernel_size: int | None = None,
    **options: dict,
) -> dict[str, Tensor]:
    """Decode ``(N, H, W)`` maps with each decoder: ``{name: (N, 2) float64 (x, y)}``.

    ``options`` maps a decoder name to its own keyword options (e.g. ``mle={"init": "argmax"}``).
    """
    names = codecs.DECODERS if decoders is None else tuple(decoders)
    out = {}
    for name in names:
        coords, _ = codecs.decode(
            maps[:, None], name, sigma=float(sigma), kernel_size=kernel_size, **options.get(name, {})
        )
        out[name] = coords[:, 0].double()
    return out


def _trials(n: int, size, sigma: float, noise: float, seed: int, correlation=None, margin=None):
    margin = 3 * sigma if margin is None else margin
    centres = random_centres(n, size, margin, seed=subseed(seed, 1, sigma, noise), dtype=torch.float64)
    clean = gaussian_maps(centres, size, sigma, dtype=torch.float64)
    maps = add_noise(clean, noise, seed=subseed(seed, 2, sigma, noise), correlation=correlation)
    return centres, maps.float()


def _bound(sigma: float, noise: float, size, centres: Tensor) -> float:
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
    ``correlation``: blur std of the noise (see :func:`dark.synthetic.add_noise`); the white-noise
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


def quantisation_error(
    trials: int,
    seed: int = 0,
    stride: int = 4,
    size: tuple[int, int] = (40, 80),
    sigma: float = 2.0,
) -> pd.DataFrame:
    """The error of the ground-truth target itself under each encoding (no network, no noise).

    Random joints (input px, uniform away from the border) are encoded with :func:`dark.codecs.encode`
    and the encoded target's centre is read back with the exact ``mle`` decoder. Returns columns
    ``encoding, grid_px, rmse, analytic``: ``grid_px`` the rounding step in heatmap px (1 on the heatmap
    grid, ``1 / stride`` on the input grid, 0 unbiased) and ``analytic = grid_px sqrt(2 / 12)``, the
    Euclidean RMSE of rounding both coordinates of a uniform position.
    """
    h, w = size
    gen = np.random.default_rng(seed)
    joints_hm = np.stack([gen.uniform(5, w - 6, trials), gen.uniform(5, h - 6, trials)], -1)
    truth = torch.as_tensor(joints_hm)
    rows = []
    for label, method, grid, step in [
        ("unbiased", "unbiased", "heatmap", 0.0),
        ("quantised, heatmap grid", "quantized", "heatmap", 1.0),
        ("quantised, input grid", "quantized", "input", 1.0 / stride),
    ]:
        targets = codecs.encode(
            truth[:, None], size=size, sigma=sigma, method=method, grid=grid, stride=stride
        )
        est = decode_all(targets[:, 0], sigma, ["mle"])["mle"]
        rmse = float((est - truth).pow(2).sum(-1).mean().sqrt())
        rows.append(dict(encoding=label, grid_px=step, rmse=rmse, analytic=step * math.sqrt(2 / 12)))
    return pd.DataFrame(rows)


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc)


# --- the oracle table: what each encoding predicts, before any network -----------------------------


def predicted_error(encoding: str, stride: float) -> tuple[float, float]:
    """Analytic per-axis ``(bias, RMS)`` in input px of an encoding's target centre, for a joint
    uniformly distributed on the grid (``book/codecs.md``).

    The rounding error on a grid of step ``g`` (1 input px on the input grid, ``stride`` on the heatmap
    grid) is ``U(-g/2, g/2)`` for nearest (bias 0, RMS ``g sqrt(1/12)``), ``U(0, g)`` for ceil (bias
    ``+g/2``, RMS ``g sqrt(1/3)``), ``U(-g, 0)`` for floor, and for random rounding ``f`` or ``f - 1``
    with probabilities ``1 - f`` and ``f`` (``f`` the fractional part): bias 0, RMS ``g sqrt(1/6)``.

    Example:
        >>> [round(v, 3) for v in predicted_error("ceil", 4)]
        [0.5, 0.577]
        >>> [round(v, 3) for v in predicted_error("quantized-heatmap", 8)]
        [0.0, 2.309]
    """
    e = codecs.ENCODINGS[encoding]
    if e.method != "quantized":
        return 0.0, 0.0
    g = 1.0 if e.grid == "input" else float(stride)
    bias = {"nearest": 0.0, "ceil": 0.5, "floor": -0.5, "random": 0.0}[e.rounding] * g
    rms = {"nearest": 1 / 12, "ceil": 1 / 3, "floor": 1 / 3, "random": 1 / 6}[e.rounding] ** 0.5 * g
    return bias, rms


def oracle_table(
    encodings: Sequence[str] | None = None,
    decoders: Sequence[str] | None = None,
    n: int = 2000,
    size: tuple[int, int] = (40, 80),
    sigma: float = 2.0,
    stride: float = 4,
    seed: int = 0,
) -> pd.DataFrame:
    """Each encoding's targets decoded by each decoder, against the true joints, in input px.

    True joints are uniform (continuous) on the input grid, ``3 sigma + 1`` heatmap px away from the
    border; each encoding (:data:`dark.codecs.ENCODINGS`) makes its targets through
    :class:`dark.codecs.Codec` (``random-heatmap`` from a generator seeded from ``seed``), each decoder
    reads them (no noise), and :meth:`~dark.codecs.Codec.to_input` maps the estimates back.

    Args:
        encodings, decoders: names (default: all of each table).
        n: joints; size: ``(h, w)`` of the heatmaps; sigma: heatmap px; stride: input px per heatmap px.

    Returns:
        One row per (encoding, decoder): ``encoding, decoder, bias_x, bias_y, rmse_x, rmse_y``
        (measured, input px), ``predicted_bias, predicted_rms`` (:func:`predicted_error`, per axis:
        what an exact decoder would show), ``se_bias`` (the standard error of a measured bias,
        ``predicted_rms / sqrt(n)``) and ``n``.
    """
    h, w = size
    names = list(codecs.ENCODINGS) if encodings is None else list(encodings)
    gen = np.random.default_rng(subseed(seed, n, sigma, stride))
    m = 3 * sigma + 1
    joints = np.stack([gen.uniform(m, w - 1 - m, n), gen.uniform(m, h - 1 - m, n)], -1) * stride
    truth = torch.as_tensor(joints)[:, None]  # (n, 1, 2) input px
    visible = torch.ones(n, 1, dtype=torch.bool)
    rows = []
    for name in names:
        codec = codecs.Codec(name, sigma, stride, "stride", (h * stride, w * stride), (h, w))
        generator = torch.Generator().manual_seed(subseed(seed, 3, n))
        targets, _ = codec.targets(truth, visible, generator=generator)
        bias, rms = predicted_error(name, stride)
        for decoder, est in decode_all(targets[:, 0], sigma, decoders).items():
            err = codec.to_input(est) - truth[:, 0]
            rows.append(
                dict(
                    encoding=name,
                    decoder=decoder,
                    bias_x=float(err[:, 0].mean()),
                    bias_y=float(err[:, 1].mean()),
                    rmse_x=float(err[:, 0].pow(2).mean().sqrt()),
                    rmse_y=float(err[:, 1].pow(2).mean().sqrt()),
                    predicted_bias=bias,
                    predicted_rms=rms,
                    se_bias=rms / math.sqrt(n),
                    n=n,
                )
            )
    return pd.DataFrame(rows)


# --- figures of the study ---------------------------------------------------------------------------


def decoder_colors(decoders: Sequence[str]) -> dict[str, Any]:
    """One distinct colour per decoder (tab10, then tab20b), ``mle`` in black."""
    import matplotlib.pyplot as plt

    palette = [plt.cm.tab10(i) for i in range(10)] + [plt.cm.tab20b(i) for i in range(20)]
    colors = {name: palette[i % len(palette)] for i, name in enumerate(n for n in decoders if n != "mle")}
    colors["mle"] = "black"
    return colors


def plot_per_sigma(
    df: pd.DataFrame,
    y: str,
    sigmas: Sequence[float],
    colors: Mapping[str, Any],
    ylabel: str,
    bound: str | None = None,
    reference: float | None = None,
    title: str = "sigma = {sigma:g} px",
    xlabel: str = "noise std (peak 1)",
):
    """One log-log panel per sigma of ``df[y]`` against ``noise`` (noisy rows only), a line per decoder.

    ``df`` has the columns of :func:`decoder_rmse`. ``bound``: label of the grey band drawn from
    ``crlb_rmse`` (None: no band); ``reference``: a dashed horizontal line (e.g. 1 for a ratio).
    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    sigmas = list(sigmas)
    fig, axes = plt.subplots(1, len(sigmas), figsize=(3.6 * len(sigmas), 3.6), sharey=True, squeeze=False)
    noisy = sorted(float(v) for v in df.noise.unique() if v > 0)
    for ax, s in zip(axes[0], sigmas, strict=True):
        d = df[(df.sigma == s) & (df.noise > 0)]
        for name, g in d.groupby("decoder", sort=False):
            ax.plot(
                g.noise, g[y], "o-", ms=3, label=name, color=colors[name], lw=2.5 if name == "mle" else 1.2
            )
        if bound is not None:
            b = d.drop_duplicates("noise")
            ax.plot(b.noise, b.crlb_rmse, color="grey", lw=7, alpha=0.35, zorder=0, label=bound)
        if reference is not None:
            ax.axhline(reference, color="k", ls="--")
        ax.set(yscale="log", xscale="log", title=title.format(sigma=s), xlabel=xlabel)
        ax.set_xticks(noisy, [f"{v:g}" for v in noisy])
        ax.minorticks_off()
    axes[0, 0].set_ylabel(ylabel)
    axes[0, -1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.tight_layout()
    return fig


# --- cost ------------------------------------------------------------------------------------------


def make_batch(
    batch: int = 64, joints: int = 17, size: tuple[int, int] = (64, 48), sigma: float = 2.0, seed: int = 0
) -> np.ndarray:
    """``(batch, joints, H, W)`` float32 Gaussians of peak 1 (centres >= 4 px inside) + N(0, 0.05^2)."""
    rng = np.random.default_rng(seed)
    h, w = size
    centres = np.stack([rng.uniform(4, w - 5, (batch, joints)), rng.uniform(4, h - 5, (batch, joints))], -1)
    maps = codecs.encode(centres, size, sigma=sigma)
    return (maps + rng.normal(0, 0.05, maps.shape)).astype(np.float32)


#: the clocks :func:`time_decoders` can read
CLOCKS = {"thread": time.thread_time, "wall": time.perf_counter}


def time_decoders(
    batch: int = 64,
    joints: int = 17,
    size: tuple[int, int] = (64, 48),
    repeats: int = 15,
    seed: int = 0,
    sigma: float = 2.0,
    threads: int | None = 1,
    device: str = "cpu",
    clock: str = "thread",
    extra: Mapping[str, Callable[[np.ndarray], object]] | None = None,
) -> dict[str, float]:
    """Median seconds per call of every decoder on one :func:`make_batch` batch, and of the floor.

    The calls are interleaved (each round times the floor, every decoder, then ``extra``), so a busy
    neighbour slows all of them alike and the ratios stay meaningful. ``threads``: torch threads while
    timing (restored afterwards; None leaves torch's setting). ``device="cuda"`` synchronises around
    each call and forces the wall clock, as does ``threads != 1``; ``clock="thread"`` is the CPU time
    of this thread (all of the work with one torch thread, blind to other processes).

    Returns:
        ``{name: seconds per call}`` for every name in ``codecs.DECODERS``, ``"floor"`` (numpy argmax
        over the flattened batch) and each ``extra`` name (called with the numpy batch). Divide by
        ``batch * joints`` for seconds per heatmap.
    """
    maps = make_batch(batch, joints, size, sigma, seed)
    tensor = torch.from_numpy(maps).to(device)
    cuda = tensor.device.type == "cuda"
    now = time.perf_counter if cuda or threads != 1 else CLOCKS[clock]
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    flat = maps.reshape(-1)
    calls: dict[str, Callable[[], object]] = {"floor": lambda: np.argmax(flat)}
    for name in codecs.DECODERS:
        calls[name] = lambda name=name: (codecs.decode(tensor, name, sigma=sigma), sync())
    for name, fn in (extra or {}).items():
        calls[name] = lambda fn=fn: fn(maps)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        times: dict[str, list[float]] = {name: [] for name in calls}
        for round_ in range(repeats + 1):
            for name, fn in calls.items():
                start = now()
                fn()
                if round_:  # round 0 warms up
                    times[name].append(now() - start)
    finally:
        torch.set_num_threads(previous)
    return {name: statistics.median(t) for name, t in times.items()}
