"""Training: the report's recipe for both models, deterministic, resumable, one or several devices.

``train(data, out, model="sh", encoding="unbiased", config="quick", ...) -> Path`` and the CLI
``dark train --data DIR --model sh|hrnet --encoding NAME --out RUN_DIR ...``.

Recipe (the report's, section 3.4): Adam (0.9, 0.999), learning rate 2e-3, no weight decay, MSE between
the predicted and the target heatmaps (summed over the hourglass stacks; each joint weighted by its
target weight, 0 for an invisible or out-of-map joint), seed 1314, the best epoch chosen on the
validation split's PCKh@0.5 with DARK decoding. Targets are unit-peak Gaussians of ``sigma = 2`` heatmap
px, made per batch on the training device by the run's :class:`dark.codecs.Codec` from the float joints;
``encoding`` is a name of :data:`dark.codecs.ENCODINGS` (whether and how the joint is rounded, and on
which grid). ``"random-heatmap"`` draws its rounding from a ``torch.Generator`` seeded with
``(seed, epoch)``, so a resumed run draws what an uninterrupted one does.

Recipes are those of :data:`dark.profiles.PROFILES` (``config`` names a profile: smoke, quick, cpu,
full; its ``model_config`` names the model side, :data:`dark.models.CONFIGS`). The quick and cpu
profiles feed the network the depth map at half resolution (area-averaged by
:func:`dark.data.dataset.prepare_input`), so its heatmaps have a stride of 8 original input px
(``heatmap_stride=8``; the joints and the quantisation grid stay those of the original 160x320 map).

Precision: ``precision=None`` takes the recipe's (``"auto"``: bfloat16 autocast on a CUDA GPU or a CPU
with AVX512-BF16/AMX, float32 elsewhere; :mod:`dark.device`); ``config.json`` records what ran.

Each epoch's validation predicts the validation heatmaps once and decodes them with every decoder of
:data:`dark.codecs.DECODERS` (:func:`dark.decoding.decode_heatmaps`, the path the evaluation takes):
``metrics.jsonl`` keeps DARK's scores under the ``val_*`` keys and every decoder's PCKh@0.1, PCKh@0.5,
RMSE and signed bias (x, y) under ``"val_decoders"``.

Run directory (``out``; the file names of :mod:`dark.runs`): ``config.json`` (written first),
``metrics.jsonl`` (one JSON line per finished epoch), ``last.pt`` (everything needed to resume),
``best.pt`` (weights of the best epoch), ``curves.png``; every file is written atomically. An
interrupted run loses at most the epoch in progress: ``resume=True`` continues from ``last.pt`` and, on
a CPU, ends with exactly the weights of an uninterrupted run (the shuffling order is a function of
``(seed, epoch)`` alone, and the optimizer, scheduler and RNG states are restored).

Devices: ``device="auto"`` takes CUDA when available (channels-last, ``cudnn.benchmark``), else the CPU
(channels-last, torch's thread count unless ``threads`` is given). Under ``torchrun --nproc-per-node N
-m dark train ...`` the model is wrapped in ``DistributedDataParallel`` (NCCL on GPUs, gloo on CPUs),
each process takes its shard of every epoch from a ``DistributedSampler`` (``batch_size`` is the global
batch), and rank 0 alone validates and writes the run directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from dark import checkpoint, metrics, runs
from dark.device import autocast, resolve_device, resolve_precision
from dark.files import atomic_write
from dark.runs import build_model, load_model
from dark.skeleton import INPUT_SIZE, STRIDE

__all__ = ["KILL_ENV", "SIGMA", "build_model", "cli", "heatmap_loss", "load_model", "load_split", "train"]

SIGMA = 2.0  # target standard deviation, heatmap px
#: test hook: ``"EPOCH:STEP"`` (1-based epoch, 0-based step) makes the process SIGKILL itself there
KILL_ENV = "DARK_TRAIN_KILL_AT"
#: settings that must agree between a run directory and a ``resume``
_RESUME_KEYS = (
    "model", "model_config", "model_kwargs", "encoding", "sigma", "input_size", "heatmap_stride",
    "epochs", "batch_size", "lr", "betas", "weight_decay", "seed", "schedule", "n_train", "n_val",
    "world_size", "precision",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- pieces


def heatmap_loss(outputs: Sequence[Tensor], targets: Tensor, weights: Tensor) -> Tensor:
    """Weighted MSE summed over stacks: ``[(B, K, h, w)] * S, (B, K, h, w), (B, K) -> ()``.

    ``sum_s mean_{b,k,y,x} weights[b,k] (outputs[s] - targets)^2`` (float32 whatever the autocast dtype).
    """
    w = weights[:, :, None, None].float()
    return sum(((o.float() - targets) ** 2 * w).mean() for o in outputs)


def _encoding_name(encoding: str, grid: str | None) -> str:
    """The ENCODINGS name; ``grid`` is the old spelling (``"quantized"`` + ``grid="heatmap"``)."""
    from dark import codecs

    if encoding == "quantized" and grid == "heatmap":
        encoding = "quantized-heatmap"
    if encoding not in codecs.ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {list(codecs.ENCODINGS)}")
    table_grid = codecs.ENCODINGS[encoding].grid
    if grid is not None and table_grid is not None and grid != table_grid:
        raise ValueError(f"encoding {encoding!r} rounds on the {table_grid} grid, not on {grid!r}")
    return encoding


def resolve_config(
    model: str,
    encoding: str,
    config: str,
    epochs: int | None,
    batch_size: int | None,
    lr: float,
    seed: int,
    *,
    precision: str | None = None,
    device: str | torch.device = "cpu",
    grid: str | None = None,
    **model_overrides: Any,
) -> dict[str, Any]:
    """The run's full configuration (JSON-able) from the arguments of :func:`train`; validates them.

    ``config`` is a profile name of :data:`dark.profiles.PROFILES`: its recipe, and its
    ``model_config`` for the model side. ``precision`` is resolved for ``device``.
    """
    from dark import codecs, models, profiles

    if model not in models.MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {sorted(models.MODELS)}")
    encoding = _encoding_name(encoding, grid)
    if config not in profiles.PROFILES:
        raise ValueError(f"unknown config {config!r}; expected one of {sorted(profiles.PROFILES)}")
    profile = profiles.PROFILES[config]
    recipe = profile.recipe
    epochs = recipe.epochs if epochs is None else int(epochs)
    batch_size = recipe.batch_size if batch_size is None else int(batch_size)
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"expected epochs >= 1, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    kwargs = models.model_kwargs(model, profile.model_config, **model_overrides)
    input_size = [INPUT_SIZE[0] // recipe.input_scale, INPUT_SIZE[1] // recipe.input_scale]
    spec = codecs.ENCODINGS[encoding]
    return {
        "model": model,
        "model_config": profile.model_config,
        "profile": profile.name,
        "config": config,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "encoding": encoding,
        "grid": spec.grid,
        "rounding": spec.rounding,
        "sigma": SIGMA,
        "input_size": input_size,
        "heatmap_size": [math.ceil(s / STRIDE) for s in input_size],
        "heatmap_stride": STRIDE * recipe.input_scale,
        "scaling": "stride",
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": float(lr),
        "betas": [0.9, 0.999],
        "weight_decay": 0.0,
        "schedule": recipe.schedule,
        "precision": resolve_precision(device, recipe.precision if precision is None else precision),
        "loss": "mse",
        "decoder": "dark",
        "seed": int(seed),
    }


def load_split(data: Any, split: str, input_size: Sequence[int]) -> dict[str, Tensor]:
    """One split as CPU tensors, depth already at the network's ``input_size``.

    Args:
        data: a dataset directory (``dark data``) or HUMAN4D root, or a mapping ``split -> samples``
            (a sequence of :class:`dark.data.Sample`, e.g. in tests).
        split: ``"train"`` | ``"val"`` | ``"test"``.
        input_size: ``(H, W)`` of the network input.

    Returns:
        ``"depth"`` ``(N, 1, H, W)``: float32 normalised when resized, else the raw uint16 (0.1 mm, half
        the memory; :func:`dark.data.dataset.prepare_input` normalises each batch on the device),
        ``"joints"`` ``(N, 18, 2)`` float32 input px of the original 160x320 map, ``"visible"``
        ``(N, 18)`` bool, ``"head_size"`` ``(N,)`` float32.
    """
    from dark.data.dataset import DepthDataset, prepare_input

    if isinstance(data, Mapping):
        if split not in data:
            raise ValueError(f"data has no {split!r} split; it has {sorted(data)}")
        dataset = DepthDataset(list(data[split]), split)
    else:
        dataset = DepthDataset(data, split)
    tensors = dataset.tensors(raw=True)
    tensors.pop("index", None)
    raw = tensors["depth"]
    if tuple(raw.shape[-2:]) != tuple(input_size):  # resize once, on the CPU, in chunks
        chunks = [prepare_input(raw[i : i + 256], input_size).contiguous() for i in range(0, len(raw), 256)]
        tensors["depth"] = torch.cat(chunks) if chunks else torch.zeros(0, 1, *input_size)
    return tensors


def _generator(cfg: Mapping[str, Any], dev: torch.device, epoch: int) -> torch.Generator:
    """The target rounding's random draws of one epoch (``epoch < 0``: validation), from (seed, epoch)."""
    return torch.Generator(device=dev).manual_seed(int(cfg["seed"]) * 1_000_003 + epoch + 1)


@torch.no_grad()
def validate(
    model: nn.Module, split: Mapping[str, Tensor], config: Mapping[str, Any], device: torch.device, epoch=0
) -> dict[str, Any]:
    """Validation loss, DARK's PCKh@0.5 / @0.1 (percent) and RMSE (input px), and every decoder's scores.

    The last stack's heatmaps of the whole split are decoded by :func:`dark.decoding.decode_heatmaps`
    with every decoder of :data:`dark.codecs.DECODERS`: ``"val_decoders"`` maps each to
    :func:`dark.metrics.decoder_scores`.
    """
    from dark import codecs
    from dark.data.dataset import prepare_input
    from dark.decoding import decode_heatmaps

    codec = codecs.Codec.from_config(config)
    generator = _generator(config, device, -1 - epoch)
    model.eval()
    n, batch = len(split["depth"]), max(2 * config["batch_size"], 32)
    total, maps = 0.0, []
    for i in range(0, n, batch):
        x = prepare_input(split["depth"][i : i + batch], config["input_size"], device)
        joints = split["joints"][i : i + batch].to(device)
        visible = split["visible"][i : i + batch].to(device)
        with autocast(device, config["precision"]):
            outputs = model(x)
        targets, weights = codec.targets(joints, visible, generator=generator)
        total += float(heatmap_loss(outputs, targets, weights)) * len(x)
        maps.append(outputs[-1].float().cpu())
    model.train()
    preds = decode_heatmaps(torch.cat(maps), codec, device=device)
    scores = {d: metrics.decoder_scores(p, split) for d, p in preds.items()}
    dark = scores["dark"]
    return {
        "val_loss": total / max(n, 1),
        "val_pckh@0.5": dark["pckh@0.5"],
        "val_pckh@0.1": dark["pckh@0.1"],
        "val_rmse": dark["rmse"],
        "val_decoders": scores,
    }


def _lr_lambda(schedule: str, total_steps: int):
    if schedule == "constant":
        return lambda step: 1.0
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def plot_curves(history: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Loss and validation PCKh@0.5 per epoch, written atomically to ``path`` (PNG)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(8, 3), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], "s-", label="validation")
    ax.set(xlabel="epoch", ylabel="heatmap MSE (sum over stacks)", yscale="log")
    ax.legend()
    bx.plot(epochs, [h["val_pckh@0.5"] for h in history], "o-", label="PCKh@0.5")
    bx.plot(epochs, [h["val_pckh@0.1"] for h in history], "s-", label="PCKh@0.1")
    bx.set(xlabel="epoch", ylabel="validation PCKh, DARK (%)", ylim=(0, 100))
    bx.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    atomic_write(path, buffer.getvalue())


def _write_history(out: Path, history: Sequence[Mapping[str, Any]]) -> None:
    atomic_write(out / runs.METRICS, "".join(json.dumps(h) + "\n" for h in history))


# ---------------------------------------------------------------------------------------------- train


def train(
    data: Any,
    out: str | Path,
    model: str = "sh",
    encoding: str = "unbiased",
    config: str = "quick",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = 2e-3,
    seed: int = 1314,
    device: str = "auto",
    resume: bool = False,
    quiet: bool = False,
    threads: int | None = None,
    precision: str | None = None,
    **overrides: Any,
) -> Path:
    """Train ``model`` with ``encoding`` targets; write the run directory ``out``; return it.

    Args:
        data: dataset directory / HUMAN4D root, or a mapping ``{"train": samples, "val": samples}``.
        out: run directory (created; must not hold another run unless ``resume``).
        model: a name of :data:`dark.models.MODELS` (``"sh"``, ``"hrnet"``).
        encoding: a name of :data:`dark.codecs.ENCODINGS` (``"unbiased"``, ``"ceil"``, ...).
        config: a profile of :data:`dark.profiles.PROFILES` (recipe and model configuration).
        epochs, batch_size: default from the recipe; ``batch_size`` is global (over all processes).
        lr: Adam's learning rate.
        seed: seeds the weights' initialisation, every epoch's shuffling and random rounding.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        resume: continue from ``out/last.pt`` if it exists (a finished run is returned as it is).
        quiet: no progress bars or messages (papermill).
        threads: CPU threads for this run (restored afterwards); default: torch's setting.
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"``; ``None``: the recipe's.
        **overrides: model constructor arguments overriding the config's (e.g. ``stacks=1``); ``grid=``
            is the old spelling of the encoding's grid (``encoding="quantized", grid="heatmap"``).

    Raises:
        ValueError: unknown names, bad numbers, a run directory that holds a different run.
        FileNotFoundError: no dataset at ``data``.
        dark.checkpoint.CorruptCheckpoint: ``resume`` from an unreadable ``last.pt``.
    """
    dev = resolve_device(device)
    cfg = resolve_config(
        model, encoding, config, epochs, batch_size, lr, seed, precision=precision, device=dev, **overrides
    )
    if not isinstance(data, Mapping) and not Path(data).exists():
        raise FileNotFoundError(f"data directory {data} does not exist")
    out = Path(out)
    if not resume and ((out / runs.LAST).exists() or (out / runs.CONFIG).exists()):
        raise ValueError(f"{out} already holds a run; pass resume=True (--resume) or choose another out")
    state = checkpoint.load(out / runs.LAST) if resume and (out / runs.LAST).exists() else None

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    own_group = distributed and not dist.is_initialized()
    if distributed and dev.type == "cuda":
        torch.cuda.set_device(dev)  # NCCL's communicator lives on this rank's GPU, not on cuda:0
    if own_group:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    old_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    elif distributed and dev.type == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    try:
        return _train(data, out, cfg, dev, state, rank, world, quiet)
    finally:
        torch.set_num_threads(old_threads)
        if own_group:
            dist.destroy_process_group()


@dataclass
class Loop:
    """Everything one training holds between its steps (built by :func:`set_up`)."""

    out: Path
    cfg: dict[str, Any]
    dev: torch.device
    rank: int
    world: int
    quiet: bool
    train_split: dict[str, Tensor]
    val_split: dict[str, Tensor] | None
    steps: int
    net: nn.Module | None = None
    ddp: nn.Module | None = None
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"epoch": 0, "val_pckh@0.5": -1.0})
    start: int = 0


def set_up(data: Any, out: Path, cfg: dict[str, Any], dev: torch.device, rank: int, world: int, quiet: bool):
    """Step 1: the splits, the data-dependent settings of ``cfg``, the network, optimiser and schedule."""
    if cfg["batch_size"] % world:
        raise ValueError(f"batch_size {cfg['batch_size']} must be a multiple of the {world} processes")
    train_split = load_split(data, "train", cfg["input_size"])
    val_split = load_split(data, "val", cfg["input_size"]) if rank == 0 else None
    n_train = len(train_split["depth"])
    steps = n_train // cfg["batch_size"]
    if steps < 1:
        raise ValueError(f"{n_train} training samples are fewer than one batch of {cfg['batch_size']}")
    cfg.update(
        n_train=n_train,
        n_val=len(val_split["depth"]) if val_split is not None else None,
        world_size=world,
        device=dev.type,
        torch=str(torch.__version__),
    )
    if world > 1:  # every rank needs the same n_val for the resume check
        box = [cfg["n_val"]]
        dist.broadcast_object_list(box, src=0)
        cfg["n_val"] = box[0]
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg["seed"])
    loop = Loop(out, cfg, dev, rank, world, quiet, train_split, val_split, steps)
    loop.net = build_model(cfg).to(dev, memory_format=torch.channels_last)
    from dark.models import count_parameters

    cfg["parameters"] = count_parameters(loop.net)
    loop.optimizer = torch.optim.Adam(
        loop.net.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=cfg["weight_decay"]
    )
    loop.scheduler = torch.optim.lr_scheduler.LambdaLR(
        loop.optimizer, _lr_lambda(cfg["schedule"], steps * cfg["epochs"])
    )
    return loop


def check_resume(out: Path, cfg: Mapping[str, Any], state: Mapping[str, Any]) -> None:
    """Step 2a: a resumed run must have been started with the same settings (``ValueError`` naming one)."""
    old = state["config"]
    diff = [k for k in _RESUME_KEYS if old.get(k) != cfg.get(k)]
    if diff:
        k = diff[0]
        raise ValueError(f"{out} was started with {k}={old.get(k)!r}, not {cfg.get(k)!r}; use another out")


def restore(loop: Loop, state: Mapping[str, Any]) -> None:
    """Step 2b: weights, optimiser, schedule, RNG, history and best epoch from ``last.pt``'s ``state``."""
    loop.net.load_state_dict(state["model"])
    loop.optimizer.load_state_dict(state["optimizer"])
    loop.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    loop.history, loop.best, loop.start = list(state["history"]), dict(state["best"]), int(state["epoch"])


def run_epoch(loop: Loop, epoch: int, order: Tensor, kill_at: tuple[int, int] | None = None) -> Tensor:
    """Step 3: one pass over the training split in ``order`` (0-based ``epoch``); the summed loss."""
    from tqdm.auto import tqdm

    from dark import codecs

    cfg, dev, split = loop.cfg, loop.dev, loop.train_split
    codec = codecs.Codec.from_config(cfg)
    generator = _generator(cfg, dev, epoch)
    per_rank = cfg["batch_size"] // loop.world
    loss_sum = torch.zeros((), device=dev)
    t0 = time.perf_counter()
    disable = loop.quiet or loop.rank != 0
    bar = tqdm(total=loop.steps, desc=f"epoch {epoch + 1}/{cfg['epochs']}", disable=disable, leave=False)
    loop.net.train()
    from dark.data.dataset import prepare_input

    for step in range(loop.steps):
        if kill_at == (epoch + 1, step):
            os.kill(os.getpid(), signal.SIGKILL)
        idx = order[step * per_rank : (step + 1) * per_rank]
        x = prepare_input(split["depth"][idx], cfg["input_size"], dev)
        joints = split["joints"][idx].to(dev, non_blocking=True)
        targets, weights = codec.targets(joints, split["visible"][idx].to(dev), generator=generator)
        with autocast(dev, cfg["precision"]):
            loss = heatmap_loss(loop.ddp(x), targets, weights)
        loop.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        loop.optimizer.step()
        loop.scheduler.step()
        loss_sum += loss.detach()
        bar.update()
        if step % 10 == 9 or step == loop.steps - 1:
            rate = (step + 1) * cfg["batch_size"] / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{loss_sum.item() / (step + 1):.4g}", img_s=f"{rate:.1f}")
    bar.close()
    if loop.world > 1:
        dist.all_reduce(loss_sum)
        loss_sum /= loop.world
    return loss_sum


def end_epoch(loop: Loop, epoch: int, loss_sum: Tensor, t0: float, train_time: float) -> dict[str, Any]:
    """Step 4 (rank 0): validate, keep the best weights, write ``last.pt``, the metrics and the curves."""
    cfg, out = loop.cfg, loop.out
    record = {
        "epoch": epoch + 1,
        "train_loss": loss_sum.item() / loop.steps,
        **validate(loop.net, loop.val_split, cfg, loop.dev, epoch),
        "lr": loop.scheduler.get_last_lr()[0],
        "time_s": time.perf_counter() - t0,
        "images_per_s": loop.steps * cfg["batch_size"] / train_time,
    }
    loop.history.append(record)
    if record["val_pckh@0.5"] > loop.best["val_pckh@0.5"]:
        loop.best = {"epoch": epoch + 1, "val_pckh@0.5": record["val_pckh@0.5"]}
        checkpoint.save({"model": loop.net.state_dict(), "config": cfg, "epoch": epoch + 1}, out / runs.BEST)
    state = {
        "model": loop.net.state_dict(),
        "optimizer": loop.optimizer.state_dict(),
        "scheduler": loop.scheduler.state_dict(),
        "rng": torch.get_rng_state(),
        "epoch": epoch + 1,
        "history": loop.history,
        "best": loop.best,
        "config": cfg,
    }
    checkpoint.save(state, out / runs.LAST)
    _write_history(out, loop.history)
    plot_curves(loop.history, out / runs.CURVES)
    if not loop.quiet:
        print(
            f"epoch {epoch + 1}/{cfg['epochs']}: train loss {record['train_loss']:.4g}, "
            f"val loss {record['val_loss']:.4g}, val PCKh@0.5 {record['val_pckh@0.5']:.1f}%, "
            f"{record['images_per_s']:.1f} img/s",
            file=sys.stderr,
        )
    return record


def _train(
    data: Any,
    out: Path,
    cfg: dict[str, Any],
    dev: torch.device,
    state: dict[str, Any] | None,
    rank: int,
    world: int,
    quiet: bool,
) -> Path:
    """The steps in order: set up, resume check and restore, then each epoch and its end."""
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DistributedSampler

    loop = set_up(data, out, cfg, dev, rank, world, quiet)
    if state is not None:
        check_resume(out, cfg, state)
        restore(loop, state)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / runs.CONFIG, json.dumps(cfg, indent=2) + "\n")
        if state is not None:  # a kill between last.pt and metrics.jsonl: rewrite from the checkpoint
            _write_history(out, loop.history)
    cuda = dev.type == "cuda"
    loop.ddp = (
        DistributedDataParallel(loop.net, device_ids=[dev.index] if cuda else None) if world > 1 else loop.net
    )
    n_train = cfg["n_train"]
    sampler = DistributedSampler(
        range(n_train), num_replicas=world, rank=rank, shuffle=True, seed=cfg["seed"]
    )
    kill = os.environ.get(KILL_ENV)
    kill_at = tuple(int(v) for v in kill.split(":")) if kill else None
    for epoch in range(loop.start, cfg["epochs"]):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), dtype=torch.int64)
        t0 = time.perf_counter()
        loss_sum = run_epoch(loop, epoch, order, kill_at)
        train_time = time.perf_counter() - t0
        if rank == 0:
            end_epoch(loop, epoch, loss_sum, t0, train_time)
        if world > 1:
            dist.barrier()
    return out


# ---------------------------------------------------------------------------------------------- CLI


def cli(argv: list[str]) -> int:
    """``dark train``: parse ``argv``, train, print the run directory; exit code 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="dark train", description="Train a Stacked Hourglass or HRNet model."
    )
    parser.add_argument("--data", required=True, help="dataset directory (dark data) or HUMAN4D root")
    parser.add_argument("--model", required=True, help="sh | hrnet")
    parser.add_argument(
        "--encoding", required=True, help="a name of dark.codecs.ENCODINGS (unbiased, ceil, ...)"
    )
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument(
        "--config", default="full", help="a profile: smoke | quick | cpu | full (default: full)"
    )
    parser.add_argument("--precision", help="auto | fp32 | bf16 (default: the profile's)")
    parser.add_argument("--epochs", type=int, help="default: the config's (30 in full)")
    parser.add_argument(
        "--batch-size", type=int, help="global batch size (default: the config's, 32 in full)"
    )
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=1314)
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    args = parser.parse_args(argv)
    try:
        run = train(
            args.data,
            args.out,
            model=args.model,
            encoding=args.encoding,
            config=args.config,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            device=args.device,
            resume=args.resume,
            quiet=args.quiet,
            threads=args.threads,
            precision=args.precision,
        )
    except (ValueError, FileNotFoundError) as error:  # CorruptCheckpoint is a ValueError
        print(f"dark train: error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(run)
    return 0
