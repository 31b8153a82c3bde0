"""A run's test heatmaps, predicted once and cached: what :mod:`dark.experiment.evaluate` decodes and scores.

:func:`cached_heatmaps` runs the evaluated checkpoint (:data:`CHECKPOINT`: ``last.pt``, the last epoch)
over the test split (the last stack's output; no flip test, as in the report; the model input of
:func:`dark.data.dataset.prepare_input` and the run's precision, as in training) and keeps the heatmaps on
disk, ``RUN_DIR/heatmaps_test.npy`` float16 ``(N, 18, h, w)``. They are reused while that checkpoint and
the dataset's manifest are unchanged: the key (:func:`heatmap_key`, a hash of both) is stored beside them
in ``heatmaps_test.json``, with the checkpoint and the epoch its weights come from. :func:`ground_truth`
is the test split's ground truth the predictions are scored against.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from dark.data import open_split, synth
from dark.data.dataset import DepthDataset, prepare_input
from dark.experiment import runs
from dark.experiment.checkpoint_rules import CHECKPOINT, checkpoint_file
from dark.experiment.device import autocast, resolve_device
from dark.experiment.runs import HEATMAPS, HEATMAPS_KEY
from dark.files import atomic_write, sha256_file

__all__ = [
    "CHECKPOINT", "cached_epoch", "cached_heatmaps", "checkpoint_file", "data_fingerprint", "ground_truth",
    "heatmap_key", "predict_heatmaps",
]  # fmt: skip


def data_fingerprint(data: str | os.PathLike, truth: Mapping[str, np.ndarray] | None = None) -> str:
    """sha256 of the dataset's ``manifest.json`` (or of the test ground truth when there is none;
    pass ``truth`` from :func:`ground_truth` when already loaded, to avoid reading the split again)."""
    manifest = Path(data) / "manifest.json"
    if manifest.is_file():
        return sha256_file(manifest)
    t = ground_truth(data) if truth is None else truth
    h = hashlib.sha256()
    for k in ("joints", "visible", "head_size"):
        h.update(np.ascontiguousarray(t[k]).tobytes())
    h.update("\n".join(t["groups"]).encode())
    return h.hexdigest()


def heatmap_key(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    truth: Mapping | None = None,
    checkpoint: str = CHECKPOINT,
) -> str:
    """The cache key of the test heatmaps: a hash of the evaluated checkpoint's file (``last.pt`` by
    default) and of the dataset (manifest)."""
    weights = Path(run_dir) / checkpoint_file(checkpoint)
    fingerprint = data_fingerprint(data, truth)
    return hashlib.sha256(f"{sha256_file(weights)}:{fingerprint}:test".encode()).hexdigest()


def ground_truth(data: str | os.PathLike) -> dict[str, np.ndarray]:
    """Ground truth of the test split (what predictions are scored against): joints ``(N, 18, 2)``
    input px, visible, head_size, groups, names, and clusters where the split has them.

    ``groups`` labels a sample with its multi-view frame (subject/activity/frame); ``clusters`` ``(N,)``
    int64 (:func:`dark.data.synth.clusters`) its placement of a test clip: the bootstrap's unit. A
    dataset rendered before test clips had placements has no ``clusters`` (its frames are resampled).
    """
    samples = open_split(data, split="test")
    if len(samples) == 0:
        raise ValueError(f"{data}: the test split is empty")
    try:
        cluster = {"clusters": synth.clusters(samples)}
    except TypeError:  # a dataset without placements (generator < 5)
        cluster = {}
    return {
        **cluster,
        "joints": np.stack([s.joints for s in samples]).astype(np.float64),
        "visible": np.stack([s.visible for s in samples]).astype(bool),
        "head_size": np.array([s.head_size for s in samples], dtype=np.float64),
        "groups": np.array([f"{s.subject}/{s.activity}/{s.frame}" for s in samples]),
        "names": np.array([f"{s.subject}/{s.activity}/{s.view}/{s.frame}" for s in samples]),
    }


@torch.no_grad()
def predict_heatmaps(
    model: torch.nn.Module,
    loader,
    n: int,
    out: Path,
    *,
    input_size: Sequence[int],
    device: torch.device,
    precision: str = "fp32",
    progress: bool = True,
) -> None:
    """Run ``model`` over the batches of ``loader`` (dicts with ``"depth"`` ``(B, 1, 160, 320)``) and
    write the last stack's heatmaps ``(n, K, h, w)`` float16 to ``out`` (.npy, streamed to disk through
    :func:`dark.files.atomic_write`, so a large split never sits in memory whole)."""
    model.eval()

    def write(f) -> None:
        i = 0
        with tqdm(total=n, desc="predict test heatmaps", unit="img", disable=not progress) as bar:
            for batch in loader:
                x = prepare_input(batch["depth"], input_size, device)
                with autocast(device, precision):
                    y = model(x)
                y = y[-1] if isinstance(y, (list, tuple)) else y
                y = np.ascontiguousarray(y.float().cpu().numpy().astype(np.float16))
                if i == 0:
                    header = {"descr": np.lib.format.dtype_to_descr(y.dtype), "fortran_order": False,
                              "shape": (n, *y.shape[1:])}  # fmt: skip
                    np.lib.format.write_array_header_1_0(f, header)
                f.write(y.tobytes())
                i += len(y)
                bar.update(len(y))
        if i != n:
            raise RuntimeError(f"predicted {i} heatmaps, expected {n}")

    atomic_write(out, write)


def cached_heatmaps(
    run_dir: str | os.PathLike,
    data: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    progress: bool = True,
    force: bool = False,
    truth: Mapping[str, np.ndarray] | None = None,
    key: str | None = None,
    checkpoint: str = CHECKPOINT,
) -> np.ndarray:
    """The run's test heatmaps ``(N, 18, h, w)`` float16 (memory-mapped), predicted once with
    ``checkpoint`` (``"last"`` or ``"best"``) and cached (:func:`cached_epoch`: the epoch they come from)."""
    run_dir = Path(run_dir)
    key = heatmap_key(run_dir, data, truth, checkpoint) if key is None else key
    path, key_path = run_dir / HEATMAPS, run_dir / HEATMAPS_KEY
    if not force and path.is_file() and key_path.is_file():
        if json.loads(key_path.read_text()).get("key") == key:
            return np.load(path, mmap_mode="r")
    key_path.unlink(missing_ok=True)  # never leave a key next to heatmaps it does not describe
    dev = resolve_device(device)
    trained = runs.load_model(run_dir, which=checkpoint, device=dev)
    dataset = DepthDataset(data, "test")
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    predict_heatmaps(
        trained.model, loader, len(dataset), path, input_size=trained.config.input_size, device=dev,
        precision=trained.config.precision, progress=progress,
    )  # fmt: skip
    stamp = {"key": key, "checkpoint": str(run_dir / checkpoint_file(checkpoint)), "epoch": trained.epoch}
    atomic_write(key_path, json.dumps({**stamp, "data": str(data)}))
    return np.load(path, mmap_mode="r")


def cached_epoch(run_dir: str | os.PathLike) -> int | None:
    """The (1-based) epoch of the weights the cached test heatmaps were predicted with (``None`` for a
    cache written before it was recorded)."""
    key_path = Path(run_dir) / HEATMAPS_KEY
    epoch = json.loads(key_path.read_text()).get("epoch") if key_path.is_file() else None
    return None if epoch is None else int(epoch)
