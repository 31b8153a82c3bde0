"""Fake runs for the tests: run directories written the way the real writers write them.

:func:`write_trained` writes what a training leaves (:func:`dark.experiment.train.train`: ``config.json``
from a resolved :class:`dark.experiment.runs.RunConfig` with what it measured, ``metrics.jsonl``; no
checkpoints); :func:`write_run` that and what its evaluation leaves
(:func:`dark.experiment.evaluate.evaluate`: ``evaluation.json``, ``frame_sums.npz`` with one
``decoder:<name>`` table per decoder, ``predictions_test.npz`` through
:func:`dark.experiment.runs.save_predictions`), with the numbers a test chooses; so a fake run reads back
through :class:`dark.experiment.runs.Run` as a real one does (the real loader refuses a ``config.json``
without every setting). :func:`record_run` records one into a record's store as a build does
(:func:`dark.record.run_store.add_run`: the record block, ``SHA256SUMS``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dark.experiment import runs
from dark.record import run_store

#: the predictions of a run evaluated on one test view (every array that
#: :func:`dark.experiment.runs.save_predictions` requires)
ONE_FRAME_PREDICTIONS = {
    "coords": np.ones((1, 1, 18, 2), np.float32), "decoders": np.array(["dark"]), "gt": np.zeros((1, 18, 2)),
    "visible": np.ones((1, 18), bool), "head_size": np.ones(1), "groups": np.array(["f"]),
    "names": np.array(["f/0"]),
}  # fmt: skip


def write_trained(
    root: str | Path,
    model: str = "sh",
    encoding: str = "ceil",
    seed: int = 2,
    *,
    profile: str = "smoke",
    history: list[dict[str, Any]] | None = None,
    measured: bool = True,
    name: str | None = None,
    **options: Any,
) -> Path:
    """Write what a training leaves but its checkpoints: ``root/<name>`` (default
    :func:`dark.experiment.runs.run_name`) with ``config.json`` and ``metrics.jsonl``; return the folder.

    Args:
        root: the folder of run directories (created; the run's folder may exist).
        model, encoding, seed, profile, options: the training's settings
            (:meth:`dark.experiment.runs.RunConfig.resolve`: ``batch_size``, ``precision``, ...).
        history: the epochs of ``metrics.jsonl`` (default: one epoch of 30 s).
        measured: write what the training measured when it set up, as the trainer does (``False``: a
            config without it, as runs before it was recorded have).
    """
    config = runs.RunConfig.resolve(model, encoding, profile, seed=seed, **options)
    if measured:
        found = runs.Measured(n_train=96, n_val=16, world_size=1, device="cpu", torch="fake", parameters=1000,
                              threads=1)  # fmt: skip
        config = dataclasses.replace(config, measured=found)
    d = Path(root) / (name or runs.run_name(model, encoding, seed))
    d.mkdir(parents=True, exist_ok=True)
    (d / runs.CONFIG).write_text(json.dumps(config.to_json(), indent=2) + "\n")
    lines = history if history is not None else [{"epoch": 1, "time_s": 30.0}]
    (d / runs.METRICS).write_text("".join(json.dumps(e) + "\n" for e in lines))
    return d


def write_run(
    root: str | Path,
    model: str = "sh",
    encoding: str = "ceil",
    seed: int = 2,
    *,
    tables: Mapping[str, np.ndarray] | None = None,
    columns: tuple[str, ...] = ("n",),
    groups: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    evaluation: Mapping[str, Any] | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
    **training: Any,
) -> Path:
    """Write one finished, evaluated run (:func:`write_trained`, whose arguments ``training`` are, then what
    its evaluation writes) and return its folder.

    Args:
        tables: decoder -> ``(G, C)`` frame sums (default: none); ``columns`` names the ``C`` columns.
        groups: ``(G,)`` the frames' labels (default ``f00``, ``f01``, ...); clusters: ``(G,)`` their test
            placements, or ``None`` (written before test clusters).
        evaluation: ``evaluation.json`` (default: the run's identity, no decoders).
        predictions: ``predictions_test.npz``'s arrays (:func:`dark.experiment.runs.save_predictions`), or
            ``None`` (not written).
    """
    d = write_trained(root, model, encoding, seed, **training)
    run = {"model": model, "encoding": encoding, "seed": seed, "dir": str(d)}
    ev = dict(evaluation) if evaluation is not None else {"run": run, "decoders": {}}
    (d / runs.EVALUATION).write_text(json.dumps(ev))
    tables = dict(tables or {})
    n = len(next(iter(tables.values()))) if tables else 1
    arrays = {"groups": np.array([f"f{i:02d}" for i in range(n)]) if groups is None else groups,
              "columns": np.array(columns), **{f"decoder:{k}": v for k, v in tables.items()}}  # fmt: skip
    if clusters is not None:
        arrays["clusters"] = np.asarray(clusters)
    np.savez(d / runs.FRAME_SUMS, **arrays)
    if predictions is not None:
        runs.save_predictions(d, dict(predictions))
    return d


def record_run(store: str | Path, run_dir: str | Path, data_digest: str = "d", **provenance: Any) -> Path:
    """Record the finished run ``run_dir`` into the record's store ``store`` as a build does; return the
    recorded folder (``store/runs/<name>``)."""
    return run_store.add_run(store, run_dir, data_digest=data_digest, **provenance).path
