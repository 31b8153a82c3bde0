"""What each decoder costs: median seconds per call on one batch, interleaved with a floor.

``benchmarks/decode.py`` adds the per-heatmap reference loop to :func:`time_decoders`; the decoder study
notebook calls it as is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import numpy as np
import torch

from dark import codecs


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
