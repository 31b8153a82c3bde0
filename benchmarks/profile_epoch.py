"""Where an epoch of the real training loop goes: ``torch.profiler`` over ``dark train``, validation included.

Runs the ``dark train`` command itself (:func:`dark.cli.main`, one epoch, ``--quiet``) on a rendered
dataset under ``torch.profiler`` (CPU activity; CUDA too on a GPU) and labels its parts with
``record_function`` wrappers put around the loop's functions for this run only (nothing in ``dark``
changes): per training step ``data`` (:func:`dark.data.dataset.prepare_input`), ``targets``
(:meth:`dark.codecs.Codec.targets`), ``forward``, ``loss``, ``backward`` and ``optimizer`` (Adam's step and
zero_grad, as torch labels them); the rest of the training loop (indexing the split, the scheduler,
the progress bookkeeping) is ``train: loop``. Per epoch, ``validate`` (its own ``data``, ``forward``,
``targets`` and ``loss``, ``decode`` with every decoder, ``scores``) and ``save`` (checkpoints, metrics,
curves). Before the epoch, ``setup`` (loading the splits, building the model).

Two tables: the phases (wall seconds, inclusive of the operators they run), and the operators' self
time grouped by kind (convolution, batch norm, activation, upsampling, pooling, the optimiser's
element-wise updates, casts and copies, indexing, host syncs ``aten::item``, ...) for training and
validation. ``--train-views N`` trains on the first shards holding at least ``N`` views (the
validation split whole): the training seconds are also given scaled to the profile's full epoch.

The ratio of the issue: the epoch's useful FLOPs (training views x the forward-and-backward FLOPs of
one image + validation views x the forward FLOPs, :func:`train_step.step_flops`) over its time
(``time_s`` of ``metrics.jsonl``: training and validation), over the fp32 2048x2048 matmul rate
measured right before and right after the run (``/mm``). Under the profiler every operator costs a
few microseconds more, so the ratio that counts comes from a run with ``--no-profile``. The same ratio
per CPU-second of this process (the epoch's CPU time, and the matmul's) is printed beside it: on a
machine shared with other jobs, threads that wait for a descheduled sibling make wall time the
neighbours' measure more than the loop's (one thread is then the fair comparison).

Run: ``python benchmarks/profile_epoch.py --data DIR [--model sh] [--profile quick] [--precision P]
[--train-views N] [--no-profile] [--threads T] [--json OUT]``; prints the tables, exits 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_step

from dark.cli import main as dark_main
from dark.design.profiles import PROFILES
from dark.experiment import runs

#: operator kinds, first match wins (lower-case operator names)
KINDS: tuple[tuple[str, str], ...] = (
    ("convolution", r"conv"),
    ("batch norm", r"batch_norm"),
    ("activation", r"relu|threshold_backward|sigmoid"),
    ("upsampling", r"upsample"),
    ("pooling", r"pool"),
    ("host sync (.item)", r"aten::item|_local_scalar_dense"),
    ("optimizer (foreach)", r"_foreach|_fused_adam"),
    ("casts and copies", r"_to_copy|aten::to$|copy_|contiguous|clone"),
    ("indexing", r"index|gather|scatter|aten::cat|aten::stack|slice|select"),
    ("element-wise", r"add|mul|sub|div|pow|sqrt|exp|lerp|addc|neg|fill|zero|sum|mean|square|where|clamp"),
    ("autograd engine", r"^autograd::|backward"),
    ("allocation", r"empty|resize"),
)
PHASE_ORDER = ("setup", "train", "validate", "save")


def kind(name: str) -> str:
    """The kind of an operator (``KINDS``; ``"other"`` when none matches)."""
    low = name.lower()
    return next((k for k, pattern in KINDS if re.search(pattern, low)), "other")


def subset(data: Path, views: int, folder: Path) -> Path:
    """A dataset directory in ``folder`` with the first training shards of ``data`` holding at least
    ``views`` views and every validation shard (links to ``data``'s files, a manifest that lists them)."""
    manifest = json.loads((data / "manifest.json").read_text())
    shards, n = [], 0
    for shard in manifest["shards"]:
        if shard["split"] == "val" or (shard["split"] == "train" and n < views):
            shards.append(shard)
            n += shard["views"] if shard["split"] == "train" else 0
    folder.mkdir(parents=True, exist_ok=True)
    for shard in shards:
        (folder / shard["file"]).symlink_to((data / shard["file"]).resolve())
    counts = {s: sum(x["views"] for x in shards if x["split"] == s) for s in ("train", "val", "test")}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "shards": shards, "counts": counts}))
    return folder


class Labels:
    """``record_function`` wrappers around the training loop's functions, put in place for one run.

    Training and validation call some of the same functions: ``self.where`` (``"train"`` or
    ``"validate"``) prefixes their labels.
    """

    def __init__(self) -> None:
        self.where = "train"
        self.missing: list[str] = []

    def wrap(self, fn: Callable, label: str, where: str | None = None) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            before = self.where
            self.where = where or before
            name = label if "." in label else f"{self.where}.{label}"
            try:
                with record_function(name):
                    return fn(*args, **kwargs)
            finally:
                self.where = before

        return wrapped

    def targets(self) -> list[tuple[object, str | tuple[str, ...], str, str | None]]:
        """``(owner, attribute or alternatives, label, where)``: a label without a dot is prefixed by
        ``where``."""
        import dark.codecs
        import dark.experiment.checkpoint
        import dark.experiment.train
        import dark.metrics

        t = dark.experiment.train
        return [
            (t, "load_split", "setup.load_split", None),
            (t, "run_epoch", "train.loop", "train"),
            (t, "validate", "validate.loop", "validate"),
            (t, "prepare_input", "data", None),
            (dark.codecs.Codec, "targets", "targets", None),
            (t, "heatmap_loss", "loss", None),
            (torch.Tensor, "backward", "train.backward", None),
            (t, ("decode_predictions", "decode_heatmaps"), "validate.decode", None),
            (dark.metrics, "decoder_scores", "validate.scores", None),
            (dark.experiment.checkpoint, "save", "save.checkpoint", None),
            (t, "_write_history", "save.metrics", None),
            (t, "plot_curves", "save.curves", None),
        ]

    @contextmanager
    def installed(self) -> Iterator[Labels]:
        """The wrappers in place (and the model's forward labelled), the originals restored after."""
        import dark.experiment.runs

        saved = []
        for owner, names, label, where in self.targets():
            names = (names,) if isinstance(names, str) else names  # alternatives: the first found
            attr = next((n for n in names if hasattr(owner, n)), None)
            if attr is None:  # the loop was refactored: say so, profile the rest
                self.missing.append(f"{getattr(owner, '__name__', owner)}.{names[0]}")
                continue
            saved.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, self.wrap(getattr(owner, attr), label, where))
        build = dark.experiment.runs.RunConfig.build_model

        def build_labelled(config):
            net = build(config)
            net.forward = self.wrap(net.forward, "forward")
            return net

        saved.append((dark.experiment.runs.RunConfig, "build_model", build))
        dark.experiment.runs.RunConfig.build_model = build_labelled
        try:
            yield self
        finally:
            for owner, attr, original in reversed(saved):
                setattr(owner, attr, original)


def phase_of(label: str | None) -> tuple[str, str]:
    """``(phase, part)`` of a label: ``"train.forward"`` -> ``("train", "forward")``; torch's own
    optimizer labels are the training's ``optimizer``; no label is ``setup``."""
    if label is None:
        return "setup", "other"
    if label.startswith("Optimizer."):
        return "train", "optimizer"
    phase, _, part = label.partition(".")
    return phase, part


def tables(prof, own: set[str]) -> tuple[dict, dict]:
    """From the profiler's events: wall seconds per ``(phase, part)`` and self seconds per ``(phase,
    operator kind)``. Every operator's and label's self time goes to the phase of its outermost label
    and the part of its innermost (``setup.load_split`` resizes with ``prepare_input``: setup's)."""
    parts: dict[tuple[str, str], float] = defaultdict(float)
    kinds: dict[tuple[str, str], float] = defaultdict(float)
    for ev in prof.events():
        if ev.device_type != torch.autograd.DeviceType.CPU:
            continue
        chain, node = [], ev
        while node is not None:
            if node.name in own or node.name.startswith("Optimizer."):
                chain.append(node.name)
            node = node.cpu_parent
        phase = phase_of(chain[-1] if chain else None)[0]
        part = phase_of(chain[0] if chain else None)[1]
        self_s = ev.self_cpu_time_total / 1e6
        parts[phase, part] += self_s
        is_label = ev.name in own or ev.name.startswith("Optimizer.")
        kinds[phase, "python (no operator)" if is_label else kind(ev.name)] += self_s
    return dict(parts), dict(kinds)


def matmul_cpu_rate(n: int = 2048, reps: int = 3) -> float:
    """FLOP per CPU-second of this process of an fp32 ``n x n`` matmul on the CPU (mean of ``reps``)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.process_time()
    for _ in range(reps):
        a @ b
    return reps * 2 * n**3 / (time.process_time() - t0)


@contextmanager
def epoch_cpu_time(into: list[float]) -> Iterator[None]:
    """Adds the process CPU seconds spent in ``dark.experiment.train.run_epoch`` and ``validate`` to
    ``into[0]``."""
    import dark.experiment.train

    saved = [(name, getattr(dark.experiment.train, name)) for name in ("run_epoch", "validate")]

    def timed(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                into[0] += time.process_time() - t0

        return wrapped

    for name, fn in saved:
        setattr(dark.experiment.train, name, timed(fn))
    try:
        yield
    finally:
        for name, fn in saved:
            setattr(dark.experiment.train, name, fn)


def measure(args, data: Path, tmp: Path) -> dict:
    """One ``dark train`` epoch (profiled or not) with the matmul rate around it; its numbers."""
    device = torch.device(args.device)
    out = tmp / "run"
    argv = ["train", "--data", str(data), "--model", args.model, "--encoding", args.encoding, "--profile",
            args.profile, "--epochs", "1", "--out", str(out), "--quiet", "--device", args.device]  # fmt: skip
    argv += ["--precision", args.precision] if args.precision else []
    argv += ["--threads", str(args.threads)] if args.threads else []
    labels = Labels()
    load = [os.getloadavg()[0]]
    rate, cpu_rate, epoch_cpu = train_step.matmul_rate(device), matmul_cpu_rate(), [0.0]
    t0 = time.perf_counter()
    with epoch_cpu_time(epoch_cpu):
        if args.profiled:
            activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
            with labels.installed(), profile(activities=activities) as prof:
                code = dark_main(argv)
        else:
            code = dark_main(argv)
    wall = time.perf_counter() - t0
    rate = (rate + train_step.matmul_rate(device)) / 2
    cpu_rate = (cpu_rate + matmul_cpu_rate()) / 2
    load.append(os.getloadavg()[0])
    if code != 0:
        raise SystemExit(f"dark train exited {code}")
    cfg = runs.Run(out).config_json()
    epoch = runs.Run(out).history()[-1]
    (cell,) = train_step.cells([args.model], [args.profile], None)
    flops, val_flops = train_step.step_flops(cell)
    steps = cfg["n_train"] // cfg["batch_size"]
    useful = steps * cfg["batch_size"] * flops + cfg["n_val"] * val_flops
    result = {
        "argv": argv, "precision": cfg["precision"], "threads": args.threads or torch.get_num_threads(),
        "n_train": cfg["n_train"], "n_val": cfg["n_val"], "steps": steps, "profiled": args.profiled,
        "epoch_s": epoch["time_s"], "train_s": steps * cfg["batch_size"] / epoch["images_per_s"],
        "command_s": wall, "flops_per_image": flops, "val_flops_per_image": val_flops,
        "useful_flop_s": useful / epoch["time_s"], "matmul_flop_s": rate,
        "of_matmul": useful / epoch["time_s"] / rate, "loadavg": load, "labels_missing": labels.missing,
        "epoch_cpu_s": epoch_cpu[0], "matmul_flop_cpu_s": cpu_rate,
        "of_matmul_cpu": useful / epoch_cpu[0] / cpu_rate,
    }  # fmt: skip
    if args.profiled:
        own = {label if "." in label else f"{w}.{label}" for _, _, label, _ in labels.targets()
               for w in ("train", "validate")} | {"train.forward", "validate.forward"}  # fmt: skip
        parts, kinds = tables(prof, own)
        result["parts"] = [[p, q, s] for (p, q), s in sorted(parts.items())]
        result["kinds"] = [[p, k, s] for (p, k), s in sorted(kinds.items())]
    return result


def scale(result: dict, profile: str) -> float:
    """The factor from this run's training steps to a full epoch of ``profile``."""
    n_train, _ = train_step.profile_views(profile)
    return (n_train // PROFILES[profile].recipe.batch_size) / result["steps"]


def report(result: dict, profile: str) -> str:
    """The tables as text (markdown)."""
    f = scale(result, profile)
    lines = [
        f"`dark train` one epoch: {result['n_train']} training views ({result['steps']} steps), "
        f"{result['n_val']} validation views, {result['precision']}, {result['threads']} threads"
        f"{', profiled' if result['profiled'] else ''}; load average {result['loadavg'][0]:.1f} -> "
        f"{result['loadavg'][1]:.1f}",
        f"epoch {result['epoch_s']:.1f} s (training {result['train_s']:.1f} s), "
        f"command {result['command_s']:.1f} s; "
        f"useful {result['useful_flop_s'] / 1e9:.1f} GFLOP/s over matmul "
        f"{result['matmul_flop_s'] / 1e9:.1f} GFLOP/s = **{result['of_matmul']:.0%}**; per CPU-second of "
        f"this process (the steadier on a shared machine) {result['of_matmul_cpu']:.0%}",
    ]
    if result["labels_missing"]:
        lines.append(f"(not labelled, not found: {', '.join(result['labels_missing'])})")
    if "parts" not in result:
        return "\n".join(lines)

    def scaled(phase, s):
        return s * f if phase == "train" else s

    total = sum(scaled(p, s) for p, _, s in result["parts"] if p in ("train", "validate"))
    lines += [
        "",
        f"| phase | part | s (this run) | s per {profile} epoch | share of epoch |",
        "|---|---|--:|--:|--:|",
    ]
    for phase in PHASE_ORDER:
        rows = sorted((r for r in result["parts"] if r[0] == phase), key=lambda r: -r[2])
        for p, q, s in rows:
            share = f"{scaled(p, s) / total:.1%}" if p in ("train", "validate") else ""
            lines.append(f"| {p} | {q} | {s:.2f} | {scaled(p, s):.2f} | {share} |")
    by_kind: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p, k, s in result["kinds"]:
        by_kind[k][p] += scaled(p, s)
    lines += ["", f"| operator kind (self time) | training s | validation s | share of {profile} epoch |",
              "|---|--:|--:|--:|"]  # fmt: skip
    order = sorted(by_kind, key=lambda k: -(by_kind[k]["train"] + by_kind[k]["validate"]))
    for k in order:
        t, v = by_kind[k]["train"], by_kind[k]["validate"]
        if t + v > 0:
            lines.append(f"| {k} | {t:.2f} | {v:.2f} | {(t + v) / total:.1%} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/profile_epoch.py", description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a rendered dataset (dark data --profile quick)")
    parser.add_argument("--model", default="sh")
    parser.add_argument("--encoding", default="unbiased")
    parser.add_argument("--profile", default="quick", help="the profile (default quick)")
    parser.add_argument("--precision", help="auto | fp32 | bf16 (default: the profile's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--train-views", type=int, help="train on the first shards holding this many views")
    parser.add_argument("--no-profile", dest="profiled", action="store_false", help="time the epoch only")
    parser.add_argument("--json", help="write the numbers and tables to this JSON file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)  # the matmul rate too
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data)
        if args.train_views:
            data = subset(data, args.train_views, Path(tmp) / "data")
        result = measure(args, data, Path(tmp))
    print(report(result, args.profile))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
