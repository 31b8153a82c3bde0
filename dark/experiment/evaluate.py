"""Evaluate a trained run: predict the test heatmaps once, decode them with every decoder, score them.

``dark evaluate --run RUN_DIR --data DIR`` (:mod:`dark.experiment.evaluate_cli`) or :func:`evaluate`:

1. Predict the test split once with the last epoch's weights (``last.pt``,
   :data:`dark.experiment.predict.CHECKPOINT`: the schedule decays to zero; the best validation epochs by our
   rule and by the report's are reported beside it, :func:`epochs_by_rule`) and keep the heatmaps on disk
   (:func:`dark.experiment.predict.cached_heatmaps`: ``RUN_DIR/heatmaps_test.npy``, reused while ``last.pt``
   and the dataset are unchanged).
2. Decode them with every decoder of :data:`dark.codecs.DECODERS`
(:func:`dark.experiment.decoding.decode_predictions`,
   the path training's validation takes) through the codec that trained
   (:attr:`dark.experiment.runs.RunConfig.codec`:
   the training ``sigma``, heatmap px to input px of the original 320x160 depth map): the report's
   Standard decoder ``standard_report`` (whose norm runs over a batch) on consecutive batches of the
   report's test batch in test order (:func:`dark.codecs.report_test_batch`: 24 for SH with ceil, else
   16), and every decoder's predicted visibility under the report's rule at its own coordinates
   (:func:`dark.codecs.report_visibility`).
3. Score with :mod:`dark.metrics`: PCKh@0.1, PCKh@0.5, RMSE, mean error, the signed bias (x, y) and the
   report's per-axis PCKh@0.1, @0.5 (with each decoder's ``pred_visible``) with 95% bootstrap CIs over
   the test clusters (a placement of a test clip with every frame and view of it:
   :func:`dark.data.synth.clusters`; over multi-view frames for a split without clusters), the median
   bias, per-joint values, a PCKh curve, and the paired differences ``DARK - every other decoder``.

Writes (names of :mod:`dark.experiment.runs`, all through :func:`dark.files.atomic_write`) ``evaluation.json``
(schema below), ``evaluation.csv`` (one row per decoder), ``predictions_test.npz``
(read by :func:`dark.experiment.runs.load_predictions`: every decoder's coordinates ``coords`` (D, N, K, 2)
input px, ``decoders`` (D,), ``pred_visible`` (D, N, K) bool, and the ground truth ``gt``, ``visible``,
``head_size``, ``groups``, ``names``, ``clusters``: any metric can be recomputed from it) and
``frame_sums.npz`` (per test frame and decoder, the sums of :func:`dark.metrics.frame_sums` for every
metric: arrays ``"groups"`` (G,) sorted frame labels, ``"columns"`` (C,), ``"clusters"`` (G,) each
frame's cluster (where the split has them), and ``"decoder:<name>"`` (G, C) float64; what the two-level
intervals resample).
An evaluation that is up to date (same heatmap key, same :data:`FORMAT`) is returned as it is unless
``force=True``, so re-running over a plan evaluates only new or retrained runs.

``evaluation.json``::

    {"format": FORMAT, "heatmap_key": str,
     "run": {"dir", "name", "model", "encoding", "grid", "rounding", "precision", "seed", "profile",
             "config_name", "sigma", "input_size", "heatmap_size", "heatmap_stride", "scaling",
             "best_epoch", "epochs", "checkpoint": "last", "epoch" (evaluated),
             "epochs_by_rule": {"last", "ours", "report"}, "validation_by_rule": {rule: {...} | None}},
     "data": {"path", "profile", "source", "manifest_sha256", "split", "samples", "frames"},
     "bootstrap": {"method", "confidence", "n_resamples", "seed", "unit"},
     "joints": [18 names], "alphas": [curve alphas],
     "decoding": {"report_batch", "standard_report", "pred_visible"} (how the report's decoder and
                  visibility rule were run),
     "decoders": {name: {"metrics": {metric: {"value", "low", "high"}}, "median_bias": [x, y],
                         "per_joint": {metric: [18]}, "pckh_curve": [len(alphas)]}},
     "differences": {"dark-<name>": {metric: {"value", "low", "high"}}}}
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from dark import codecs, metrics
from dark.data import read_manifest
from dark.design.skeleton import JOINTS_18
from dark.experiment import runs
from dark.experiment.checkpoint_rules import LAST_EPOCH_FORMAT, epochs_by_rule, evaluated_checkpoint
from dark.experiment.decoding import Decoded, decode_heatmaps, decode_predictions
from dark.experiment.device import resolve_device
from dark.experiment.predict import (
    CHECKPOINT,
    cached_epoch,
    cached_heatmaps,
    data_fingerprint,
    ground_truth,
    heatmap_key,
    predict_heatmaps,
)
from dark.experiment.runs import (
    EVALUATION,
    EVALUATION_CSV,
    FRAME_SUMS,
    HEATMAPS,
    HEATMAPS_KEY,
    PREDICTIONS,
    RunConfig,
    load_predictions,
)
from dark.files import atomic_write

__all__ = [
    "CHECKPOINT", "CURVE_ALPHAS", "EVALUATION", "EVALUATION_CSV", "FORMAT", "HEATMAPS", "HEATMAPS_KEY",
    "PREDICTIONS", "cached_heatmaps", "data_fingerprint", "decode_heatmaps", "epochs_by_rule",
    "evaluate", "evaluated_checkpoint", "evaluation_csv", "heatmap_key", "load_predictions",
    "predict_heatmaps", "score", "up_to_date",
]  # fmt: skip

#: version of what :func:`evaluate` writes; a stored evaluation of another version is redone. 3
#: (:data:`dark.experiment.checkpoint_rules.LAST_EPOCH_FORMAT`): the last epoch is evaluated
#: (``run.checkpoint``), intervals resample test clusters, ``frame_sums.npz`` has them; 4: every decoder's
#: metrics include the report's per-axis PCKh, ``predictions_test.npz`` keeps ``pred_visible``, ``"decoding"``
#: says how ``standard_report`` was batched
FORMAT = LAST_EPOCH_FORMAT + 1

#: PCKh curve alphas stored for the book's plots
CURVE_ALPHAS: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 0.5, 51), 3).tolist())

#: the metrics stored per joint: the report's and its per-axis PCKh
PER_JOINT_METRICS: tuple[str, ...] = (*metrics.METRICS, "pckh_axis@0.1", "pckh_axis@0.5")

#: the decoder every other one is compared with (claim 1)
REFERENCE_DECODER = "dark"

# ---------------------------------------------------------------------------------------------------------
# decoding and scoring


def score(
    preds: Mapping[str, np.ndarray],
    gt: np.ndarray,
    visible: np.ndarray,
    head_size: np.ndarray,
    *,
    pred_visible: Mapping[str, np.ndarray] | None = None,
    groups: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    reference: str = REFERENCE_DECODER,
    n_resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict:
    """The ``decoders``/``differences`` part of ``evaluation.json`` for predictions in input px.

    Every metric of :data:`dark.metrics.ALL_METRICS` (the report's, the signed bias x, y and the report's
    per-axis PCKh, which reads ``pred_visible[decoder]`` ``(N, K)``: absent, no visibility failures) with
    its interval over frames (over ``clusters`` when given: :func:`dark.metrics.summarize`), plus each
    decoder's ``median_bias`` ``[x, y]``.
    """
    pairs = [(reference, d) for d in preds if d != reference] if reference in preds else []
    extra = {d: {"pred_visible": v} for d, v in (pred_visible or {}).items()}
    s = metrics.summarize(
        preds, gt, visible, head_size, metrics=metrics.ALL_METRIC_NAMES, pairs=pairs, groups=groups,
        clusters=clusters, extra=extra, confidence=confidence, n_resamples=n_resamples, seed=seed,
    )  # fmt: skip
    decoders = {}
    for d, p in preds.items():
        pj = metrics.per_joint(p, gt, visible, head_size, PER_JOINT_METRICS, **extra.get(d, {}))
        decoders[d] = {
            "metrics": {m: iv.to_dict() for m, iv in s["metrics"][d].items()},
            "median_bias": [float(v) for v in metrics.median_bias(p, gt, visible)],
            "per_joint": {m: [None if np.isnan(v) else float(v) for v in vals] for m, vals in pj.items()},
            "pckh_curve": metrics.pckh_curve(p, gt, visible, head_size, CURVE_ALPHAS).tolist(),
        }
    differences = {
        f"{a}-{b}": {m: iv.to_dict() for m, iv in d.items()} for (a, b), d in s["differences"].items()
    }
    return {"decoders": decoders, "differences": differences}


def frame_sum_tables(
    preds: Mapping[str, np.ndarray],
    truth: Mapping[str, np.ndarray],
    pred_visible: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of ``frame_sums.npz``: ``groups`` (G,) sorted frame labels, ``columns`` (C,),
    ``clusters`` (G,) the cluster of each frame (where ``truth`` has clusters; the views of a frame share
    one), and ``decoder:<name>`` (G, C) float64 per decoder (:func:`dark.metrics.frame_sums` of every
    metric; the per-axis PCKh's columns with ``pred_visible[decoder]``)."""
    pred_visible = pred_visible or {}
    names = metrics.ALL_METRIC_NAMES
    groups, first, inverse = np.unique(truth["groups"], return_index=True, return_inverse=True)
    out = {"groups": groups.astype(str), "columns": np.array(metrics.frame_sum_columns(names))}
    if "clusters" in truth:
        clusters = np.asarray(truth["clusters"])
        if not np.array_equal(clusters[first][inverse], clusters):
            raise ValueError("the views of one test frame lie in different clusters")
        out["clusters"] = clusters[first]
    for d, p in preds.items():
        extra = {"pred_visible": pred_visible[d]} if d in pred_visible else {}
        out[f"decoder:{d}"] = metrics.frame_sums(
            p, truth["joints"], truth["visible"], truth["head_size"], metrics=names, groups=truth["groups"],
            **extra,
        )  # fmt: skip
    return out


def _run_info(run_dir: Path, config: RunConfig, epoch: int | None) -> dict:
    """The ``"run"`` part of ``evaluation.json``: the run's settings, the evaluated checkpoint and its
    ``epoch``, and the epochs each checkpoint rule picks (:func:`epochs_by_rule`).

    ``grid`` and ``rounding`` are the encoding's row; ``config_name`` repeats ``profile`` for the readers
    of older evaluations (the profile's name before :class:`dark.experiment.runs.RunConfig`); ``best_epoch``
    is ``epochs_by_rule["ours"]``, as older evaluations named it.
    """
    history = runs.load_history(run_dir)
    by_rule, values = epochs_by_rule(history, epoch)
    settings = config.to_json()
    keys = ("model", "encoding", "precision", "seed", "profile", "sigma", "input_size", "heatmap_size",
            "heatmap_stride")  # fmt: skip
    spec = config.codec.spec
    return {
        "dir": str(run_dir),
        "name": run_dir.name,
        **{k: settings[k] for k in keys},
        "grid": spec.grid,
        "rounding": spec.rounding,
        "config_name": config.profile,
        "scaling": config.scaling,
        "best_epoch": by_rule["ours"],
        "epochs": config.epochs,
        "checkpoint": CHECKPOINT,
        "epoch": by_rule["last"],
        "epochs_by_rule": by_rule,
        "validation_by_rule": values,
    }


def _data_info(data: Path, n: int, frames: int, truth: Mapping) -> dict:
    manifest = {}  # a rendered dataset has one; a HUMAN4D root does not
    if (data / "manifest.json").is_file():
        manifest = read_manifest(data)
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


def up_to_date(run_dir: str | os.PathLike, key: str) -> dict | None:
    """The stored evaluation of ``run_dir`` if it was made from heatmaps of ``key`` in this
    :data:`FORMAT` with every decoder of :data:`dark.codecs.DECODERS`, and its companion files exist;
    else ``None``."""
    run = runs.Run(run_dir)
    if not all(run.file(f).is_file() for f in (EVALUATION, FRAME_SUMS, PREDICTIONS)):
        return None
    try:
        stored = run.evaluation()
    except ValueError:  # unreadable JSON: redo it
        return None
    same = stored.get("format") == FORMAT and stored.get("heatmap_key") == key
    return stored if same and set(stored.get("decoders", ())) == set(codecs.DECODERS) else None


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
    """Evaluate one run with every decoder (or ``decoders``); write and return ``evaluation.json``.

    An up-to-date evaluation (:func:`up_to_date`) is returned without recomputing unless ``force``
    (which also predicts the heatmaps again) or a subset of ``decoders`` is asked for.
    """
    run_dir, data = Path(run_dir), Path(data)
    config = runs.Run(run_dir).config()
    truth = ground_truth(data)
    key = heatmap_key(run_dir, data, truth, CHECKPOINT)
    if not force and decoders is None and (stored := up_to_date(run_dir, key)) is not None:
        return stored
    heatmaps = cached_heatmaps(run_dir, data, device=device, batch_size=batch_size, progress=progress,
                               force=force, truth=truth, key=key, checkpoint=CHECKPOINT)  # fmt: skip
    if len(truth["joints"]) != len(heatmaps):
        raise ValueError(f"{len(heatmaps)} cached heatmaps but {len(truth['joints'])} test samples in {data}")
    t0 = time.perf_counter()
    codec = config.codec
    if tuple(heatmaps.shape[-2:]) != codec.heatmap_size:
        raise ValueError(f"heatmaps of {heatmaps.shape[-2:]} but the run's are {codec.heatmap_size}")
    report_batch = codecs.report_test_batch(config.model, config.encoding)
    decoded = decode_predictions(heatmaps, codec, decoders, device=resolve_device(device),
                                 report_batch=report_batch, progress=progress)  # fmt: skip
    preds = decoded.coords
    decode_s = time.perf_counter() - t0
    result = {
        "format": FORMAT,
        "heatmap_key": key,
        "run": _run_info(run_dir, config, cached_epoch(run_dir)),
        "data": _data_info(data, len(heatmaps), len(np.unique(truth["groups"])), truth),
        "bootstrap": {
            "method": "percentile", "confidence": 0.95, "n_resamples": n_resamples, "seed": seed,
            "unit": "test clusters (a placement of a test clip: all its frames, views and visible joints)"
            if "clusters" in truth
            else "multi-view test frames (each brings all its views and visible joints)",
        },
        "joints": list(JOINTS_18),
        "alphas": list(CURVE_ALPHAS),
        "decode_seconds": decode_s,
        "decoding": _decoding_info(decoded),
        **score(preds, truth["joints"], truth["visible"], truth["head_size"], groups=truth["groups"],
                clusters=truth.get("clusters"), pred_visible=decoded.pred_visible, n_resamples=n_resamples,
                seed=seed),
    }  # fmt: skip
    _write(run_dir, decoded, truth, result)
    return result


def _decoding_info(decoded: Decoded) -> dict:
    """The ``"decoding"`` part of ``evaluation.json``: how the report's decoder and visibility were run."""
    return {
        "report_batch": decoded.report_batch,
        "standard_report": f"decoded in consecutive batches of {decoded.report_batch} test samples in test "
        "order (the last one smaller), as the report's test loader fed moai's _argmax_sub",
        "pred_visible": "the report's rule at each decoder's own coordinates: the 5x5 sigma-1 blurred map "
        "at the truncated heatmap coordinate > 0.4 (dark.codecs.report_visibility)",
    }


def _write(run_dir: Path, decoded: Decoded, truth: Mapping, result: Mapping) -> None:
    """The evaluation's files: predictions, frame sums, then the CSV and ``evaluation.json`` (last: its
    presence with the right key is what :func:`up_to_date` trusts)."""
    preds = decoded.coords
    names = list(preds)
    arrays = {
        "coords": np.stack([preds[d] for d in names]).astype(np.float32),
        "decoders": np.array(names),
        "gt": truth["joints"],
        "pred_visible": np.stack([decoded.pred_visible[d] for d in names]),
    }
    arrays |= {k: truth[k] for k in ("visible", "head_size", "groups", "names", "clusters") if k in truth}
    atomic_write(run_dir / PREDICTIONS, lambda f: np.savez(f, **arrays))
    tables = frame_sum_tables(preds, truth, decoded.pred_visible)
    atomic_write(run_dir / FRAME_SUMS, lambda f: np.savez(f, **tables))
    atomic_write(run_dir / EVALUATION_CSV, evaluation_csv(result))
    atomic_write(run_dir / EVALUATION, json.dumps(result, indent=1))


def evaluation_csv(result: Mapping) -> str:
    """One row per decoder: every metric with its CI, and the difference to DARK with its CI."""
    names = [m for m in metrics.ALL_METRIC_NAMES if m in next(iter(result["decoders"].values()))["metrics"]]
    cols = ["decoder"]
    for m in names:
        cols += [m, f"{m}_low", f"{m}_high"]
    for m in names:
        cols += [f"dark_minus_{m}", f"dark_minus_{m}_low", f"dark_minus_{m}_high"]
    lines = [",".join(cols)]
    for d, r in result["decoders"].items():
        row = [d]
        for m in names:
            iv = r["metrics"][m]
            row += [f"{iv['value']:.6g}", f"{iv['low']:.6g}", f"{iv['high']:.6g}"]
        diff = result["differences"].get(f"{REFERENCE_DECODER}-{d}", {})
        for m in names:
            iv = diff.get(m)
            row += [f"{iv['value']:.6g}", f"{iv['low']:.6g}", f"{iv['high']:.6g}"] if iv else ["", "", ""]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"
