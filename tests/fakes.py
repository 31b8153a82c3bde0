"""Fake runs for the tests: run directories written the way the real writers write them.

:func:`write_run` writes what a training (:func:`dark.experiment.train.train`: ``config.json`` from a
resolved :class:`dark.experiment.runs.RunConfig` with what it measured, ``metrics.jsonl``) and its
evaluation (:func:`dark.experiment.evaluate.evaluate`: ``evaluation.json``, ``frame_sums.npz`` with one
``decoder:<name>`` table per decoder, ``predictions_test.npz`` through
:func:`dark.experiment.runs.save_predictions`) leave, with the numbers a test chooses; so a fake run reads
back through :class:`dark.experiment.runs.Run` as a real one does (the real loader refuses a
``config.json`` without every setting). :func:`record_run` records one into a record's store as a build does
(:func:`dark.experiment.run_store.add_run`: the record block, ``SHA256SUMS``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dark.experiment import run_store, runs


def write_run(
    root: str | Path,
    model: str = "sh",
    encoding: str = "ceil",
    seed: int = 2,
    *,
    profile: str = "smoke",
    tables: Mapping[str, np.ndarray] | None = None,
    columns: tuple[str, ...] = ("n",),
    groups: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    evaluation: Mapping[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
    name: str | None = None,
    **options: Any,
) -> Path:
    """Write one finished, evaluated run ``root/<name>`` (default :func:`dark.experiment.runs.run_name`) and
    return its folder.

    Args:
        root: the folder of run directories (created).
        model, encoding, seed, profile, options: the training's settings
            (:meth:`dark.experiment.runs.RunConfig.resolve`: ``batch_size``, ``precision``, ...).
        tables: decoder -> ``(G, C)`` frame sums (default: none); ``columns`` names the ``C`` columns.
        groups: ``(G,)`` the frames' labels (default ``f00``, ``f01``, ...); clusters: ``(G,)`` their test
            placements, or ``None`` (written before test clusters).
        evaluation: ``evaluation.json`` (default: the run's identity, no decoders).
        history: the epochs of ``metrics.jsonl`` (default: one epoch of 30 s).
        predictions: ``predictions_test.npz``'s arrays, or ``None`` (not written).
    """
    config = runs.RunConfig.resolve(model, encoding, profile, seed=seed, **options)
    measured = runs.Measured(n_train=96, n_val=16, world_size=1, device="cpu", torch="fake", parameters=1000,
                             threads=1)  # fmt: skip
    d = Path(root) / (name or runs.run_name(model, encoding, seed))
    d.mkdir(parents=True)
    run = {"model": model, "encoding": encoding, "seed": seed, "profile": profile, "dir": str(d)}
    (d / runs.CONFIG).write_text(json.dumps(dataclasses.replace(config, measured=measured).to_json()))
    lines = history if history is not None else [{"epoch": 1, "time_s": 30.0}]
    (d / runs.METRICS).write_text("".join(json.dumps(e) + "\n" for e in lines))
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
