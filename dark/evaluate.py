"""Evaluate a trained run: predict the test heatmaps once, decode them with every decoder, score them.

``dark evaluate --run RUN_DIR --data DIR`` (:func:`cli`) or :func:`evaluate`:

1. Predict the test split once with ``best.pt`` (the last stack's output; no flip test, as in the
   report) and keep the heatmaps on disk, ``RUN_DIR/heatmaps_test.npy`` float16 ``(N, 18, h, w)``.
   They are reused while ``best.pt`` and the dataset's manifest are unchanged (the key, a hash of both,
   is stored beside them in ``heatmaps_test.json``).
2. Decode them with every decoder of :data:`dark.codecs.DECODERS`, batched on the device, with the
   training ``sigma``; map heatmap px to input px with :func:`dark.codecs.to_input` and the run's
   ``heatmap_stride`` and ``scaling`` (input px of the original 320x160 depth map).
3. Score with :mod:`dark.metrics`: PCKh@0.1, PCKh@0.5, RMSE and mean error with 95% bootstrap CIs over
   test frames (the 4 views of one multi-view frame form one bootstrap unit), per-joint values, a PCKh
   curve, and the paired differences ``DARK - every other decoder``.

Writes ``RUN_DIR/evaluation.json`` (schema below), ``RUN_DIR/evaluation.csv`` (one row per decoder)
and ``RUN_DIR/predictions_test.npz`` (every decoder's coordinates, for model-vs-model comparisons,
plots and the sample browser). Everything is written atomically (temp file + fsync + rename).

``evaluation.json``::

    {"run": {"dir", "model", "encoding", "grid", "config_name", "sigma", "input_size", "heatmap_size",
             "heatmap_stride", "scaling", "best_epoch", "epochs"},
     "data": {"path", "profile", "source", "manifest_sha256", "split", "samples", "frames"},
     "bootstrap": {"method", "confidence", "n_resamples", "seed", "unit"},
     "joints": [18 names], "alphas": [curve alphas],
     "decoders": {name: {"metrics": {metric: {"value", "low", "high"}},
                         "per_joint": {metric: [18]}, "pckh_curve": [len(alphas)]}},
     "differences": {"dark-<name>": {metric: {"value", "low", "high"}}}}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from dark import codecs, metrics
from dark.files import atomic_write, sha256_file
from dark.skeleton import INPUT_SIZE, JOINTS_18

HEATMAPS = "heatmaps_test.npy"
HEATMAPS_KEY = "heatmaps_test.json"
PREDICTIONS = "predictions_test.npz"
EVALUATION = "evaluation.json"
EVALUATION_CSV = "evaluation.csv"

#: PCKh curve alphas stored for the book's plots
CURVE_ALPHAS: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 0.5, 51), 3).tolist())

#: the decoder every other one is compared with (claim 1)
REFERENCE_DECODER = "dark"


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else as ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---------------------------------------------------------------------------------------------------------
# files


def data_fingerprint(data: str | os.PathLike, truth: Mapping[str, np.ndarray] | None = None) -> str:
    """sha256 of the dataset's ``manifest.json`` (or of the test ground truth when there is none;
    pass ``truth`` from :func:`_test_truth` when already loaded, to avoid reading the split again)."""
    manifest = Path(data) / "manifest.json"
    if manifest.is_file():
        return sha256_file(manifest)
    t = _test_truth(data) if truth is None else truth
    h = hashlib.sha256()
    for k in ("joints", "visible", "head_size"):
        h.update(np.ascontiguousarray(t[k]).tobytes())
    h.update("\n".join(t["groups"]).encode())
    return h.hexdigest()


def heatmap_key(run_dir: str | os.PathLike, data: str | os.PathLike, truth: Mapping | None = None) -> str:
    """The cache key of the test heatmaps: a hash of ``best.pt`` and of the dataset (manifest)."""
    best = Path(run_dir) / "best.pt"
    fingerprint = data_fingerprint(data, truth)
    return hashlib.sha256(f"{sha256_file(best)}:{fingerprint}:test".encode()).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# data


def _test_truth(data: str | os.PathLike) -> dict[str, np.ndarray]:
    """Ground truth of the test split: joints ``(N, 18, 2)`` input px, visible, head_size, groups.

    ``groups`` labels a sample with its multi-view frame (subject/activity/frame): the bootstrap unit.
    """
    from dark.data import open as open_data

    samples = open_data(data, split="test")
    if len(samples) == 0:
        raise ValueError(f"{data}: the test split is empty")
    return {
        "joints": np.stack([s.joints for s in samples]).astype(np.float64),
        "visible": np.stack([s.visible for s in samples]).astype(bool),
        "head_size": np.array([s.head_size for s in samples], dtype=np.float64),
        "groups": np.array([f"{s.subject}/{s.activity}/{s.frame}" for s in samples]),
        "names": np.array([f"{s.subject}/{s.activity}/{s.view}/{s.frame}" for s in samples]),
    }


def model_input(depth: torch.Tensor, input_size: Sequence[int]) -> torch.Tensor:
    """Resize the normalised depth batch ``(B, 1, 160, 320)`` to the network's ``(H, W)`` (area average)."""
    size = (int(input_size[0]), int(input_size[1]))
    if tuple(depth.shape[-2:]) == size:
        return depth
    return torch.nn.functional.interpolate(depth, size=size, mode="area")


@torch.no_grad()
def predict_heatmaps(
    model: torch.nn.Module,
    loader,
    n: int,
    out: Path,
    *,
    input_size: Sequence[int],
    device: torch.device,
    progress: bool = True,
) -> None:
    """Run ``model`` over the batches of ``loader`` (dicts with ``"depth"`` ``(B, 1, 160, 320)``) and
    write the last stack's heatmaps ``(n, K, h, w)`` float16 to ``out`` (.npy, atomically)."""
    from tqdm.auto import tqdm

    model.eval()
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    arr = None
    i = 0
    try:
        with tqdm(total=n, desc="predict test heatmaps", unit="img", disable=not progress) as bar:
            for batch in loader:
                x = model_input(batch["depth"].to(device, non_blocking=True), input_size)
                y = model(x)
                y = y[-1] if isinstance(y, (list, tuple)) else y
                y = y.float().cpu().numpy().astype(np.float16)
                if arr is None:
                    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float16, shape=(n, *y.shape[1:]))
                arr[i : i + len(y)] = y
                i += len(y)
                bar.update(len(y))
        if arr is None or i != n:
            raise RuntimeError(f"predicted {i} heatmaps, expected {n}")
        arr.flush()
        del arr
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)


def cached_heatmaps(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    progress: bool = True,
    force: bool = False,
    truth: Mapping[str, np.ndarray] | None = None,
) -> np.ndarray:
    """The run's test heatmaps ``(N, 18, h, w)`` float16 (memory-mapped), predicted once and cached."""
    run_dir = Path(run_dir)
    key = heatmap_key(run_dir, data, truth)
    path, key_path = run_dir / HEATMAPS, run_dir / HEATMAPS_KEY
    if not force and path.is_file() and key_path.is_file():
        if json.loads(key_path.read_text()).get("key") == key:
            return np.load(path, mmap_mode="r")
    from dark.data.dataset import DepthDataset
    from dark.train import load_model

    key_path.unlink(missing_ok=True)  # never leave a key next to heatmaps it does not describe
    dev = resolve_device(device)
    model, config = load_model(run_dir, which="best", device=dev)
    dataset = DepthDataset(data, "test")
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    predict_heatmaps(
        model, loader, len(dataset), path, input_size=config["input_size"], device=dev, progress=progress
    )
    atomic_write(key_path, json.dumps({"key": key, "best.pt": str(run_dir / "best.pt"), "data": str(data)}))
    return np.load(path, mmap_mode="r")


# ---------------------------------------------------------------------------------------------------------
# decoding and scoring


def decode_all(
    heatmaps: np.ndarray | torch.Tensor,
    config: Mapping,
    *,
    decoders: Sequence[str] | None = None,
    device: str | torch.device = "auto",
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Every decoder on the same heatmaps, in input px: ``(N, K, h, w) -> {name: (N, K, 2) float64}``.

    ``config`` holds the run's ``sigma`` (heatmap px), ``heatmap_stride`` (input px of the original
    160x320 map per heatmap px) and ``scaling`` (``"stride"`` or ``"udp"``). Batches of ``batch_size``
    samples go to ``device`` as float32.
    """
    from tqdm.auto import tqdm

    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (N, K, h, w), got {tuple(heatmaps.shape)}")
    decoders = tuple(codecs.DECODERS if decoders is None else decoders)
    dev = resolve_device(device) if isinstance(device, str) else device
    n, _, h, w = heatmaps.shape
    sigma = float(config["sigma"])
    stride = float(config["heatmap_stride"])
    scaling = config.get("scaling", "stride")
    out = {d: np.empty((n, heatmaps.shape[1], 2)) for d in decoders}
    for i in tqdm(range(0, n, batch_size), desc="decode", disable=not progress):
        chunk = heatmaps[i : i + batch_size]
        hm = (
            (
                chunk
                if isinstance(chunk, torch.Tensor)
                else torch.from_numpy(np.array(chunk, dtype=np.float32))
            )
            .to(dev)
            .float()
        )
        for d in decoders:
            xy, _ = codecs.decode(hm, d, sigma=sigma)
            xy = codecs.to_input(
                xy.double(), stride=stride, scaling=scaling, input_size=INPUT_SIZE, heatmap_size=(h, w)
            )
            out[d][i : i + len(hm)] = xy.cpu().numpy()
    return out


def score(
    preds: Mapping[str, np.ndarray],
    gt: np.ndarray,
    visible: np.ndarray,
    head_size: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    reference: str = REFERENCE_DECODER,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """The ``decoders``/``differences`` part of ``evaluation.json`` for predictions in input px."""
    pairs = [(reference, d) for d in preds if d != reference] if reference in preds else []
    s = metrics.summarize(
        preds, gt, visible, head_size, metrics=metrics.METRICS, pairs=pairs, groups=groups,
        confidence=confidence, n_resamples=n_resamples, seed=seed,
    )  # fmt: skip
    decoders = {}
    for d, p in preds.items():
        pj = metrics.per_joint(p, gt, visible, head_size)
        decoders[d] = {
            "metrics": {m: iv.to_dict() for m, iv in s["metrics"][d].items()},
            "per_joint": {m: [None if np.isnan(v) else float(v) for v in vals] for m, vals in pj.items()},
            "pckh_curve": metrics.pckh_curve(p, gt, visible, head_size, CURVE_ALPHAS).tolist(),
        }
    differences = {
        f"{a}-{b}": {m: iv.to_dict() for m, iv in d.items()} for (a, b), d in s["differences"].items()
    }
    return {"decoders": decoders, "differences": differences}


def _run_info(run_dir: Path, config: Mapping) -> dict:
    best_epoch = epochs = None
    log = run_dir / "metrics.jsonl"
    if log.is_file():
        lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        epochs = len(lines)
        scored = [r for r in lines if "epoch" in r]
        if scored:
            key = next((k for k in ("val_pckh@0.5", "val_pckh", "val_loss") if k in scored[-1]), None)
            if key:
                best = (max if "pckh" in key else min)(scored, key=lambda r: r[key])
                best_epoch = best["epoch"]
            epochs = max(r["epoch"] for r in scored) + (1 if min(r["epoch"] for r in scored) == 0 else 0)
    return {
        "dir": str(run_dir),
        "name": run_dir.name,
        "model": config.get("model"),
        "encoding": config.get("encoding"),
        "grid": config.get("grid"),
        "config_name": config.get("config", config.get("config_name")),
        "sigma": config.get("sigma"),
        "input_size": config.get("input_size"),
        "heatmap_size": config.get("heatmap_size"),
        "heatmap_stride": config.get("heatmap_stride"),
        "scaling": config.get("scaling", "stride"),
        "best_epoch": config.get("best_epoch", best_epoch),
        "epochs": config.get("epochs", epochs),
    }


def _data_info(data: Path, n: int, frames: int, truth: Mapping) -> dict:
    manifest = {}  # a rendered dataset has one; a HUMAN4D root does not
    if (data / "manifest.json").is_file():
        manifest = json.loads((data / "manifest.json").read_text())
    return {
        "path": str(data),
        "profile": manifest.get("profile"),
        "source": f"{manifest.get('format', 'rendered')} seed {manifest.get('seed')}"
        if manifest
        else "HUMAN4D",
        "manifest_sha256": data_fingerprint(data, truth),
        "split": "test",
        "samples": n,
        "frames": frames,
    }


def evaluate(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    n_resamples: int = 2000,
    seed: int = 0,
    progress: bool = True,
    force: bool = False,
    decoders: Sequence[str] | None = None,
) -> dict:
    """Evaluate one run with every decoder (or ``decoders``); write and return ``evaluation.json``."""
    run_dir, data = Path(run_dir), Path(data)
    config = json.loads((run_dir / "config.json").read_text())
    truth = _test_truth(data)
    heatmaps = cached_heatmaps(
        run_dir, data, device=device, batch_size=batch_size, progress=progress, force=force, truth=truth
    )
    if len(truth["joints"]) != len(heatmaps):
        raise ValueError(f"{len(heatmaps)} cached heatmaps but {len(truth['joints'])} test samples in {data}")
    t0 = time.perf_counter()
    preds = decode_all(heatmaps, config, decoders=decoders, device=device, progress=progress)
    decode_s = time.perf_counter() - t0
    result = {
        "run": _run_info(run_dir, config),
        "data": _data_info(data, len(heatmaps), len(np.unique(truth["groups"])), truth),
        "bootstrap": {
            "method": "percentile",
            "confidence": 0.95,
            "n_resamples": n_resamples,
            "seed": seed,
            "unit": "multi-view test frames (each brings all its views and visible joints)",
        },
        "joints": list(JOINTS_18),
        "alphas": list(CURVE_ALPHAS),
        "decode_seconds": decode_s,
        **score(
            preds,
            truth["joints"],
            truth["visible"],
            truth["head_size"],
            groups=truth["groups"],
            n_resamples=n_resamples,
            seed=seed,
        ),
    }
    names = list(preds)
    coords = np.stack([preds[d] for d in names]).astype(np.float32)

    def write_npz(f):
        np.savez(f, coords=coords, decoders=np.array(names), gt=truth["joints"], visible=truth["visible"],
                 head_size=truth["head_size"], groups=truth["groups"], names=truth["names"])  # fmt: skip

    atomic_write(run_dir / PREDICTIONS, write_npz)
    atomic_write(run_dir / EVALUATION, json.dumps(result, indent=1))
    atomic_write(run_dir / EVALUATION_CSV, evaluation_csv(result))
    return result


def evaluation_csv(result: Mapping) -> str:
    """One row per decoder: every metric with its CI, and the difference to DARK with its CI."""
    cols = ["decoder"]
    for m in metrics.METRICS:
        cols += [m, f"{m}_low", f"{m}_high"]
    for m in metrics.METRICS:
        cols += [f"dark_minus_{m}", f"dark_minus_{m}_low", f"dark_minus_{m}_high"]
    lines = [",".join(cols)]
    for d, r in result["decoders"].items():
        row = [d]
        for m in metrics.METRICS:
            iv = r["metrics"][m]
            row += [f"{iv['value']:.6g}", f"{iv['low']:.6g}", f"{iv['high']:.6g}"]
        diff = result["differences"].get(f"{REFERENCE_DECODER}-{d}", {})
        for m in metrics.METRICS:
            iv = diff.get(m)
            row += [f"{iv['value']:.6g}", f"{iv['low']:.6g}", f"{iv['high']:.6g}"] if iv else ["", "", ""]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# model vs model


def load_predictions(run_dir: str | os.PathLike) -> dict[str, np.ndarray]:
    """``predictions_test.npz`` of an evaluated run: ``coords`` ``(D, N, K, 2)`` input px, ``decoders``,
    ``gt``, ``visible``, ``head_size``, ``groups``, ``names``."""
    with np.load(Path(run_dir) / PREDICTIONS) as z:
        return {k: z[k] for k in z.files}


def compare_encodings(
    runs: Sequence[str | os.PathLike],
    *,
    decoders: Sequence[str] | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> list[dict]:
    """Paired ``unbiased - quantized`` differences for every model that has both runs among ``runs``.

    Both runs were evaluated on the same test frames (checked), so the difference is paired: the same
    resampled frames enter both terms. Returns one dict per model, in the format
    :func:`dark.report.claim2_evidence` reads: ``{"model", "a": "unbiased", "b": "quantized",
    "runs": [dir_a, dir_b], "differences": {decoder: {metric: {"value", "low", "high"}}}}``.
    """
    by_key = {}
    for r in runs:
        cfg = json.loads((Path(r) / "config.json").read_text())
        by_key[(cfg["model"], cfg["encoding"])] = Path(r)
    out = []
    for model in sorted({m for m, _ in by_key}):
        if (model, "unbiased") not in by_key or (model, "quantized") not in by_key:
            continue
        ra, rb = by_key[(model, "unbiased")], by_key[(model, "quantized")]
        pa, pb = load_predictions(ra), load_predictions(rb)
        if pa["names"].tolist() != pb["names"].tolist() or not np.array_equal(pa["gt"], pb["gt"]):
            raise ValueError(f"{ra} and {rb} were evaluated on different test frames")
        common = [d for d in pa["decoders"].tolist() if d in set(pb["decoders"].tolist())]
        common = [d for d in common if decoders is None or d in decoders]
        ia = {d: i for i, d in enumerate(pa["decoders"].tolist())}
        ib = {d: i for i, d in enumerate(pb["decoders"].tolist())}
        preds = {f"a:{d}": pa["coords"][ia[d]] for d in common} | {
            f"b:{d}": pb["coords"][ib[d]] for d in common
        }
        s = metrics.summarize(
            preds, pa["gt"], pa["visible"], pa["head_size"], pairs=[(f"a:{d}", f"b:{d}") for d in common],
            groups=pa["groups"], n_resamples=n_resamples, seed=seed,
        )  # fmt: skip
        out.append(
            {
                "model": model,
                "a": "unbiased",
                "b": "quantized",
                "runs": [str(ra), str(rb)],
                "differences": {
                    d: {m: iv.to_dict() for m, iv in s["differences"][(f"a:{d}", f"b:{d}")].items()}
                    for d in common
                },
            }
        )
    return out


# ---------------------------------------------------------------------------------------------------------
# command line


def cli(argv: list[str]) -> int:
    """``dark evaluate --run RUN_DIR --data DIR [--device auto] [--batch-size 64] [--quiet]``."""
    p = argparse.ArgumentParser(prog="dark evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="run directory (config.json, best.pt)")
    p.add_argument("--data", required=True, help="dataset directory (rendered) or HUMAN4D root")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:i] (default auto)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--force", action="store_true", help="predict again even if cached heatmaps match")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    run, data = Path(a.run), Path(a.data)
    for path, what in ((run / "config.json", "run config"), (run / "best.pt", "checkpoint")):
        if not path.is_file():
            print(f"dark evaluate: {what} {path} not found", file=sys.stderr)
            return 2
    if not data.exists():
        print(f"dark evaluate: data {data} not found", file=sys.stderr)
        return 2
    if a.batch_size < 1 or a.resamples < 1:
        print("dark evaluate: --batch-size and --resamples must be >= 1", file=sys.stderr)
        return 2
    try:
        result = evaluate(run, data, device=a.device, batch_size=a.batch_size, n_resamples=a.resamples,
                          seed=a.seed, progress=not a.quiet, force=a.force)  # fmt: skip
    except (ValueError, FileNotFoundError) as e:
        print(f"dark evaluate: {e}", file=sys.stderr)
        return 2
    if not a.quiet:
        for d, r in result["decoders"].items():
            m = r["metrics"]
            v = {k: iv["value"] for k, iv in m.items()}
            print(
                f"{d:>13}  PCKh@0.1 {v['pckh@0.1']:6.2f}  PCKh@0.5 {v['pckh@0.5']:6.2f}  RMSE {v['rmse']:.3f}"
            )
    print(f"wrote {run / EVALUATION}")
    return 0
