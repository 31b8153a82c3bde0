"""``decode``: heatmaps -> coordinates with any registered decoder, robust to bad input."""

from __future__ import annotations

import functools
import inspect
import math
from typing import Any

import torch
from torch import Tensor

from ._arrays import as_tensor, compute_dtype, like_input
from ._maps import finite_maps, first_max
from .registry import DECODERS, REGISTRY

__all__ = ["decode"]

_SHAPE = "(..., K, H, W)"


def decode(
    heatmaps: Any,
    method: str = "dark",
    sigma: float = 2.0,
    kernel_size: int | None = None,
    return_valid: bool = False,
    **method_options: Any,
) -> tuple[Any, Any] | tuple[Any, Any, Any]:
    """Coordinates of each heatmap's keypoint: ``(..., K, H, W) -> (..., K, 2), (..., K)``.

    Args:
        heatmaps: ``(..., K, H, W)`` torch tensor (any device; float16, bfloat16, float32 or float64)
            or numpy float array.
        method: a name in :data:`DECODERS`.
        sigma: standard deviation of the training targets in heatmap px (sets ``dark``'s default
            kernel and the windows of ``local_com`` and ``gaussian_fit``).
        kernel_size: blur size of ``dark`` and ``dark_udp`` (default matched to ``sigma``:
            1 -> 3, 1.5 -> 7, 2 -> 11, 3 -> 17); ignored by decoders without a blur.
        return_valid: also return which maps were valid.
        **method_options: the decoder's own options (e.g. ``beta`` of ``soft_argmax``, ``radius`` of
            ``local_com`` / ``gaussian_fit``).

    Returns:
        ``coords`` ``(..., K, 2)`` ``(x, y)`` in heatmap px (pixel index ``i`` has coordinate ``i``),
        ``confidence`` ``(..., K)`` = each map's maximum, and with ``return_valid`` a bool ``(..., K)``.
        Same library and device as ``heatmaps``; numpy results are float64, torch results have the
        input's dtype promoted to at least float32.

    A decoder marked ``batch`` in the registry (``standard_report``) reads across the maps: its result
    depends on the other samples of the call (``(..., K, H, W)``: the batch is everything before ``K``).

    Bad input: NaN and +-Inf count as missing (0), never propagate. A map whose largest finite value
    is <= 0 (or that has none) is invalid: its coords are the map centre ``((W-1)/2, (H-1)/2)``, its
    confidence 0, its ``valid`` False, and it does not affect the other maps.

    Raises:
        ValueError: ``heatmaps`` is not a float tensor/array of shape ``(..., K, H, W)`` with ``H, W
            >= 1``; unknown ``method`` or option; ``sigma`` not a finite number > 0.

    Example:
        >>> import torch
        >>> y, x = torch.meshgrid(torch.arange(64.0), torch.arange(48.0), indexing="ij")
        >>> h = torch.exp(-((x - 20.3) ** 2 + (y - 30.6) ** 2) / (2 * 2.0**2))[None, None]
        >>> coords, conf = decode(h, "dark", sigma=2.0)
        >>> coords.shape, conf.shape
        (torch.Size([1, 1, 2]), torch.Size([1, 1]))
        >>> [round(v, 2) for v in coords[0, 0].tolist()]
        [20.3, 30.6]
        >>> decode(h, "argmax")[0][0, 0].tolist()
        [20.0, 31.0]
    """
    if method not in REGISTRY:
        raise ValueError(f"unknown decoder {method!r}; expected one of {DECODERS}")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0, got {sigma!r}")
    entry = REGISTRY[method]
    options = _options(method, entry.fn, kernel_size, method_options)

    hm, was_numpy = as_tensor(heatmaps, "heatmaps", _SHAPE)
    hm = hm.detach()  # decoding is not differentiable; a network's output can be passed as it is
    if hm.ndim < 3 or hm.shape[-1] < 1 or hm.shape[-2] < 1:
        raise ValueError(f"heatmaps must have shape {_SHAPE} with H, W >= 1, got {tuple(hm.shape)}")
    *lead, h, w = hm.shape
    out_dtype = compute_dtype(hm.dtype)
    flat = hm.reshape(-1, h * w)
    if flat.dtype != out_dtype:
        flat = flat.to(out_dtype)
    n = flat.shape[0]

    peak, conf = first_max(flat)
    valid, all_valid = _valid(conf)
    if entry.batch:  # reads across the maps (a norm over the batch): every map, as it comes
        options = {**options, "channels": lead[-1]}
    if n and (entry.batch or all_valid):  # the common case: no copies, no masks
        coords = _run(entry, flat, peak, h, w, sigma, options).to(out_dtype)
        if not all_valid:
            coords[~valid] = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=out_dtype, device=flat.device)
            conf = torch.where(valid, conf, torch.zeros((), dtype=conf.dtype, device=conf.device))
    else:  # invalid maps get the centre and confidence 0, and never reach the decoder
        coords = torch.empty((n, 2), dtype=out_dtype, device=flat.device)
        coords[:, 0], coords[:, 1] = (w - 1) / 2, (h - 1) / 2
        if bool(valid.any()):
            coords[valid] = _run(entry, flat[valid], peak[valid], h, w, sigma, options).to(out_dtype)
        conf = torch.where(valid, conf, torch.zeros((), dtype=conf.dtype, device=conf.device))

    coords = like_input(coords.reshape(*lead, 2), was_numpy)
    conf = like_input(conf.reshape(lead), was_numpy)
    if return_valid:
        return coords, conf, like_input(valid.reshape(lead), was_numpy)
    return coords, conf


def _valid(conf: Tensor) -> tuple[Tensor, bool]:
    """Which maps are valid, ``conf > 0`` ``(N,)`` bool, and whether all are (in numpy for a CPU
    tensor: a numpy view is free, and two torch calls cost more than the rest of ``argmax``'s
    bookkeeping on a thousand maps)."""
    if conf.device.type == "cpu":
        valid = conf.numpy() > 0
        return torch.from_numpy(valid), bool(valid.all())
    valid = conf > 0
    return valid, bool(valid.all())


def _run(entry: Any, flat: Tensor, peak: Tensor, h: int, w: int, sigma: float, options: dict) -> Tensor:
    """Call a registry entry on ``(N, H * W)`` valid maps: ``-> (N, 2)``."""
    maps = finite_maps(flat) if entry.sanitise else flat
    if entry.peak:
        options = {**options, "peak": peak}
    return entry.fn(maps.reshape(-1, h, w), sigma, **options)


@functools.lru_cache(maxsize=64)
def _accepted(fn: Any) -> tuple[str, ...]:
    """The keyword-only options of a decoder function (but ``peak``, which ``decode`` supplies)."""
    params = inspect.signature(fn).parameters
    return tuple(p for p in params if params[p].kind is inspect.Parameter.KEYWORD_ONLY and p != "peak")


def _options(method: str, fn: Any, kernel_size: int | None, options: dict[str, Any]) -> dict[str, Any]:
    """The keyword options ``fn`` accepts; an unknown one is a ValueError naming the accepted ones."""
    accepted = [p for p in _accepted(fn) if p != "channels"]  # ``decode`` supplies a batch decoder's
    unknown = sorted(set(options) - set(accepted))
    if unknown or "peak" in options or "channels" in options:
        given = unknown or [p for p in ("peak", "channels") if p in options]
        raise ValueError(f"decoder {method!r} has no option {given}; its options: {accepted}")
    options = dict(options)
    if kernel_size is not None and "kernel_size" in accepted:
        options["kernel_size"] = kernel_size
    return options
