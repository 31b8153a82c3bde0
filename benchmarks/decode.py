"""Decoder speed: every ``dark.codecs`` decoder against two baselines measured in the same run.

Batch: 64 x 17 heatmaps of 64 x 48, float32 noisy Gaussians (sigma 2, N(0, 0.05^2)), a CPU torch
tensor. Baselines:
- the floor: numpy's ``argmax`` over the flattened batch (one read of the data);
- the loop: DARK written like the reference code, one heatmap at a time (OpenCV blur of the zero-padded
  map, then a Python Taylor step).
Targets (2-core CPU): argmax <= 2x the floor; dark <= 2x the floor (issue 30; not met: 3.0-3.9x on
the 2-core AMD EPYC, where ``argmax`` itself is 1.7-2.0x, and the bound below is 2.1-2.7x there; see
README.md) and >= 20x faster than the loop; every other decoder of the paper's study <= 20x the floor.
The table also prints the bound of any numpy/torch ``dark`` (:func:`bound_blur`: the argmax, the window
rows, the float64 product and the log, nothing else), timed in the same rounds. ``mle``
(the decoder study's iterative fit, several Levenberg-Marquardt steps per map) has no speed target:
its cost is reported, not judged.

Run ``python benchmarks/decode.py`` (``--repeats``, ``--threads``); it prints a table and exits 0. The
timing itself is :func:`dark.study.time_decoders` (the decoder study calls it too); this script adds
the reference loop and the verdicts. Times are medians over repeats. torch runs on one thread
by default (``--threads``): numpy's floor is single-threaded too, and on a shared machine a second
thread mostly measures the neighbours.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
from collections.abc import Callable

import cv2
import numpy as np
import torch

from dark import codecs, study
from dark.codecs._stencil import stencil_weights
from dark.study import CLOCKS, make_batch

#: speed targets, as multiples of the floor
TARGETS = {"argmax": 2.0, "dark": 2.0, "mle": math.inf}
DEFAULT_TARGET = 20.0
#: dark must beat the per-heatmap loop by this factor
LOOP_SPEEDUP = 20.0


def _taylor(hm: np.ndarray, coord: np.ndarray) -> np.ndarray:
    """DarkPose's ``taylor`` for one log-heatmap (``np.matrix`` and all)."""
    heatmap_height, heatmap_width = hm.shape
    px, py = int(coord[0]), int(coord[1])
    if 1 < px < heatmap_width - 2 and 1 < py < heatmap_height - 2:
        dx = 0.5 * (hm[py][px + 1] - hm[py][px - 1])
        dy = 0.5 * (hm[py + 1][px] - hm[py - 1][px])
        dxx = 0.25 * (hm[py][px + 2] - 2 * hm[py][px] + hm[py][px - 2])
        dxy = 0.25 * (hm[py + 1][px + 1] - hm[py - 1][px + 1] - hm[py + 1][px - 1] + hm[py - 1][px - 1])
        dyy = 0.25 * (hm[py + 2][px] - 2 * hm[py][px] + hm[py - 2][px])
        derivative = np.matrix([[dx], [dy]])
        hessian = np.matrix([[dxx, dxy], [dxy, dyy]])
        if dxx * dyy - dxy**2 != 0:
            offset = -hessian.I * derivative
            coord = coord + np.squeeze(np.array(offset.T), axis=0)
    return coord


def dark_loop(maps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK as the reference code (DarkPose's ``get_final_preds``) writes it: a vectorised argmax,
    then per heatmap an OpenCV blur of the zero-padded map, then per heatmap a Python Taylor step."""
    hm = maps.reshape(-1, *maps.shape[-2:]).copy()
    n, h, w = hm.shape
    idx = np.argmax(hm.reshape(n, -1), axis=1)
    coords = np.stack([idx % w, idx // w], axis=1).astype(np.float64)
    border = (kernel - 1) // 2
    for i in range(n):  # DarkPose's gaussian_blur
        origin_max = np.max(hm[i])
        dr = np.zeros((h + 2 * border, w + 2 * border))
        dr[border:-border, border:-border] = hm[i].copy()
        dr = cv2.GaussianBlur(dr, (kernel, kernel), 0)
        hm[i] = dr[border:-border, border:-border].copy()
        hm[i] *= origin_max / np.max(hm[i])
    hm = np.log(np.maximum(hm, 1e-10))
    for i in range(n):
        coords[i] = _taylor(hm[i], coords[i])
    return coords.reshape(*maps.shape[:-2], 2)


def bound_blur(kernel: int = 11) -> Callable[[np.ndarray], np.ndarray]:
    """The least a numpy/torch DARK does, as a function of a ``(..., H, W)`` float32 batch: ``-> (13, N)``
    logs of the blurred values at DARK's 13 stencil points around each map's argmax (issue 30's bound).

    Only the steps no numpy/torch implementation can skip, each as fast as the passes in README.md
    found: numpy's row argmax; one gather of the window rows (torch's ``index_select`` of 16-value rows,
    as fast as ``dark``'s 15-value opaque items and able to write into a buffer); their float64
    conversion; one float64 product with the weights of :func:`dark.codecs._stencil.stencil_weights`
    (a 16th column of zeros per row); one log. Nothing else: no border bookkeeping (the rows of a window
    the border cuts are read clamped, not zeroed), no Newton step, no validity, no call of
    :func:`dark.codecs.decode`. So it is right only where the window lies inside its map (tested against
    :func:`dark.codecs._stencil.blurred_stencil`), and its time is a lower bound of ``dark``'s on CPU.
    The weights, and the buffers of each batch size, are made once, outside the timed calls (the result
    is a buffer, overwritten by the next call): ``dark`` allocates its own in every call, and on this
    machine fresh pages now and then cost milliseconds, which a bound must not measure.
    """
    r = 2 + (kernel - 1) // 2
    s = 2 * r + 1
    dense = stencil_weights(tuple(codecs.blur_kernel(kernel))).reshape(-1, s, s)
    weights = torch.zeros((len(dense), s, s + 1), dtype=torch.float64)
    weights[:, :, :s] = torch.tensor(dense)
    weights = weights.reshape(len(dense), -1)  # (13, S (S + 1)): rows of S + 1 values, the last one unused
    buffers: dict[int, tuple[torch.Tensor, ...]] = {}

    def blur(maps: np.ndarray) -> np.ndarray:
        h, w = maps.shape[-2:]
        flat = maps.reshape(-1, h * w)
        n = len(flat)
        if n not in buffers:
            buffers[n] = (
                torch.empty((n, s), dtype=torch.int64),  # the rows' first values, flat
                torch.empty((n * s, s + 1)),  # the rows
                torch.empty((n * s, s + 1), dtype=torch.float64),
                torch.empty((len(weights), n), dtype=torch.float64),
            )
        starts, rows, rows64, out = buffers[n]  # the result is ``out``'s, overwritten by the next call
        peak = torch.from_numpy(np.argmax(flat, axis=1))
        pixels = torch.from_numpy(flat.reshape(-1))
        count = len(pixels) - s
        torch.add(peak[:, None], _offsets(n, h, w, r), out=starts).clamp_(0, count - 1)
        torch.index_select(pixels.as_strided((count, s + 1), (1, 1)), 0, starts.reshape(-1), out=rows)
        rows64.copy_(rows)
        torch.matmul(weights, rows64.reshape(n, -1).T, out=out)
        return np.log(out.numpy(), out=out.numpy())

    return blur


@functools.lru_cache(maxsize=8)
def _offsets(n: int, h: int, w: int, r: int) -> torch.Tensor:
    """``(N, 2r+1)`` int64: a window row's first value's flat offset from its map's peak (read-only use)."""
    s = 2 * r + 1
    return (torch.arange(n) * (h * w) - r * (w + 1))[:, None] + torch.arange(s) * w


def time_decoders(*, loop: bool = True, **kwargs) -> dict[str, float]:
    """:func:`dark.study.time_decoders` (same keyword arguments), with ``loop``: also the per-heatmap
    DARK loop as ``"dark_loop"`` and :func:`bound_blur` (k = 11) as ``"dark_bound"`` (seconds per call on
    the whole batch)."""
    # the bound right after the decoders, the loop last: the floor still follows the loop, as before
    extra = {"dark_bound": bound_blur(11), "dark_loop": dark_loop} if loop else None
    return study.time_decoders(extra=extra, **kwargs)


def table(times: dict[str, float], heatmaps: int) -> str:
    """The report: each decoder's time, its ratio to the floor and the loop, and PASS/MISS per target."""
    floor = times["floor"]
    w = max(14, *(len(n) + 2 for n in codecs.DECODERS))
    lines = [
        f"floor (numpy argmax, flattened batch): {floor * 1e3:.3f} ms"
        + (f"; DARK per-heatmap loop: {times['dark_loop'] * 1e3:.1f} ms" if "dark_loop" in times else ""),
    ]
    if "dark_bound" in times:
        bound = times["dark_bound"]
        lines.append(
            f"numpy/torch bound of dark (argmax, window rows, float64 product, log; nothing else): "
            f"{bound * 1e3:.3f} ms = {bound / floor:.2f} x floor"
        )
    lines += [
        "",
        f"{'decoder':<{w}}{'ms/call':>9}{'us/map':>8}{'x floor':>9}{'target':>8}  {'':<5}{'loop/this':>10}",
    ]
    for name in codecs.DECODERS:
        t = times[name]
        target = TARGETS.get(name, DEFAULT_TARGET)
        ok = t <= target * floor
        verdict, bound = ("PASS" if ok else "MISS"), f"<= {target:g}"
        if math.isinf(target):
            verdict, bound = "-", "-"
        loop = times.get("dark_loop", math.nan) / t
        extra = ""
        if name == "dark" and "dark_loop" in times:
            extra = f"  (>= {LOOP_SPEEDUP:.0f}x: {'PASS' if loop >= LOOP_SPEEDUP else 'MISS'})"
        lines.append(
            f"{name:<{w}}{t * 1e3:9.3f}{t / heatmaps * 1e6:8.2f}{t / floor:9.2f}{bound:>8}"
            f"  {verdict:<5}{loop:10.1f}{extra}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/decode.py", description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: leave torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clock", choices=tuple(CLOCKS), default="thread", help="with --threads 1 (else wall)"
    )
    args = parser.parse_args(argv)
    threads = args.threads or None
    clock = args.clock if threads == 1 else "wall"
    print(
        "batch 64 x 17 heatmaps of 64 x 48, float32, CPU torch tensor; "
        f"torch threads: {threads or 'default'}; {clock} clock; medians of {args.repeats} interleaved rounds"
    )
    times = time_decoders(repeats=args.repeats, seed=args.seed, threads=threads, clock=clock)
    print(table(times, 64 * 17))
    maps = make_batch(seed=args.seed)
    gap = np.abs(dark_loop(maps) - codecs.decode(maps, "dark", sigma=2.0, kernel_size=11)[0]).max()
    print(f"(the loop and dark, k = 11, agree to {gap:.1e} px: the loop rounds its blurred maps to float32)")
    if torch.cuda.is_available():
        n = 1024 * 17
        gpu = time_decoders(
            batch=1024, repeats=args.repeats, seed=args.seed, threads=None, device="cuda", loop=False
        )
        print(
            f"\nCUDA ({torch.cuda.get_device_name()}), batch 1024 x 17: dark {n / gpu['dark']:.3g} heatmaps/s"
        )
        for name in codecs.DECODERS:
            print(f"  {name:<14}{n / gpu[name]:12.3g} heatmaps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
