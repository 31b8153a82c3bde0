"""Training-step speed of every model at the input size of every profile: fp32 against bf16 autocast.

A training step is what ``dark.experiment.train`` runs per batch: index a batch of the split's
tensors, move it to the device, encode its targets (``dark.codecs.encode``, unbiased), forward, the
stacked MSE (``dark.experiment.train.heatmap_loss``), backward, Adam (``foreach``, as training). Cells:
every model of ``dark.models.MODELS`` in the ``model_config`` of every profile of
``dark.design.profiles.PROFILES``, at that profile's input (160/s x 320/s for
``recipe.input_scale`` s) and batch size; profiles with the same cell share it.

Variants, all channels-last (the project's memory format) and measured in the same run, so the ratio
bf16/fp32 is not a comparison across machines or days:

- ``fp32``: float32;
- ``bf16``: ``torch.autocast(device, torch.bfloat16)`` (the loss stays float32);
- ``bf16+compile`` (``--compile``): the bf16 step with the model under ``torch.compile``; its compile
  time (the warm-up steps minus as many steady steps) and the step count after which it has paid for
  itself, next to the steps of one quick run (``epochs x 4 x train frames / batch`` of the quick profile).

Useful work: the FLOPs of one forward and backward (``torch.utils.flop_counter.FlopCounterMode``:
convolutions and matrix products; batch norm, activations and the optimiser count as none) per image,
times images/s, over the rate of an fp32 2048x2048 matmul on the same device measured right before
and after the timed steps (``/mm``): the fraction of the machine's matrix rate a step turns into
training. ``auto`` marks the variant ``precision="auto"`` resolves to here (:mod:`dark.experiment.device`).

The real loop (``--data DIR`` a rendered dataset, default a ``smoke``-sized one rendered into a temporary
folder; ``--no-epoch`` skips it): a short ``dark.experiment.train.train`` run of the cell's first profile
(``--epoch-epochs``, default 2, in fp32 and in the ``auto`` precision), its last epoch (training and
validation with every decoder, as ``metrics.jsonl`` times it) scaled to one epoch of the profile's
data (training steps x the profile's steps, validation x the profile's validation views), and that
epoch's useful FLOP/s (training views x forward-and-backward FLOPs + validation views x forward FLOPs)
over the matmul rate measured around it.

CPU: images/s per wall second, and the ratio bf16/fp32 also per CPU second of this process (on a
shared machine CPU time is the steadier). The full models at 160x320 are skipped on the CPU unless
``--profiles`` names ``full``.
CUDA: the GPU defaults (``cudnn.benchmark``, channels-last; bf16 is the training default there) and
the projected wall time of the report's 30 epochs over 73,248 training images, next to the report's
~20 h per model on one RTX 2080 Ti. The share of a step spent indexing the batch and encoding targets
is given for the fp32 variant (it must stay small).

Run: ``python benchmarks/train_step.py [--device cpu|cuda] [--models sh hrnet] [--profiles quick full]
[--steps N] [--batch B] [--compile] [--threads T] [--data DIR | --no-epoch] [--json OUT]``; prints two
tables (steps, real loop), exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from dark import codecs, models
from dark.data.dataset import normalise_depth
from dark.design.profiles import PROFILES
from dark.design.skeleton import INPUT_SIZE, STRIDE
from dark.experiment import runs
from dark.experiment.device import resolve_precision
from dark.experiment.train import heatmap_loss, train

REPORT_IMAGES, REPORT_EPOCHS, REPORT_HOURS, REPORT_BATCH = 73_248, 30, 20.0, 32
REPORT_VAL_IMAGES = 12_236
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


def matmul_rate(device: torch.device, n: int = 2048, reps: int = 3) -> float:
    """FLOP/s of an fp32 ``n x n`` matmul on ``device``: ``2 n^3`` per product, mean of ``reps`` after one."""
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=g).to(device) for _ in range(2))
    a @ b
    sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return reps * 2 * n**3 / (time.perf_counter() - t0)


def step_flops(cell: Cell) -> tuple[float, float]:
    """FLOPs per image of a training step (forward and backward of the loss) and of a validation forward.

    Counted by ``FlopCounterMode`` on the meta device (shapes only): convolutions and matrix products.
    """
    net = models.build(cell.model, cell.model_config).to("meta", memory_format=torch.channels_last)
    x = torch.zeros(cell.batch, 1, *cell.input_size, device="meta")
    targets = torch.zeros(cell.batch, 18, *cell.heatmap_size, device="meta")
    weights = torch.ones(cell.batch, 18, device="meta")
    with FlopCounterMode(display=False) as counted:
        heatmap_loss(net(x.contiguous(memory_format=torch.channels_last)), targets, weights).backward()
    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as forward:
        net(x.contiguous(memory_format=torch.channels_last))
    return counted.get_total_flops() / cell.batch, forward.get_total_flops() / cell.batch


def profile_views(profile: str) -> tuple[int, int]:
    """Training and validation views of one epoch of ``profile`` (4 views per frame; the report's
    73,248 / 12,236 images for the full dataset)."""
    frames = PROFILES[profile].frames
    if frames.train is None:
        return REPORT_IMAGES, REPORT_VAL_IMAGES
    return 4 * frames.train, 4 * frames.val


def quick_run_steps() -> int:
    """Training steps of one quick run: epochs x (4 views x train frames) / batch."""
    q = PROFILES["quick"]
    return q.recipe.epochs * math.ceil(4 * q.frames.train / q.recipe.batch_size)


def fake_split(n: int, cell: Cell, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random data shaped as ``dark.experiment.train.load_split`` returns it (raw uint16 at full size)."""
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
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, foreach=True)  # as dark.experiment.train steps
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
    rate = matmul_rate(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for step in range(warmup, warmup + steps):
        run(step)
    sync(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rate = (rate + matmul_rate(device)) / 2  # interleaved: the machine's rate while the steps ran
    row = {
        "model": cell.model, "model_config": cell.model_config, "profiles": list(cell.profiles),
        "input": list(cell.input_size), "batch": cell.batch, "params": params, "variant": variant,
        "steps": steps, "step_s": wall / steps, "images_per_s": steps * cell.batch / wall,
        "images_per_cpu_s": steps * cell.batch / max(cpu, 1e-9), "warmup_step_s": warm,
        "matmul_flop_s": rate,
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
    """Every variant of one cell: its rows and its summary (ratios, useful FLOP/s over the matmul rate,
    compile payback, projection)."""
    flops, val_flops = step_flops(cell)
    auto = resolve_precision(device, "auto")
    r = {v: measure(cell, v, device, steps, warmup) for v in ("fp32", "bf16")}
    for row in r.values():
        row.update(flops_per_image=flops, auto=row["variant"] == auto)
        row["useful_flop_s"] = flops * row["images_per_s"]
        row["of_matmul"] = row["useful_flop_s"] / row["matmul_flop_s"]
    s = {"model": cell.model, "model_config": cell.model_config, "input": list(cell.input_size),
         "batch": cell.batch, "profiles": list(cell.profiles), "auto": auto,
         "flops_per_image": flops, "val_flops_per_image": val_flops,
         "fp32_of_matmul": r["fp32"]["of_matmul"], "bf16_of_matmul": r["bf16"]["of_matmul"],
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
    head = f"{'model':<6} {'config':<6} {'input':>7} {'batch':>5} {'params':>10} {'GFLOP/img':>9} "
    head += f"{'fp32 img/s':>11} {'bf16 img/s':>11} {'bf16/fp32':>9} {'per CPU-s':>9} {'fp32/mm':>8} "
    head += f"{'bf16/mm':>8} {'data+targets':>12}"
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
    out += f"{r['fp32']['params']:>10,} {s['flops_per_image'] / 1e9:>9.3f} "
    out += f"{r['fp32']['images_per_s']:>11.1f} {r['bf16']['images_per_s']:>11.1f} "
    out += f"{s['bf16_over_fp32']:>9.2f} {s['bf16_over_fp32_cpu_s']:>9.2f} "
    for v in ("fp32", "bf16"):  # the variant precision="auto" resolves to is starred
        out += f"{('*' if s['auto'] == v else '') + format(r[v]['of_matmul'], '.0%'):>8} "
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


def small_split(folder: Path) -> Path:
    """A rendered dataset of the smoke profile's size in ``folder`` (64 training, 32 validation views)."""
    from dark.data.synth import render_dataset

    return render_dataset(Path(folder) / "data", "smoke", progress=False)


def real_epoch(cell: Cell, data: Path, precision: str, device: torch.device, epochs: int = 2) -> dict:
    """A real ``dark.experiment.train.train`` run of ``cell`` on ``data``: its last epoch scaled to the
    profile's.

    Training time = steps x batch / ``images_per_s``, validation time = ``time_s`` - training time
    (``metrics.jsonl``); the epoch of the cell's first profile = training time per step x its steps +
    validation time per view x its validation views. ``of_matmul``: that epoch's useful FLOPs
    (:func:`step_flops`) per second over the matmul rate measured right before and after the run.
    """
    profile = cell.profiles[0]
    with tempfile.TemporaryDirectory() as tmp:
        rate = matmul_rate(device)
        run = train(data, Path(tmp) / "run", model=cell.model, profile=profile, epochs=epochs,
                    batch_size=cell.batch, device=str(device), quiet=True, precision=precision)  # fmt: skip
        rate = (rate + matmul_rate(device)) / 2
        cfg = runs.Run(run).config_json()
        last = runs.Run(run).history()[-1]
    steps = cfg["n_train"] // cfg["batch_size"]
    train_s = steps * cfg["batch_size"] / last["images_per_s"]
    val_s = max(last["time_s"] - train_s, 0.0)
    n_train, n_val = profile_views(profile)
    profile_steps = n_train // cell.batch
    epoch_s = train_s / steps * profile_steps + val_s / max(cfg["n_val"], 1) * n_val
    flops, val_flops = step_flops(cell)
    useful = profile_steps * cell.batch * flops + n_val * val_flops
    return {
        "model": cell.model, "model_config": cell.model_config, "profile": profile,
        "input": list(cell.input_size), "batch": cell.batch, "precision": cfg["precision"],
        "epochs": epochs, "n_train": cfg["n_train"], "n_val": cfg["n_val"],
        "step_s": train_s / steps, "val_s_per_view": val_s / max(cfg["n_val"], 1),
        "profile_train_views": n_train, "profile_val_views": n_val, "epoch_s": epoch_s,
        "val_share": val_s / max(cfg["n_val"], 1) * n_val / epoch_s,
        "useful_flop_s": useful / epoch_s, "matmul_flop_s": rate, "of_matmul": useful / epoch_s / rate,
    }  # fmt: skip


def epoch_line(e: dict, auto: str) -> str:
    """One line of the real-loop table (``*``: the precision ``"auto"`` resolves to)."""
    h, w = e["input"]
    precision = ("*" if e["precision"] == auto else "") + e["precision"]
    out = f"{e['model']:<6} {e['model_config']:<6} {f'{h}x{w}':>7} {e['profile']:<7} {precision:>9} "
    out += f"{e['step_s']:>7.3f} {e['val_s_per_view']:>10.4f} {e['epoch_s']:>8.1f} {e['val_share']:>9.0%} "
    return out + f"{e['useful_flop_s'] / 1e9:>8.1f} {e['of_matmul']:>5.0%}"


def run_epochs(todo: Sequence[Cell], data: Path, device: torch.device, epochs: int) -> list[dict]:
    """The real loop of every cell in fp32 and in the ``auto`` precision; prints one line per run."""
    auto = resolve_precision(device, "auto")
    print(f"\nreal loop: dark.experiment.train, the last of {epochs} epochs on {data}, scaled to one "
          "epoch of the profile (training + validation, every decoder); * = precision 'auto'")  # fmt: skip
    print(f"{'model':<6} {'config':<6} {'input':>7} {'profile':<7} {'precision':>9} {'step s':>7} "
          f"{'val s/view':>10} {'epoch s':>8} {'val share':>9} {'GFLOP/s':>8} {'/mm':>5}")  # fmt: skip
    out = []
    for cell in todo:
        for precision in dict.fromkeys(("fp32", auto)):
            try:
                e = real_epoch(cell, data, precision, device, epochs)
            except Exception as error:  # report it, keep the step table
                print(f"{cell.model} {cell.model_config} {precision}: real loop failed: {error!r}")
                out.append({"model": cell.model, "precision": precision, "error": repr(error)})
                continue
            out.append(e)
            print(epoch_line(e, auto), flush=True)
    return out


def environment(device: torch.device) -> dict:
    env = {"device": device.type, "torch": torch.__version__, "threads": torch.get_num_threads(),
           "platform": platform.platform(), "processor": platform.processor(),
           "loadavg": list(os.getloadavg())}  # fmt: skip  # a busy machine's neighbours slow a step
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
    parser.add_argument("--data", help="rendered dataset for the real loop (default: a smoke-sized one)")
    parser.add_argument(
        "--epoch-epochs", type=int, default=2, help="epochs of each real-loop run (last timed)"
    )
    parser.add_argument(
        "--no-epoch", action="store_true", help="skip the real loop (dark.experiment.train runs)"
    )
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
          f"{steps} timed steps after {warmup} warm-up; load average {env['loadavg'][0]:.1f}")  # fmt: skip
    for line in skipped:
        print(line)
    todo = cells(args.models, args.profiles, args.batch)

    def write_json(rows, summaries, epochs=()):
        if args.json:
            with open(args.json, "w") as f:
                json.dump(
                    {"environment": env, "skipped": skipped, "rows": rows, "cells": summaries,
                     "epochs": list(epochs)}, f, indent=1,
                )  # fmt: skip

    rows, summaries = run_cells(todo, device, steps, warmup, args.compile, done=write_json)
    if not args.no_epoch:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                data = Path(args.data) if args.data else small_split(Path(tmp))
            except Exception as error:  # e.g. no renderer here: the step table stands
                print(f"real loop skipped: no data ({error!r}); pass --data DIR")
            else:
                write_json(rows, summaries, run_epochs(todo, data, device, args.epoch_epochs))
    if device.type == "cuda":
        print(f"(report: ~{REPORT_HOURS:.0f} h per model for {REPORT_EPOCHS} epochs on one RTX 2080 Ti)")
    if args.compile:
        print(
            f"(a quick run: {quick_run_steps()} steps; break-even: steps after which compile has paid back)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
