"""``DecoderExplorer``: one synthetic Gaussian heatmap, the true centre and every decoder's estimate.

Sliders: the true centre's sub-pixel offsets ``dx``, ``dy`` (heatmap px, from the middle pixel),
``sigma``, ``noise`` (per-pixel std of white Gaussian noise, peak 1), the noise ``seed`` and DARK's
blur ``kernel_size``. The map is ``size`` (H, W) with the true centre at ``(W // 2 + dx, H // 2 + dy)``
(:func:`heatmap`); every estimate comes from :func:`dark.codecs.decode` with the true sigma.

Two ways to render, one JavaScript file (``explorer.js``, which only draws and indexes):

- live kernel: observers on the slider traits recompute the ``live`` trait (the uint8 heatmap and the
  decoders' estimates for exactly the current values) on every change;
- static book (no kernel): the widget state carries a precomputed grid of frames, the decoders' real
  outputs at every slider position of ``axes`` (``frames``: uint8 heatmaps, each scaled to its own
  range; ``estimates`` / ``kernel_estimates``: float64), and the JS picks the frame of the slider values.

State size for the default grid (5 x 5 offsets, 5 sigmas, 5 noise levels, 3 seeds, 8 kernel sizes,
25 x 25 maps): about 2.6 MB of base64 text (1.6 MB of it the uint8 frames).
"""

from __future__ import annotations

import base64
import inspect
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import anywidget
import numpy as np
import torch
import traitlets

from dark import codecs
from dark.study.synthetic import add_noise, gaussian_maps

__all__ = ["DEFAULT_AXES", "DecoderExplorer", "expected", "heatmap", "precompute_grid"]

_ESM = Path(__file__).with_name("explorer.js")

#: slider name -> its grid values in the static book (uniform steps: the sliders step on them)
DEFAULT_AXES: dict[str, list[float]] = {
    "dx": [-0.5, -0.25, 0.0, 0.25, 0.5],
    "dy": [-0.5, -0.25, 0.0, 0.25, 0.5],
    "sigma": [1.0, 1.5, 2.0, 2.5, 3.0],
    "noise": [0.0, 0.05, 0.1, 0.15, 0.2],
    "seed": [0, 1, 2],
    "kernel_size": [3, 5, 7, 9, 11, 13, 15, 17],
}
#: the axes that change the heatmap (kernel_size only changes the blurring decoders)
MAP_AXES = ("dx", "dy", "sigma", "noise", "seed")
DEFAULT_PARAMS = {"dx": 0.25, "dy": -0.25, "sigma": 2.0, "noise": 0.05, "seed": 0, "kernel_size": 11}
DEFAULT_SIZE = (25, 25)
_PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999",
            "#17becf", "#bcbd22", "#000000", "#66c2a5", "#fc8d62", "#8da0cb"]  # fmt: skip


def _kernel_decoders(decoders: Sequence[str]) -> list[str]:
    """The decoders whose result depends on ``kernel_size`` (their function accepts it)."""
    out = []
    for name in decoders:
        params = inspect.signature(codecs.REGISTRY[name].fn).parameters
        if "kernel_size" in params:
            out.append(name)
    return out


def _params(params: Mapping | None) -> dict:
    p = dict(DEFAULT_PARAMS)
    for k, v in (params or {}).items():
        if k in p:  # other keys (a zoom control, say) are ignored
            p[k] = v
    p["seed"], p["kernel_size"] = round(float(p["seed"])), round(float(p["kernel_size"]))
    for k in ("dx", "dy", "sigma", "noise"):
        p[k] = float(p[k])
    return p


def heatmap(params: Mapping | None = None, size: tuple[int, int] = DEFAULT_SIZE) -> tuple[np.ndarray, tuple]:
    """The float64 ``(H, W)`` map of a slider setting and its true centre ``(x, y)`` (heatmap px).

    ``gaussian(centre, sigma, peak 1) + noise * N(0, 1)``, the standard normal field drawn from
    ``seed`` (the same field for every other slider value).
    """
    p = _params(params)
    h, w = size
    centre = (w // 2 + p["dx"], h // 2 + p["dy"])
    clean = gaussian_maps(torch.tensor([centre], dtype=torch.float64), size, p["sigma"], dtype=torch.float64)
    return add_noise(clean, p["noise"], seed=p["seed"])[0].numpy(), centre


def _decode(maps: np.ndarray, sigma: float, decoders, kernel_size: int) -> np.ndarray:
    """``(N, H, W)`` -> ``(N, D, 2)`` float64 estimates of ``decoders`` in that order."""
    t = torch.as_tensor(maps, dtype=torch.float64)[:, None]
    cols = [codecs.decode(t, d, sigma=sigma, kernel_size=kernel_size)[0][:, 0] for d in decoders]
    return torch.stack(cols, dim=1).numpy() if cols else np.zeros((len(maps), 0, 2))


def expected(params: Mapping | None = None, size: tuple[int, int] = DEFAULT_SIZE, decoders=None) -> dict:
    """``{decoder: (x, y)}`` (heatmap px) for a slider setting, computed with :mod:`dark.codecs`.

    ``params``: any of ``dx, dy, sigma, noise, seed, kernel_size`` (missing ones take the widget's
    defaults, unknown keys are ignored). This is what the widget shows for that setting, live or
    static (static frames hold the same numbers, decoded in a batch: equal to ~1e-12 px).
    """
    p = _params(params)
    names = list(codecs.PER_MAP_DECODERS if decoders is None else decoders)
    m, _ = heatmap(p, size)
    est = _decode(m[None], p["sigma"], names, p["kernel_size"])[0]
    return {d: (float(est[i, 0]), float(est[i, 1])) for i, d in enumerate(names)}


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _to_uint8(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each map scaled to its own ``[min, max]``: uint8 ``(..., H, W)`` and ``(..., 2)`` ranges."""
    lo = maps.min(axis=(-2, -1))
    hi = maps.max(axis=(-2, -1))
    span = np.where(hi > lo, hi - lo, 1.0)
    u8 = np.round(255 * (maps - lo[..., None, None]) / span[..., None, None]).clip(0, 255).astype(np.uint8)
    return u8, np.stack([lo, hi], axis=-1)


def _lut() -> str:
    """viridis as a 256 x 3 uint8 table (matplotlib), base64."""
    from matplotlib import colormaps

    rgb = colormaps["viridis"](np.linspace(0, 1, 256))[:, :3]
    return _b64(np.round(rgb * 255).astype(np.uint8))


def precompute_grid(
    axes: Mapping[str, Sequence[float]], size: tuple[int, int], decoders: Sequence[str]
) -> dict:
    """The static grid: every combination of ``axes`` (C order over ``MAP_AXES``, then kernel sizes).

    Returns ``frames`` (F, H, W) uint8, ``ranges`` (F, 2), ``estimates`` (F, Dp, 2) for the decoders
    that do not blur, ``kernel_estimates`` (F, K, Dk, 2) for those that do (``kernel_size`` axis).
    """
    kdec = _kernel_decoders(decoders)
    plain = [d for d in decoders if d not in kdec]
    combos = list(itertools.product(*(axes[a] for a in MAP_AXES)))
    h, w = size
    maps = np.empty((len(combos), h, w))
    for i, combo in enumerate(combos):
        maps[i] = heatmap(dict(zip(MAP_AXES, combo, strict=True)), size)[0]
    sig = np.array([c[MAP_AXES.index("sigma")] for c in combos])
    est = np.zeros((len(combos), len(plain), 2))
    kest = np.zeros((len(combos), len(axes["kernel_size"]), len(kdec), 2))
    for s in np.unique(sig):  # one batch per sigma
        rows = np.flatnonzero(sig == s)
        est[rows] = _decode(maps[rows], float(s), plain, DEFAULT_PARAMS["kernel_size"])
        for j, k in enumerate(axes["kernel_size"]):
            kest[rows, j] = _decode(maps[rows], float(s), kdec, int(k))
    frames, ranges = _to_uint8(maps)
    return {"frames": frames, "ranges": ranges, "estimates": est, "kernel_estimates": kest,
            "plain": plain, "kernel_decoders": kdec}  # fmt: skip


class DecoderExplorer(anywidget.AnyWidget):
    """Every decoder on one synthetic heatmap; sliders for the truth, sigma, noise, seed and DARK's kernel.

    Args:
        precompute: carry the static grid of frames (needed for the static book; ~2.6 MB of state).
        axes: slider grid (default :data:`DEFAULT_AXES`); each must be uniformly spaced.
        size: ``(H, W)`` of the heatmap.
        decoders: names from :data:`dark.codecs.DECODERS` (default: :data:`~dark.codecs.PER_MAP_DECODERS`,
            every decoder whose estimate depends on its own map alone).
        **params: initial slider values (``dx, dy, sigma, noise, seed, kernel_size``).
    """

    _esm = _ESM

    dx = traitlets.Float(DEFAULT_PARAMS["dx"]).tag(sync=True)
    dy = traitlets.Float(DEFAULT_PARAMS["dy"]).tag(sync=True)
    sigma = traitlets.Float(DEFAULT_PARAMS["sigma"]).tag(sync=True)
    noise = traitlets.Float(DEFAULT_PARAMS["noise"]).tag(sync=True)
    seed = traitlets.Int(DEFAULT_PARAMS["seed"]).tag(sync=True)
    kernel_size = traitlets.Int(DEFAULT_PARAMS["kernel_size"]).tag(sync=True)

    size = traitlets.List(list(DEFAULT_SIZE)).tag(sync=True)
    axes = traitlets.Dict().tag(sync=True)
    decoders = traitlets.List().tag(sync=True)
    kernel_decoders = traitlets.List().tag(sync=True)
    colors = traitlets.Dict().tag(sync=True)
    lut = traitlets.Unicode("").tag(sync=True)
    #: static grid (base64): uint8 frames, float64 ranges / estimates / kernel_estimates
    frames = traitlets.Unicode("").tag(sync=True)
    ranges = traitlets.Unicode("").tag(sync=True)
    estimates = traitlets.Unicode("").tag(sync=True)
    kernel_estimates = traitlets.Unicode("").tag(sync=True)
    #: the frame for exactly the current slider values (live kernel): params, heatmap, range, estimates
    live = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        precompute: bool = True,
        axes: Mapping[str, Sequence[float]] | None = None,
        size: tuple[int, int] = DEFAULT_SIZE,
        decoders: Sequence[str] | None = None,
        **params,
    ) -> None:
        axes = {k: list(v) for k, v in (axes or DEFAULT_AXES).items()}
        for name in DEFAULT_AXES:
            vals = axes.get(name)
            if not vals or (len(vals) > 1 and not np.allclose(np.diff(vals), vals[1] - vals[0])):
                raise ValueError(f"axes[{name!r}] must be a non-empty, uniformly spaced list, got {vals}")
        names = list(codecs.PER_MAP_DECODERS if decoders is None else decoders)
        unknown = sorted(set(names) - set(codecs.DECODERS))
        if unknown:
            raise ValueError(f"unknown decoders {unknown}; expected names from {codecs.DECODERS}")
        kdec = _kernel_decoders(names)
        plain = [d for d in names if d not in kdec]
        state = dict(
            size=[int(size[0]), int(size[1])],
            axes=axes,
            decoders=plain + kdec,
            kernel_decoders=kdec,
            colors={d: _PALETTE[i % len(_PALETTE)] for i, d in enumerate(plain + kdec)},
            lut=_lut(),
        )
        if precompute:
            grid = precompute_grid(axes, tuple(size), names)
            state.update(
                frames=_b64(grid["frames"]),
                ranges=_b64(grid["ranges"].astype(np.float64)),
                estimates=_b64(grid["estimates"].astype(np.float64)),
                kernel_estimates=_b64(grid["kernel_estimates"].astype(np.float64)),
            )
        p = _params(params)
        super().__init__(**state, **p)
        self.observe(self._recompute, names=list(DEFAULT_PARAMS))
        self._recompute()

    def params(self) -> dict:
        """The current slider values."""
        return {k: getattr(self, k) for k in DEFAULT_PARAMS}

    def _recompute(self, change=None) -> None:
        p = _params(self.params())
        size = tuple(self.size)
        m, centre = heatmap(p, size)
        names = list(self.decoders)
        est = _decode(m[None], p["sigma"], names, p["kernel_size"])[0]
        u8, rng = _to_uint8(m)
        self.live = {
            "params": p,
            "centre": [float(centre[0]), float(centre[1])],
            "heatmap": _b64(u8),
            "range": [float(rng[0]), float(rng[1])],
            "estimates": {d: [float(est[i, 0]), float(est[i, 1])] for i, d in enumerate(names)},
        }
