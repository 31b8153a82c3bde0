"""Training: the report's recipe for both models, deterministic, resumable, one or several devices.

``train(data, out, model="sh", encoding="unbiased", grid="input", config="quick", ...) -> Path`` and the
CLI ``dark train --data DIR --model sh|hrnet --encoding quantized|unbiased --out RUN_DIR ...``.

Recipe (the report's, section 3.4): Adam (0.9, 0.999), learning rate 2e-3, no weight decay, MSE between
the predicted and the target heatmaps (summed over the hourglass stacks; each joint weighted by its
target weight, 0 for an invisible or out-of-map joint), seed 1314, the best epoch chosen on the
validation split's PCKh@0.5 with DARK decoding. Targets are unit-peak Gaussians of ``sigma = 2`` heatmap
px, encoded per batch on the training device by :func:`dark.codecs.encode` from the float joints;
``encoding="quantized"`` rounds the joints on ``grid`` first (``"input"``: the report's input-pixel grid).

Recipes per configuration (``RECIPES``; the model side is :data:`dark.models.CONFIGS`):

- ``full``: the report's setting: 160x320 input, 40x80 heatmaps (stride 4), 30 epochs, batch 32,
  constant learning rate.
- ``quick``: a 2-core CPU in a few minutes per model (the quick book trains four). The network sees
  the depth map at half resolution (80x160, area-averaged: a step is 2-3x cheaper), so its 20x40
  heatmaps have a stride of 8 original input px (``heatmap_stride=8``; the joints and the quantisation
  grid stay those of the original 160x320 map). 2 epochs, batch 16, and the learning rate decays along
  a half cosine to 0 over the run (with so few steps a constant rate leaves the weights at the noise
  level of the last steps). Everything else is the report's. The choice was sized with
  ``benchmarks/train_step.py`` (images/s) and validation PCKh per epoch on the quick dataset; the
  training chapter prints both for every run.
- ``smoke``: the half-resolution input and 1 epoch, for tests and the smoke book.

Run directory (``out``): ``config.json`` (the resolved configuration, written first),
``metrics.jsonl`` (one JSON line per finished epoch), ``last.pt`` (everything needed to resume) and
``best.pt`` (weights of the best epoch), ``curves.png``; every file is written atomically
(:func:`dark.files.atomic_write`). An interrupted run loses at most the epoch in progress: ``resume=True``
continues from ``last.pt`` and, on a CPU, ends with exactly the weights of an uninterrupted run (the
shuffling order is a function of ``(seed, epoch)`` alone, and the optimizer, scheduler and RNG states
are restored).

Devices: ``device="auto"`` takes CUDA when available (bfloat16 autocast, or float16 with a gradient
scaler, channels-last memory, ``cudnn.benchmark``), else the CPU (float32, channels-last, torch's
thread count unless ``threads`` is given). Under ``torchrun --nproc-per-node N -m dark train ...``
the model is wrapped in ``DistributedDataParallel`` (NCCL on GPUs, gloo on CPUs), each process takes
its shard of every epoch from a ``DistributedSampler`` (``batch_size`` is the global batch), and rank 0
alone validates and writes the run directory.
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
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from dark import checkpoint
from dark.files import atomic_write
from dark.skeleton import INPUT_SIZE, STRIDE

#: training recipe per configuration name (see the module docstring)
RECIPES: dict[str, dict[str, Any]] = {
    "full": {"epochs": 30, "batch_size": 32, "input_scale": 1, "schedule": "constant"},
    "quick": {"epochs": 2, "batch_size": 16, "input_scale": 2, "schedule": "cosine"},
    "smoke": {"epochs": 1, "batch_size": 16, "input_scale": 2, "schedule": "constant"},
}
ENCODINGS = ("quantized", "unbiased")
GRIDS = ("input", "heatmap")
SIGMA = 2.0  # target standard deviation, heatmap px
#: test hook: ``"EPOCH:STEP"`` (1-based epoch, 0-based step) makes the process SIGKILL itself there
KILL_ENV = "DARK_TRAIN_KILL_AT"
#: settings that must agree between a run directory and a ``resume``
_RESUME_KEYS = (
    "model", "model_config", "model_kwargs", "encoding", "grid", "sigma", "input_size", "heatmap_stride",
    "epochs", "batch_size", "lr", "betas", "weight_decay", "seed", "schedule", "n_train", "n_val",
    "world_size",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------- pieces


def heatmap_loss(outputs: Sequence[Tensor], targets: Tensor, weights: Tensor) -> Tensor:
    """Weighted MSE summed over stacks: ``[(B, K, h, w)] * S, (B, K, h, w), (B, K) -> ()``.

    ``sum_s mean_{b,k,y,x} weights[b,k] (outputs[s] - targets)^2`` (float32 whatever the autocast dtype).
    """
    w = weights[:, :, None, None].float()
    return sum(((o.float() - targets) ** 2 * w).mean() for o in outputs)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` (this process's ``LOCAL_RANK`` under torchrun) if available, else ``cpu``."""
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


def resolve_config(
    model: str,
    encoding: str,
    grid: str,
    config: str,
    epochs: int | None,
    batch_size: int | None,
    lr: float,
    seed: int,
    **model_overrides: Any,
) -> dict[str, Any]:
    """The run's full configuration (JSON-able) from the arguments of :func:`train`; validates them."""
    from dark import models

    if model not in models.MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {sorted(models.MODELS)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {list(ENCODINGS)}")
    if grid not in GRIDS:
        raise ValueError(f"unknown grid {grid!r}; expected one of {list(GRIDS)}")
    if config not in RECIPES:
        raise ValueError(f"unknown config {config!r}; expected one of {sorted(RECIPES)}")
    recipe = RECIPES[config]
    epochs = recipe["epochs"] if epochs is None else int(epochs)
    batch_size = recipe["batch_size"] if batch_size is None else int(batch_size)
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"expected epochs >= 1, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    scale = recipe["input_scale"]
    kwargs = models.model_kwargs(model, config, **model_overrides)
    input_size = [INPUT_SIZE[0] // scale, INPUT_SIZE[1] // scale]
    return {
        "model": model,
        "model_config": config,
        "config": config,
        "model_kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
        "encoding": encoding,
        "grid": grid,
        "sigma": SIGMA,
        "input_size": input_size,
        "heatmap_size": [math.ceil(s / STRIDE) for s in input_size],
        "heatmap_stride": STRIDE * scale,
        "scaling": "stride",
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": float(lr),
        "betas": [0.9, 0.999],
        "weight_decay": 0.0,
        "schedule": recipe["schedule"],
        "loss": "mse",
        "decoder": "dark",
        "seed": int(seed),
    }


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """The network a run configuration describes (untrained)."""
    from dark import models

    kwargs = dict(config["model_kwargs"])
    if "modules" in kwargs:
        kwargs["modules"] = tuple(kwargs["modules"])
    return models.MODELS[config["model"]](**kwargs)


def load_split(data: Any, split: str, input_size: Sequence[int]) -> dict[str, Tensor]:
    """One split as CPU tensors, depth already at the network's ``input_size``.

    Args:
        data: a dataset directory (``dark data``) or HUMAN4D root, or a mapping ``split -> samples``
            (a sequence of :class:`dark.data.Sample`, e.g. in tests).
        split: ``"train"`` | ``"val"`` | ``"test"``.
        input_size: ``(H, W)`` of the network input.

    Returns:
        ``"depth"`` ``(N, 1, H, W)``: float32 normalised when resized, else the raw uint16 (0.1 mm, half
        the memory; :func:`network_input` normalises each batch on the device), ``"joints"``
        ``(N, 18, 2)`` float32 input px of the original 160x320 map, ``"visible"`` ``(N, 18)`` bool,
        ``"head_size"`` ``(N,)`` float32.
    """
    from dark.data.dataset import DepthDataset, normalise_depth
    from dark.evaluate import model_input

    if isinstance(data, Mapping):
        if split not in data:
            raise ValueError(f"data has no {split!r} split; it has {sorted(data)}")
        dataset = DepthDataset(list(data[split]), split)
    else:
        dataset = DepthDataset(data, split)
    tensors = dataset.tensors(raw=True)
    tensors.pop("index", None)
    raw = tensors["depth"]
    if tuple(raw.shape[-2:]) != tuple(input_size):  # resize once (area average, as dark.evaluate)
        chunks = [
            model_input(normalise_depth(raw[i : i + 256], units="0.1mm"), input_size)
            for i in range(0, len(raw), 256)
        ]
        tensors["depth"] = torch.cat(chunks) if chunks else torch.zeros(0, 1, *input_size)
    return tensors


def batch_targets(joints: Tensor, visible: Tensor, config: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    """Targets of one batch, on the joints' device: ``(B, K, 2) input px, (B, K) -> (B, K, h, w), (B, K)``."""
    from dark import codecs

    stride = config["heatmap_stride"]
    coords = codecs.to_heatmap(joints, stride=stride, scaling=config["scaling"])
    return codecs.encode(
        coords,
        size=tuple(config["heatmap_size"]),
        sigma=config["sigma"],
        method=config["encoding"],
        grid=config["grid"],
        stride=stride,
        visible=visible,
        return_weights=True,
    )


@torch.no_grad()
def validate(
    model: nn.Module, split: Mapping[str, Tensor], config: Mapping[str, Any], device: torch.device, amp
) -> dict[str, float]:
    """Validation loss, PCKh@0.5 / @0.1 (percent) and RMSE (original input px) with DARK decoding."""
    from dark import codecs, metrics

    model.eval()
    n, batch = len(split["depth"]), max(2 * config["batch_size"], 32)
    total, preds = 0.0, []
    for i in range(0, n, batch):
        x = network_input(split["depth"][i : i + batch], device)
        joints = split["joints"][i : i + batch].to(device)
        visible = split["visible"][i : i + batch].to(device)
        with amp():
            outputs = model(x)
        targets, weights = batch_targets(joints, visible, config)
        total += float(heatmap_loss(outputs, targets, weights)) * len(x)
        coords, _ = codecs.decode(outputs[-1].float(), method="dark", sigma=config["sigma"])
        preds.append(
            codecs.to_input(coords, stride=config["heatmap_stride"], scaling=config["scaling"]).cpu()
        )
    model.train()
    pred = torch.cat(preds).double()
    gt, vis, head = split["joints"].double(), split["visible"], split["head_size"]
    return {
        "val_loss": total / max(n, 1),
        "val_pckh@0.5": metrics.pckh(pred, gt, vis, head, 0.5),
        "val_pckh@0.1": metrics.pckh(pred, gt, vis, head, 0.1),
        "val_rmse": metrics.rmse(pred, gt, vis),
    }


def network_input(depth: Tensor, device: torch.device) -> Tensor:
    """A batch of :func:`load_split`'s depth on ``device``, normalised, channels-last: ``(B, 1, H, W)``."""
    from dark.data.dataset import normalise_depth

    x = depth.to(device, non_blocking=True)
    if x.dtype == torch.uint16:
        x = normalise_depth(x, units="0.1mm")
    return x.contiguous(memory_format=torch.channels_last)


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
    atomic_write(out / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))


# ---------------------------------------------------------------------------------------------- train


def train(
    data: Any,
    out: str | Path,
    model: str = "sh",
    encoding: str = "unbiased",
    grid: str = "input",
    config: str = "quick",
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = 2e-3,
    seed: int = 1314,
    device: str = "auto",
    resume: bool = False,
    quiet: bool = False,
    threads: int | None = None,
    **model_overrides: Any,
) -> Path:
    """Train ``model`` with ``encoding`` targets; write the run directory ``out``; return it.

    Args:
        data: dataset directory / HUMAN4D root, or a mapping ``{"train": samples, "val": samples}``.
        out: run directory (created; must not hold another run unless ``resume``).
        model: ``"sh"`` or ``"hrnet"``.
        encoding: ``"quantized"`` or ``"unbiased"`` targets.
        grid: where ``quantized`` rounds: ``"input"`` (the report) or ``"heatmap"`` (DARK's paper).
        config: ``"full"``, ``"quick"`` or ``"smoke"`` (model size and recipe, see ``RECIPES``).
        epochs, batch_size: default from the recipe; ``batch_size`` is global (over all processes).
        lr: Adam's learning rate.
        seed: seeds the weights' initialisation and every epoch's shuffling.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        resume: continue from ``out/last.pt`` if it exists (a finished run is returned as it is).
        quiet: no progress bars or messages (papermill).
        threads: CPU threads for this run (restored afterwards); default: torch's setting.
        **model_overrides: constructor arguments overriding the config's (e.g. ``stacks=1``).

    Raises:
        ValueError: unknown names, bad numbers, a run directory that holds a different run.
        FileNotFoundError: no dataset at ``data``.
        dark.checkpoint.CorruptCheckpoint: ``resume`` from an unreadable ``last.pt``.
    """
    cfg = resolve_config(model, encoding, grid, config, epochs, batch_size, lr, seed, **model_overrides)
    dev = resolve_device(device)
    if not isinstance(data, Mapping) and not Path(data).exists():
        raise FileNotFoundError(f"data directory {data} does not exist")
    out = Path(out)
    if not resume and ((out / "last.pt").exists() or (out / "config.json").exists()):
        raise ValueError(f"{out} already holds a run; pass resume=True (--resume) or choose another out")
    state = checkpoint.load(out / "last.pt") if resume and (out / "last.pt").exists() else None

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
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DistributedSampler
    from tqdm.auto import tqdm

    if cfg["batch_size"] % world:
        raise ValueError(f"batch_size {cfg['batch_size']} must be a multiple of the {world} processes")
    train_split = load_split(data, "train", cfg["input_size"])
    val_split = load_split(data, "val", cfg["input_size"]) if rank == 0 else None
    n_train = len(train_split["depth"])
    per_rank = cfg["batch_size"] // world
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
    if state is not None:
        old = state["config"]
        diff = [k for k in _RESUME_KEYS if old.get(k) != cfg.get(k)]
        if diff:
            k = diff[0]
            raise ValueError(
                f"{out} was started with {k}={old.get(k)!r}, not {cfg.get(k)!r}; use another out"
            )

    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        cfg["amp"] = str(amp_dtype).removeprefix("torch.")
    else:
        amp_dtype = None
        cfg["amp"] = None

    def amp():
        return torch.autocast("cuda", dtype=amp_dtype, enabled=cuda)

    torch.manual_seed(cfg["seed"])
    net = build_model(cfg).to(dev, memory_format=torch.channels_last)
    from dark.models import count_parameters

    cfg["parameters"] = count_parameters(net)
    optimizer = torch.optim.Adam(
        net.parameters(), lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=cfg["weight_decay"]
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(cfg["schedule"], steps * cfg["epochs"])
    )
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and amp_dtype == torch.float16)
    history: list[dict[str, Any]] = []
    best = {"epoch": 0, "val_pckh@0.5": -1.0}
    start = 0
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"])
        history, best, start = list(state["history"]), dict(state["best"]), int(state["epoch"])
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "config.json", json.dumps(cfg, indent=2) + "\n")
        if state is not None:  # a kill between last.pt and metrics.jsonl: rewrite from the checkpoint
            _write_history(out, history)
    ddp = DistributedDataParallel(net, device_ids=[dev.index] if cuda else None) if world > 1 else net

    sampler = DistributedSampler(
        range(n_train), num_replicas=world, rank=rank, shuffle=True, seed=cfg["seed"]
    )
    kill = os.environ.get(KILL_ENV)
    kill_at = tuple(int(v) for v in kill.split(":")) if kill else None
    for epoch in range(start, cfg["epochs"]):
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), dtype=torch.int64)
        net.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)
        bar = tqdm(
            total=steps, desc=f"epoch {epoch + 1}/{cfg['epochs']}", disable=quiet or rank != 0, leave=False
        )
        for step in range(steps):
            if kill_at == (epoch + 1, step):
                os.kill(os.getpid(), signal.SIGKILL)
            idx = order[step * per_rank : (step + 1) * per_rank]
            x = network_input(train_split["depth"][idx], dev)
            targets, weights = batch_targets(
                train_split["joints"][idx].to(dev, non_blocking=True),
                train_split["visible"][idx].to(dev, non_blocking=True),
                cfg,
            )
            with amp():
                loss = heatmap_loss(ddp(x), targets, weights)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            loss_sum += loss.detach()
            bar.update()
            if step % 10 == 9 or step == steps - 1:
                rate = (step + 1) * cfg["batch_size"] / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{loss_sum.item() / (step + 1):.4g}", img_s=f"{rate:.1f}")
        bar.close()
        if world > 1:
            dist.all_reduce(loss_sum)
            loss_sum /= world
        train_time = time.perf_counter() - t0
        if rank == 0:
            record = {
                "epoch": epoch + 1,
                "train_loss": loss_sum.item() / steps,
                **validate(net, val_split, cfg, dev, amp),
                "lr": scheduler.get_last_lr()[0],
                "time_s": time.perf_counter() - t0,
                "images_per_s": steps * cfg["batch_size"] / train_time,
            }
            history.append(record)
            if record["val_pckh@0.5"] > best["val_pckh@0.5"]:
                best = {"epoch": epoch + 1, "val_pckh@0.5": record["val_pckh@0.5"]}
                checkpoint.save(
                    {"model": net.state_dict(), "config": cfg, "epoch": epoch + 1}, out / "best.pt"
                )
            checkpoint.save(
                {
                    "model": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": torch.get_rng_state(),
                    "epoch": epoch + 1,
                    "history": history,
                    "best": best,
                    "config": cfg,
                },
                out / "last.pt",
            )
            _write_history(out, history)
            plot_curves(history, out / "curves.png")
            if not quiet:
                print(
                    f"epoch {epoch + 1}/{cfg['epochs']}: train loss {record['train_loss']:.4g}, "
                    f"val loss {record['val_loss']:.4g}, val PCKh@0.5 {record['val_pckh@0.5']:.1f}%, "
                    f"{record['images_per_s']:.1f} img/s",
                    file=sys.stderr,
                )
        if world > 1:
            dist.barrier()
    return out


def load_model(run_dir: str | Path, which: str = "best", device: str = "cpu") -> tuple[nn.Module, dict]:
    """The trained network of a run, in eval mode on ``device``, and the run's configuration.

    Args:
        run_dir: a run directory written by :func:`train`.
        which: ``"best"`` (the best validation epoch) or ``"last"``.
        device: where to put the model (``"auto"`` as in :func:`train`).

    Returns:
        ``(model, config)``; ``config`` is the run's ``config.json`` plus ``"best_epoch"`` (or
        ``"epoch"`` for ``which="last"``): the epoch the weights come from.
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    dev = resolve_device(device)
    state = checkpoint.load(Path(run_dir) / f"{which}.pt", map_location=dev)
    config = dict(state["config"])
    config["best_epoch" if which == "best" else "epoch"] = int(state["epoch"])
    net = build_model(config)
    net.load_state_dict(state["model"])
    return net.to(dev, memory_format=torch.channels_last).eval(), config


# ---------------------------------------------------------------------------------------------- CLI


def cli(argv: list[str]) -> int:
    """``dark train``: parse ``argv``, train, print the run directory; exit code 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="dark train", description="Train a Stacked Hourglass or HRNet model."
    )
    parser.add_argument("--data", required=True, help="dataset directory (dark data) or HUMAN4D root")
    parser.add_argument("--model", required=True, help="sh | hrnet")
    parser.add_argument("--encoding", required=True, help="quantized | unbiased")
    parser.add_argument("--grid", default="input", help="grid of quantized targets: input | heatmap")
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--config", default="full", help="full | quick | smoke (default: full)")
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
            grid=args.grid,
            config=args.config,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            seed=args.seed,
            device=args.device,
            resume=args.resume,
            quiet=args.quiet,
            threads=args.threads,
        )
    except (ValueError, FileNotFoundError) as error:  # CorruptCheckpoint is a ValueError
        print(f"dark train: error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(run)
    return 0
