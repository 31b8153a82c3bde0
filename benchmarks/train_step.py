"""Training-step speed of every model at the input size of every profile: fp32 against bf16 autocast.

A training step is what ``dark.train`` runs per batch: index a batch of the split's tensors, move it
to the device, encode its targets (``dark.codecs.encode``, unbiased), forward, the stacked MSE
(``dark.train.heatmap_loss``), backward, Adam. Cells: every model of ``dark.models.MODELS`` in the
``model_config`` of every profile of ``dark.profiles.PROFILES``, at that profile's input
(160/s x 320/s for ``recipe.input_scale`` s) and batch size; profiles with the same cell share it.

Variants, all channels-last (the project's memory format) and measured in the same run, so the ratio
bf16/fp32 is not a comparison across machines or days:

- ``fp32``: float32;
- ``bf16``: ``torch.autocast(device, torch.bfloat16)`` (the loss stays float32);
- ``bf16+compile`` (``--compile``): the bf16 step with the model under ``torch.compile``; its compile
  time (the warm-up steps minus as many steady steps) and the step count after which it has paid for
  itself, next to the steps of one quick run (``epochs x 4 x train frames / batch`` of the quick profile).

CPU: images/s per wall second, and the ratio bf16/fp32 also per CPU second of this process (on a
shared machine CPU time is the steadier). The full models at 160x320 are skipped on the CPU unless
``--profiles`` names ``full``.
CUDA: the GPU defaults (``cudnn.benchmark``, channels-last; bf16 is the training default there) and
the projected wall time of the report's 30 epochs over 73,248 training images, next to the report's
~20 h per model on one RTX 2080 Ti. The share of a step spent indexing the batch and encoding targets
is given for the fp32 variant (it must stay small).

Run: ``python benchmarks/train_step.py [--device cpu|cuda] [--models sh hrnet] [--profiles quick full]
[--steps N] [--batch B] [--compile] [--threads T] [--json OUT]``; prints a table, exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from dark import codecs, models
from dark.data.dataset import normalise_depth
from dark.profiles import PROFILES
from dark.skeleton import INPUT_SIZE, STRIDE
from dark.train import heatmap_loss

REPORT_IMAGES, REPORT_EPOCHS, REPORT_HOURS, REPORT_BATCH = 73_248, 30, 20.0, 32
SIGMA = 2.0


@dataclass(frozen=True)
class Cell:
    """One (model, model configuration, input size, batch) and the profiles that train it."""

    model: str
    model_config: str
    input_scale: int
    batch: int
    profiles: tuple[str, ...]

    @property
    def input_size(self) -> tuple[int, int]:
        return INPUT_SIZE[0] // self.input_scale, INPUT_SIZE[1] // self.input_scale

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return tuple(math.ceil(s / STRIDE) for s in self.input_size)


def cells(model_names: Sequence[str], profile_names: Sequence[str], batch: int | None) -> list[Cell]:
    """The distinct cells of ``model_names`` x ``profile_names`` (profile order; merged profiles)."""
    found: dict[tuple, list[str]] = {}
    for p in profile_names:
        prof = PROFILES[p]
        for m in model_names:
            key = (m, prof.model_config, prof.recipe.input_scale, batch or prof.recipe.batch_size)
            found.setdefault(key, []).append(p)
    return [Cell(*key, tuple(ps)) for key, ps in found.items()]


def quick_run_steps() -> int:
    """Training steps of one quick run: epochs x (4 views x train frames) / batch."""
    q = PROFILES["quick"]
    return q.recipe.epochs * math.ceil(4 * q.frames.train / q.recipe.batch_size)


def fake_split(n: int, cell: Cell, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random data shaped as ``dark.train.load_split`` returns it (raw uint16 at full size)."""
    g = torch.Generator().manual_seed(seed)
    size = cell.input_size
    if size == tuple(INPUT_SIZE):
        depth = torch.randint(0, 60000, (n, 1, *size), generator=g).to(torch.uint16)
    else:  # resized once to the network's input, as load_split does
        depth = torch.rand(n, 1, *size, generator=g)
    return {
        "depth": depth,
        "joints": torch.rand(n, 18, 2, generator=g) * torch.tensor([320.0, 160.0]),
        "visible": torch.rand(n, 18, generator=g) > 0.1,
    }


def batch(split, idx, cell: Cell, device: torch.device):
    """Network input (channels-last) and unbiased targets of one batch, on ``device``."""
    x = split["depth"][idx].to(device, non_blocking=True)
    if x.dtype == torch.uint16:
        x = normalise_depth(x, units="0.1mm")
    x = x.contiguous(memory_format=torch.channels_last)
    stride = STRIDE * cell.input_scale
    coords = codecs.to_heatmap(split["joints"][idx].to(device), stride=stride, scaling="stride")
    targets, weights = codecs.encode(
        coords, size=cell.heatmap_size, sigma=SIGMA, method="unbiased", grid="input", stride=stride,
        visible=split["visible"][idx].to(device), return_weights=True,
    )  # fmt: skip
    return x, targets, weights


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(cell: Cell, variant: str, device: torch.device, steps: int, warmup: int) -> dict:
    """Images/s (wall, CPU) of ``steps`` timed training steps of one cell in one variant.

    ``variant``: ``"fp32"``, ``"bf16"`` or ``"bf16+compile"``. The warm-up steps are timed one by one
    (``warmup_step_s``; at least 3 for a compiled model, where recompiles settle) and ``compile_s`` =
    their sum - as many steady steps.
    """
    compiled = variant.endswith("+compile")
    warmup = max(warmup, 3) if compiled else warmup  # recompiles settle in the first steps
    torch.manual_seed(0)
    net = models.build(cell.model, cell.model_config).to(device, memory_format=torch.channels_last)
    params = models.count_parameters(net)
    step_net = torch.compile(net) if compiled else net
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    bf16 = variant.startswith("bf16")
    split = fake_split(cell.batch * (steps + warmup), cell)
    order = torch.randperm(len(split["depth"]))

    def run(step):
        x, targets, weights = batch(split, order[step * cell.batch : (step + 1) * cell.batch], cell, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = heatmap_loss(step_net(x), targets, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    warm = []
    for step in range(warmup):
        t0 = time.perf_counter()
        run(step)
        sync(device)
        warm.append(time.perf_counter() - t0)
    wall, cpu = time.perf_counter(), time.process_time()
    for step in range(warmup, warmup + steps):
        run(step)
    sync(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    row = {
        "model": cell.model, "model_config": cell.model_config, "profiles": list(cell.profiles),
        "input": list(cell.input_size), "batch": cell.batch, "params": params, "variant": variant,
        "steps": steps, "step_s": wall / steps, "images_per_s": steps * cell.batch / wall,
        "images_per_cpu_s": steps * cell.batch / max(cpu, 1e-9), "warmup_step_s": warm,
    }  # fmt: skip
    if compiled:
        row["compile_s"] = max(sum(warm) - len(warm) * wall / steps, 0.0)
    if variant == "fp32":  # the data side alone: indexing, transfer, target encoding
        t0 = time.perf_counter()
        for step in range(warmup, warmup + steps):
            batch(split, order[step * cell.batch : (step + 1) * cell.batch], cell, device)
        sync(device)
        row["data_share"] = (time.perf_counter() - t0) / wall
    return row


def payback(compiled: dict, eager: dict) -> dict:
    """When ``torch.compile`` has paid for its compile time, against the eager bf16 step."""
    saved = eager["step_s"] - compiled["step_s"]
    steps = math.ceil(compiled["compile_s"] / saved) if saved > 0 else None
    quick, report = quick_run_steps(), REPORT_EPOCHS * math.ceil(REPORT_IMAGES / REPORT_BATCH)
    return {
        "break_even_steps": steps,
        "quick_run_steps": quick,
        "pays_back": steps is not None and steps <= quick,
        "report_run_steps": report,
        "pays_back_report": steps is not None and steps <= report,
    }


def projection(rate: float) -> float:
    """Hours of the report's 30 epochs over 73,248 images at ``rate`` images/s."""
    return REPORT_EPOCHS * REPORT_IMAGES / rate / 3600


def measure_cell(cell: Cell, device, steps: int, warmup: int, compile_: bool) -> tuple[list[dict], dict]:
    """Every variant of one cell: its rows and its summary (ratios, compile payback, projection)."""
    r = {v: measure(cell, v, device, steps, warmup) for v in ("fp32", "bf16")}
    s = {"model": cell.model, "model_config": cell.model_config, "input": list(cell.input_size),
         "batch": cell.batch, "profiles": list(cell.profiles),
         "bf16_over_fp32": r["bf16"]["images_per_s"] / r["fp32"]["images_per_s"],
         "bf16_over_fp32_cpu_s": r["bf16"]["images_per_cpu_s"] / r["fp32"]["images_per_cpu_s"]}  # fmt: skip
    if compile_:
        try:
            r["bf16+compile"] = c = measure(cell, "bf16+compile", device, steps, warmup)
            s.update(payback(c, r["bf16"]), compile_s=c["compile_s"],
                     compiled_over_bf16=c["images_per_s"] / r["bf16"]["images_per_s"])  # fmt: skip
        except Exception as error:  # report it, keep the eager numbers
            s["compile_error"] = f"{type(error).__name__}: {error}"
            print(f"{cell.model} {cell.model_config}: torch.compile failed: {s['compile_error']}")
    if device.type == "cuda":
        s["report_30_epochs_h"] = projection(r["bf16"]["images_per_s"])
        s["report_30_epochs_h_fp32"] = projection(r["fp32"]["images_per_s"])
    return list(r.values()), s


def header(compile_: bool, cuda: bool) -> str:
    head = f"{'model':<6} {'config':<6} {'input':>7} {'batch':>5} {'params':>10} {'fp32 img/s':>11} "
    head += f"{'bf16 img/s':>11} {'bf16/fp32':>9} {'per CPU-s':>9} {'data+targets':>12}"
    if compile_:
        head += f" {'compiled img/s':>14} {'compile s':>9} {'break-even':>10} {'pays back':>9}"
    if cuda:
        head += f" {'30 ep x 73,248 (bf16)':>22}"
    return head


def line(rows: Sequence[dict], s: dict, compile_: bool) -> str:
    """One table line of a measured cell."""
    r = {row["variant"]: row for row in rows}
    h, w = s["input"]
    out = f"{s['model']:<6} {s['model_config']:<6} {f'{h}x{w}':>7} {s['batch']:>5} "
    out += (
        f"{r['fp32']['params']:>10,} {r['fp32']['images_per_s']:>11.1f} {r['bf16']['images_per_s']:>11.1f} "
    )
    out += f"{s['bf16_over_fp32']:>9.2f} {s['bf16_over_fp32_cpu_s']:>9.2f} "
    out += f"{100 * r['fp32']['data_share']:>11.1f}%"
    if compile_ and "bf16+compile" not in r:
        out += f" {'failed':>14}"
    elif compile_:
        c = r["bf16+compile"]
        be = "never" if s["break_even_steps"] is None else f"{s['break_even_steps']}"
        pays = "yes" if s["pays_back"] else "no"
        out += f" {c['images_per_s']:>14.1f} {c['compile_s']:>9.1f} {be:>10} {pays:>9}"
    if "report_30_epochs_h" in s:
        out += f" {s['report_30_epochs_h']:>20.2f} h"
    return out


def run_cells(todo: Sequence[Cell], device, steps, warmup, compile_, done=None) -> tuple[list, list]:
    """Measure every cell in every variant; print one line per cell; return (rows, summaries).

    ``done(rows, summaries)`` is called after every cell (the JSON file is rewritten, so a run killed
    at its time limit keeps the cells it finished)."""
    print(header(compile_, device.type == "cuda"))
    rows, summaries = [], []
    for cell in todo:
        cell_rows, s = measure_cell(cell, device, steps, warmup, compile_)
        print(line(cell_rows, s, compile_), flush=True)
        rows += cell_rows
        summaries.append(s)
        if done is not None:
            done(rows, summaries)
    return rows, summaries


def environment(device: torch.device) -> dict:
    env = {"device": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "platform": platform.platform(), "processor": platform.processor()}  # fmt: skip
    if device.type == "cuda":
        env.update(
            gpu=torch.cuda.get_device_name(device),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_benchmark=torch.backends.cudnn.benchmark,
        )
    return env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/train_step.py", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", help="cpu | cuda | auto (default: cuda if available)")
    parser.add_argument("--models", nargs="+", default=list(models.MODELS), help="default: every model")
    parser.add_argument("--profiles", nargs="+", help="default: every profile (CPU: all but full)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant (CUDA: at least 10)")
    parser.add_argument("--batch", type=int, help="batch size (default: each profile's recipe)")
    parser.add_argument("--compile", action="store_true", help="also time the bf16 step under torch.compile")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--json", help="write the results (rows, per-cell summaries) to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(args.device)
    unknown = [p for p in args.profiles or () if p not in PROFILES]
    unknown += [m for m in args.models if m not in models.MODELS]
    if unknown:
        parser.error(f"unknown profile or model: {unknown}")
    skipped = []
    if args.profiles is None:
        args.profiles = list(PROFILES)
        if device.type == "cpu":
            args.profiles.remove("full")
            skipped.append("full (160x320, the report's models): skipped on the CPU; pass --profiles full")
    steps, warmup = (max(args.steps, 10), 3) if device.type == "cuda" else (args.steps, 1)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    env = environment(device)
    where = f"cuda ({env['gpu']})" if device.type == "cuda" else "cpu"
    print(f"{where}, torch {torch.__version__}, {env['threads']} threads; channels-last; "
          f"{steps} timed steps after {warmup} warm-up")  # fmt: skip
    for line in skipped:
        print(line)
    todo = cells(args.models, args.profiles, args.batch)

    def write_json(rows, summaries):
        if args.json:
            with open(args.json, "w") as f:
                json.dump(
                    {"environment": env, "skipped": skipped, "rows": rows, "cells": summaries}, f, indent=1
                )

    run_cells(todo, device, steps, warmup, args.compile, done=write_json)
    if device.type == "cuda":
        print(f"(report: ~{REPORT_HOURS:.0f} h per model for {REPORT_EPOCHS} epochs on one RTX 2080 Ti)")
    if args.compile:
        print(
            f"(a quick run: {quick_run_steps()} steps; break-even: steps after which compile has paid back)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
