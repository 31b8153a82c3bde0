"""Where a computation runs and in what precision: one rule for training, evaluation and benchmarks.

``resolve_device("auto")`` takes CUDA when it is available (this process's ``LOCAL_RANK`` under
``torchrun``), else the CPU; an explicit name is validated. ``resolve_precision(device, "auto")``
takes bfloat16 autocast where the device runs it fast (a CUDA GPU that supports it, a CPU with
AVX512-BF16 or AMX) and float32 elsewhere; ``autocast(device, precision)`` is the matching context.
``processes(device, threads)`` is the context of one process of a ``torchrun`` launch (or of a single
process): its rank, the number of processes, and its CPU threads.

>>> resolve_device("cpu")
device(type='cpu')
>>> resolve_precision("cpu", "fp32")
'fp32'
>>> with autocast("cpu", "fp32"):
...     pass
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.distributed as dist

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` (``LOCAL_RANK`` under torchrun) if available, else ``cpu``; validates others.

    Raises:
        ValueError: an unknown device name, or CUDA asked for where there is none.
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"unknown device {device!r}; expected 'auto', 'cpu' or 'cuda[:N]'") from error
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def cpu_has_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether this CPU has native bfloat16 arithmetic (the ``avx512_bf16`` or ``amx_bf16`` flag).

    Reads the flags of ``cpuinfo`` (Linux); elsewhere falls back on torch's capability string
    (``"AVX512_BF16"`` / ``"AMX..."``). False when neither says so.
    """
    try:
        flags = Path(cpuinfo).read_text().split()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        capability = str(torch.backends.cpu.get_cpu_capability()).upper()
        return "BF16" in capability or "AMX" in capability


def resolve_precision(device: str | torch.device, precision: str = "auto") -> str:
    """``"fp32"`` or ``"bf16"``: what runs on ``device`` for ``precision`` ("auto", "fp32" or "bf16").

    ``"auto"``: bf16 on a CUDA GPU that supports it or on a CPU with AVX512-BF16/AMX, fp32 otherwise.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {list(PRECISIONS)}")
    if precision != "auto":
        return precision
    dev = resolve_device(device)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if dev.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def autocast(device: str | torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved ``precision`` on ``device`` (a no-op for ``"fp32"``)."""
    dev = resolve_device(device)
    if resolve_precision(dev, precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(dev.type, dtype=torch.bfloat16)


@contextlib.contextmanager
def processes(device: torch.device, threads: int | None = None) -> Iterator[tuple[int, int]]:
    """``(rank, world)`` of this process: ``(0, 1)`` alone; under ``torchrun`` (``WORLD_SIZE > 1``) the
    process group (NCCL on GPUs, gloo on CPUs; made here and destroyed on exit unless one exists).

    CPU threads: ``threads`` if given, else under several CPU processes the cores shared among them,
    else torch's setting; restored on exit.
    """
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    own_group = distributed and not dist.is_initialized()
    if distributed and device.type == "cuda":
        torch.cuda.set_device(device)  # NCCL's communicator lives on this rank's GPU, not on cuda:0
    if own_group:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    elif distributed and device.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    try:
        yield rank, world
    finally:
        torch.set_num_threads(old_threads)
        if own_group:
            dist.destroy_process_group()
