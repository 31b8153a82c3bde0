"""Training-step speed of both models, full and quick configurations, and what else a step costs.

A training step is what ``dark.train`` runs per batch: index a batch from the split's tensors, move it
to the device, encode its targets with ``dark.codecs.encode`` (via ``dark.train.batch_targets``),
forward, the stacked MSE, backward, Adam. Batch 16. Each configuration runs at its recipe's input size
(``full``: 160x320; ``quick``: 80x160, the half-resolution input of ``dark.train.RECIPES``, and also
160x320 for comparison).

CPU: "eager" is plain float32 NCHW; "default" is the project's setting (channels-last memory). The
ratio default/eager is measured in the same run. Images/s are given per wall second and per CPU second
of this process (the machine may be shared: CPU time is the steadier of the two). The share of a step
spent in data indexing and target encoding must stay below 5%.

CUDA (when available): both full models with the GPU setting (bfloat16 autocast, channels-last,
cudnn.benchmark), and the projected time of the report's 30 epochs over its 73,248 training images,
next to the report's 20 h per model on one RTX 2080 Ti.

Run: ``.venv/bin/python benchmarks/train_step.py [--steps N] [--threads T] [--skip-full]``; exit 0.
"""

from __future__ import annotations

import argparse
import time

import torch

from dark.models import build, count_parameters
from dark.train import RECIPES, batch_targets, heatmap_loss, network_input, resolve_config

BATCH = 16
REPORT_IMAGES, REPORT_EPOCHS, REPORT_HOURS = 73_248, 30, 20.0


def fake_split(n: int, size: tuple[int, int], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        # as dark.train.load_split: raw uint16 (0.1 mm) at full size, float32 when resized
        "depth": torch.randint(0, 60000, (n, 1, *size), generator=g).to(torch.uint16)
        if tuple(size) == (160, 320)
        else torch.rand(n, 1, *size, generator=g),
        "joints": torch.rand(n, 18, 2, generator=g) * torch.tensor([320.0, 160.0]),
        "visible": torch.rand(n, 18, generator=g) > 0.1,
    }


def prepare(split, order, step, config, device):
    idx = order[step * BATCH : (step + 1) * BATCH]
    x = network_input(split["depth"][idx], device)
    targets, weights = batch_targets(
        split["joints"][idx].to(device), split["visible"][idx].to(device), config
    )
    return x, targets, weights


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(name, config_name, device, steps, channels_last=True, amp_dtype=None, full_size=False):
    """(images/s wall, images/s CPU, share of data+targets in a step) for one model and setting.

    ``full_size``: feed 160x320 whatever the recipe's input (heatmaps then have stride 4).
    """
    config = resolve_config(name, "unbiased", "input", config_name, None, BATCH, 2e-3, 0)
    if full_size:
        config.update(input_size=[160, 320], heatmap_size=[40, 80], heatmap_stride=4)
    torch.manual_seed(0)
    model = build(name, config_name).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    split = fake_split(BATCH * (steps + 2), tuple(config["input_size"]))
    order = torch.randperm(len(split["depth"]))

    def run(step):
        x, targets, weights = prepare(split, order, step, config, device)
        if not channels_last:
            x = x.contiguous()
        with torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            loss = heatmap_loss(model(x), targets, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    run(0)  # warm-up (allocations, cudnn autotuning)
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    for step in range(1, steps + 1):
        run(step)
    sync(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # the data side alone: indexing, transfer, target encoding, for the same batches
    prep = time.perf_counter()
    for _ in range(3):
        for step in range(1, steps + 1):
            prepare(split, order, step, config, device)
    sync(device)
    prep = (time.perf_counter() - prep) / 3
    images = steps * BATCH
    return images / wall, images / max(cpu, 1e-9), prep / wall, count_parameters(model), config


def cpu_table(steps: int, skip_full: bool) -> None:
    device = torch.device("cpu")
    print(f"CPU, {torch.get_num_threads()} threads, batch {BATCH}, {steps} timed steps per cell")
    header = f"{'model':<6} {'config':<6} {'input':>7} {'params':>10} {'eager img/s':>12} "
    header += f"{'default img/s':>14} {'default/eager':>14} {'img/CPU-s':>10} {'data+targets':>13}"
    print(header)
    cells = [("quick", False), ("quick", True)] + ([] if skip_full else [("full", False)])
    for config_name, full_size in cells:
        for name in ("sh", "hrnet"):
            eager = measure(name, config_name, device, steps, channels_last=False, full_size=full_size)
            default = measure(name, config_name, device, steps, channels_last=True, full_size=full_size)
            h, w = default[4]["input_size"]
            print(
                f"{name:<6} {config_name:<6} {f'{h}x{w}':>7} {default[3]:>10,} {eager[0]:>12.1f} "
                f"{default[0]:>14.1f} {default[0] / eager[0]:>14.2f} {default[1]:>10.1f} "
                f"{100 * default[2]:>12.1f}%"
            )


def cuda_table(steps: int) -> None:
    if not torch.cuda.is_available():
        print("\nCUDA: not available on this machine, section skipped")
        return
    device = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    print(f"\nCUDA: {torch.cuda.get_device_name(device)}, {amp}, channels-last, batch {BATCH}")
    print(f"{'model':<6} {'img/s':>8} {'data+targets':>13} {'30 epochs x 73,248 images':>27}")
    for name in ("sh", "hrnet"):
        rate, _, share, _, _ = measure(name, "full", device, steps, channels_last=True, amp_dtype=amp)
        hours = REPORT_EPOCHS * REPORT_IMAGES / rate / 3600
        print(f"{name:<6} {rate:>8.1f} {100 * share:>12.1f}% {hours:>21.2f} h (report: {REPORT_HOURS:.0f} h)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per cell (default 3)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--skip-full", action="store_true", help="CPU: quick configurations only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"recipes: { {k: v['input_scale'] for k, v in RECIPES.items()} } (input downscale per config)\n")
    cpu_table(args.steps, args.skip_full)
    cuda_table(max(args.steps, 20))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
