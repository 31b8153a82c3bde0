"""Training: the report's recipe for both models, deterministic, resumable, one or several devices.

``train(data, out, model="sh", encoding="unbiased", profile="quick", ...) -> Path`` (the command line
``dark train ...`` is :mod:`dark.experiment.train_cli`); the settings are one
:class:`dark.experiment.runs.RunConfig`, resolved from a profile of :data:`dark.design.profiles.PROFILES`
(its recipe, and its ``model_config``).

Recipe (the report's, section 3.4): Adam (0.9, 0.999), learning rate 2e-3, no weight decay, MSE between the
predicted and the target heatmaps (summed over the hourglass stacks; each joint weighted by its target weight,
0 for an invisible or out-of-map joint), seed :data:`dark.design.profiles.REPORT_SEED`, the best epoch
chosen on the validation split's PCKh@0.5 with DARK decoding. Targets are unit-peak Gaussians of ``sigma = 2``
heatmap px made per batch on the training device by the run's codec
(:attr:`dark.experiment.runs.RunConfig.codec`) from the float joints; ``"random-heatmap"`` draws its rounding
from a ``torch.Generator`` seeded with ``(seed, epoch)``, so a resumed run draws what an uninterrupted one
does. ``precision=None`` takes the recipe's (:mod:`dark.experiment.device`); ``config.json`` records what ran.

Each epoch's validation decodes its heatmaps with every decoder of :data:`dark.codecs.DECODERS`
(:func:`dark.experiment.decoding.decode_predictions`, the evaluation's path): ``metrics.jsonl`` keeps DARK's
scores under ``val_*`` and every decoder's PCKh@0.1, PCKh@0.5, RMSE, signed bias and the report's per-axis
PCKh@0.1, @0.5 (:data:`dark.metrics.PER_EPOCH_METRICS`) under ``"val_decoders"``.

Run directory (``out``, names of :mod:`dark.experiment.runs`): ``config.json`` (first), ``metrics.jsonl`` (a
line per finished epoch), ``last.pt`` (all a resume needs), ``best.pt``, ``curves.png``, each written
atomically. ``resume=True`` continues from ``last.pt`` and, on a CPU, ends with exactly the weights of an
uninterrupted run (the shuffling is a function of ``(seed, epoch)``; optimiser, schedule and RNG states
are restored). Devices: CUDA when available, else the CPU (channels-last both); under ``torchrun
--nproc-per-node N -m dark train ...`` (:func:`dark.experiment.device.processes`) the model is wrapped in
``DistributedDataParallel``, each process takes its shard of every epoch (``batch_size`` is global) and
rank 0 alone validates and writes the run directory.
"""

from __future__ import annotations

import dataclasses
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
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from dark import codecs, metrics
from dark.data.dataset import load_split, prepare_input
from dark.design.profiles import REPORT_SEED
from dark.experiment import checkpoint, runs
from dark.experiment.curves import plot_curves
from dark.experiment.decoding import decode_predictions
from dark.experiment.device import autocast, processes, resolve_device
from dark.experiment.runs import DEFAULT_PROFILE, LR, SIGMA, Measured, RunConfig
from dark.files import atomic_write
from dark.models import count_parameters

__all__ = ["KILL_ENV", "SIGMA", "heatmap_loss", "load_split", "train"]

#: test hook: ``"EPOCH:STEP"`` (1-based epoch, 0-based step) makes the process SIGKILL itself there
KILL_ENV = "DARK_TRAIN_KILL_AT"
#: settings that must agree between a run directory and a ``resume`` (keys of ``config.json``)
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


def _generator(cfg: RunConfig, dev: torch.device, epoch: int) -> torch.Generator:
    """The target rounding's random draws of one epoch (``epoch < 0``: validation), from (seed, epoch)."""
    return torch.Generator(device=dev).manual_seed(cfg.seed * 1_000_003 + epoch + 1)


@torch.no_grad()
def validate(
    model: nn.Module, split: Mapping[str, Tensor], config: RunConfig, device: torch.device, epoch=0
) -> dict[str, Any]:
    """Validation loss, DARK's PCKh@0.5 / @0.1 (percent) and RMSE (input px), and every decoder's scores.

    The last stack's heatmaps of the whole split are decoded by
    :func:`dark.experiment.decoding.decode_predictions`
    through the run's codec with every decoder of :data:`dark.codecs.DECODERS`: ``"val_decoders"`` maps
    each to :func:`dark.metrics.decoder_scores`, the report's per-axis PCKh with each decoder's predicted
    visibility under the report's rule (``standard_report`` on batches of the report's test batch).
    """
    codec = config.codec
    generator = _generator(config, device, -1 - epoch)
    model.eval()
    n, batch = len(split["depth"]), max(2 * config.batch_size, 32)
    total, maps = 0.0, []
    for i in range(0, n, batch):
        x = prepare_input(split["depth"][i : i + batch], config.input_size, device)
        joints = split["joints"][i : i + batch].to(device)
        visible = split["visible"][i : i + batch].to(device)
        with autocast(device, config.precision):
            outputs = model(x)
        targets, weights = codec.targets(joints, visible, generator=generator)
        total += heatmap_loss(outputs, targets, weights).double() * len(x)  # float64, no host sync
        maps.append(outputs[-1].float().cpu())
    model.train()
    batch = codecs.report_test_batch(config.model, config.encoding)
    decoded = decode_predictions(torch.cat(maps), codec, device=device, report_batch=batch)
    scores = {
        d: metrics.decoder_scores(p, split, pred_visible=decoded.pred_visible[d])
        for d, p in decoded.coords.items()
    }
    dark = scores["dark"]
    return {
        "val_loss": float(total) / max(n, 1),
        "val_pckh@0.5": dark["pckh@0.5"],
        "val_pckh@0.1": dark["pckh@0.1"],
        "val_rmse": dark["rmse"],
        "val_decoders": scores,
    }


def _lr_lambda(schedule: str, total_steps: int):
    if schedule == "constant":
        return lambda step: 1.0
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def _write_history(out: Path, history: Sequence[Mapping[str, Any]]) -> None:
    atomic_write(out / runs.METRICS, "".join(json.dumps(h) + "\n" for h in history))


# ---------------------------------------------------------------------------------------------- train


def train(
    data: Any,
    out: str | Path,
    model: str = "sh",
    encoding: str = "unbiased",
    profile: str = DEFAULT_PROFILE,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = LR,
    seed: int = REPORT_SEED,
    device: str = "auto",
    resume: bool = False,
    quiet: bool = False,
    threads: int | None = None,
    precision: str | None = None,
    input_scale: int | None = None,
    **overrides: Any,
) -> Path:
    """Train ``model`` with ``encoding`` targets; write the run directory ``out``; return it.

    Args:
        data: dataset directory / HUMAN4D root, or a mapping ``{"train": samples, "val": samples}``.
        out: run directory (created; must not hold another run unless ``resume``).
        model: a name of :data:`dark.models.MODELS` (``"sh"``, ``"hrnet"``).
        encoding: a name of :data:`dark.codecs.ENCODINGS` (``"unbiased"``, ``"ceil"``, ...).
        profile: a profile of :data:`dark.design.profiles.PROFILES` (recipe and model configuration).
        epochs, batch_size: default from the recipe; ``batch_size`` is global (over all processes).
        lr: Adam's learning rate.
        seed: seeds the weights' initialisation, every epoch's shuffling and random rounding.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        resume: continue from ``out/last.pt`` if it exists (a finished run is returned as it is).
        quiet: no progress bars or messages (papermill).
        threads: CPU threads for this run (restored afterwards); default: torch's setting.
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"``; ``None``: the recipe's.
        input_scale: the 160x320 depth map is downsampled by this factor (1, 2, 4); ``None``: the recipe's.
        **overrides: model constructor arguments overriding the profile's (e.g. ``stacks=1``).

    Raises:
        ValueError: unknown names, bad numbers, a run directory that holds a different run.
        FileNotFoundError: no dataset at ``data``.
        dark.experiment.checkpoint.CorruptCheckpoint: ``resume`` from an unreadable ``last.pt``.
    """
    dev = resolve_device(device)
    cfg = RunConfig.resolve(model, encoding, profile, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                            precision=precision, device=dev, input_scale=input_scale,
                            **overrides)  # fmt: skip
    if not isinstance(data, Mapping) and not Path(data).exists():
        raise FileNotFoundError(f"data directory {data} does not exist")
    out = Path(out)
    if not resume and ((out / runs.LAST).exists() or (out / runs.CONFIG).exists()):
        raise ValueError(f"{out} already holds a run; pass resume=True (--resume) or choose another out")
    state = checkpoint.load(out / runs.LAST) if resume and (out / runs.LAST).exists() else None

    with processes(dev, threads) as (rank, world):
        return _train(data, out, cfg, dev, state, rank, world, quiet)


@dataclass
class Loop:
    """Everything one training holds between its steps (built by :func:`set_up`)."""

    out: Path
    cfg: RunConfig
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


def set_up(
    data: Any, out: Path, cfg: RunConfig, dev: torch.device, rank: int, world: int, quiet: bool
) -> Loop:
    """Step 1: the splits, the network, optimiser and schedule; the loop's ``cfg`` is ``cfg`` with what
    was measured (:class:`dark.experiment.runs.Measured`: split sizes, processes, device, parameters)."""
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} must be a multiple of the {world} processes")
    train_split = load_split(data, "train", cfg.input_size)
    val_split = load_split(data, "val", cfg.input_size) if rank == 0 else None
    n_train = len(train_split["depth"])
    steps = n_train // cfg.batch_size
    if steps < 1:
        raise ValueError(f"{n_train} training samples are fewer than one batch of {cfg.batch_size}")
    box = [len(val_split["depth"]) if val_split is not None else None]
    if world > 1:  # every rank needs the same n_val for the resume check
        dist.broadcast_object_list(box, src=0)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    torch.manual_seed(cfg.seed)
    loop = Loop(out, cfg, dev, rank, world, quiet, train_split, val_split, steps)
    loop.net = cfg.build_model().to(dev, memory_format=torch.channels_last)
    measured = Measured(n_train, box[0], world, dev.type, str(torch.__version__), count_parameters(loop.net),
                        threads=torch.get_num_threads())  # fmt: skip
    loop.cfg = dataclasses.replace(cfg, measured=measured)
    # foreach: one call per update over every tensor instead of a Python loop over them; on a CPU the
    # same per-tensor kernels run, so the weights are bitwise those of the loop (tests/test_benchmarks.py)
    loop.optimizer = torch.optim.Adam(
        loop.net.parameters(), lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, foreach=True
    )
    loop.scheduler = torch.optim.lr_scheduler.LambdaLR(
        loop.optimizer, _lr_lambda(cfg.schedule, steps * cfg.epochs)
    )
    return loop


def check_resume(out: Path, cfg: RunConfig, state: Mapping[str, Any]) -> None:
    """Step 2a: a resumed run must have been started with the same settings (``ValueError`` naming one)."""
    old, new = RunConfig.from_json(state["config"]).to_json(), cfg.to_json()
    diff = [k for k in _RESUME_KEYS if old.get(k) != new.get(k)]
    if diff:
        k = diff[0]
        raise ValueError(f"{out} was started with {k}={old.get(k)!r}, not {new.get(k)!r}; use another out")


def restore(loop: Loop, state: Mapping[str, Any]) -> None:
    """Step 2b: weights, optimiser, schedule, RNG, history and best epoch from ``last.pt``'s ``state``."""
    loop.net.load_state_dict(state["model"])
    loop.optimizer.load_state_dict(state["optimizer"])
    loop.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    loop.history, loop.best, loop.start = list(state["history"]), dict(state["best"]), int(state["epoch"])


def run_epoch(loop: Loop, epoch: int, order: Tensor, kill_at: tuple[int, int] | None = None) -> Tensor:
    """Step 3: one pass over the training split in ``order`` (0-based ``epoch``); the summed loss."""
    cfg, dev, split = loop.cfg, loop.dev, loop.train_split
    codec = cfg.codec
    generator = _generator(cfg, dev, epoch)
    per_rank = cfg.batch_size // loop.world
    loss_sum = torch.zeros((), device=dev)
    t0 = time.perf_counter()
    disable = loop.quiet or loop.rank != 0
    bar = tqdm(total=loop.steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=disable, leave=False)
    loop.net.train()
    for step in range(loop.steps):
        if kill_at == (epoch + 1, step):
            os.kill(os.getpid(), signal.SIGKILL)
        idx = order[step * per_rank : (step + 1) * per_rank]
        x = prepare_input(split["depth"][idx], cfg.input_size, dev)
        joints = split["joints"][idx].to(dev, non_blocking=True)
        targets, weights = codec.targets(joints, split["visible"][idx].to(dev), generator=generator)
        with autocast(dev, cfg.precision):
            loss = heatmap_loss(loop.ddp(x), targets, weights)
        loop.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        loop.optimizer.step()
        loop.scheduler.step()
        loss_sum += loss.detach()
        bar.update()
        if not disable and (step % 10 == 9 or step == loop.steps - 1):  # a host sync: only for the bar
            rate = (step + 1) * cfg.batch_size / (time.perf_counter() - t0)
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
        "images_per_s": loop.steps * cfg.batch_size / train_time,
    }
    loop.history.append(record)
    if record["val_pckh@0.5"] > loop.best["val_pckh@0.5"]:
        loop.best = {"epoch": epoch + 1, "val_pckh@0.5": record["val_pckh@0.5"]}
        best = {"model": loop.net.state_dict(), "config": cfg.to_json(), "epoch": epoch + 1}
        checkpoint.save(best, out / runs.BEST)
    state = {
        "model": loop.net.state_dict(),
        "optimizer": loop.optimizer.state_dict(),
        "scheduler": loop.scheduler.state_dict(),
        "rng": torch.get_rng_state(),
        "epoch": epoch + 1,
        "history": loop.history,
        "best": loop.best,
        "config": cfg.to_json(),
    }
    checkpoint.save(state, out / runs.LAST)
    _write_history(out, loop.history)
    plot_curves(loop.history, out / runs.CURVES)
    if not loop.quiet:
        print(
            f"epoch {epoch + 1}/{cfg.epochs}: train loss {record['train_loss']:.4g}, "
            f"val loss {record['val_loss']:.4g}, val PCKh@0.5 {record['val_pckh@0.5']:.1f}%, "
            f"{record['images_per_s']:.1f} img/s",
            file=sys.stderr,
        )
    return record


def _train(
    data: Any,
    out: Path,
    cfg: RunConfig,
    dev: torch.device,
    state: dict[str, Any] | None,
    rank: int,
    world: int,
    quiet: bool,
) -> Path:
    """The steps in order: set up, resume check and restore, then each epoch and its end."""
    loop = set_up(data, out, cfg, dev, rank, world, quiet)
    if state is not None:
        check_resume(out, loop.cfg, state)
        restore(loop, state)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / runs.CONFIG, json.dumps(loop.cfg.to_json(), indent=2) + "\n")
        if state is not None:  # a kill between last.pt and metrics.jsonl: rewrite from the checkpoint
            _write_history(out, loop.history)
    cuda = dev.type == "cuda"
    loop.ddp = (
        DistributedDataParallel(loop.net, device_ids=[dev.index] if cuda else None) if world > 1 else loop.net
    )
    sampler = DistributedSampler(
        range(loop.cfg.measured.n_train), num_replicas=world, rank=rank, shuffle=True, seed=cfg.seed
    )
    kill = os.environ.get(KILL_ENV)
    kill_at = tuple(int(v) for v in kill.split(":")) if kill else None
    for epoch in range(loop.start, cfg.epochs):
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
