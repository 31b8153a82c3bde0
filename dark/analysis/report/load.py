"""Reading evaluated run directories, and grouping them into cells ``(model, encoding)``.

A run directory (one per ``(model, encoding, seed)`` training, :mod:`dark.experiment.runs`) holds
``config.json``, ``evaluation.json`` and ``frame_sums.npz`` (per decoder and test frame, the sums every metric
is a ratio of). It is read through :class:`dark.experiment.runs.Run`: a run's model, encoding and seed are
its typed settings' (:meth:`dark.experiment.runs.RunConfig.from_json`, which reads older spellings), so
cells group runs by what they are, not by how their ``config.json`` spelled it; a recorded run that is not
what was recorded (:func:`dark.record.run_hashes.verify_run`) is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dark.codecs import ENCODINGS
from dark.data import synth
from dark.design import paper, profiles
from dark.experiment import runs
from dark.experiment.runs import Run, RunConfig
from dark.record import run_hashes

from .labels import display_name


@dataclass(frozen=True)
class RunRecord:
    """One evaluated training: its directory, identity, evaluation and per-frame sums per decoder.

    ``model``, ``encoding`` and ``seed`` are :attr:`settings`'; ``config`` is the settings as JSON in
    today's spelling plus the record's block (:meth:`dark.experiment.runs.Run.config_json`)."""

    path: Path
    model: str
    encoding: str
    seed: int
    config: dict
    evaluation: dict
    groups: np.ndarray  #: (G,) sorted test frame labels
    columns: tuple[str, ...]  #: the frame-sum columns (:func:`dark.metrics.frame_sum_columns`)
    tables: dict[str, np.ndarray] = field(repr=False)  #: decoder -> (G, C) frame sums
    clusters: np.ndarray | None = field(default=None, repr=False)  #: (G,) each frame's test cluster, or None
    #: (G,) each frame's test clip (the intervals' resampling unit: :func:`dark.data.synth.clip_clusters`), or
    #: None for runs evaluated without clusters
    clips: np.ndarray | None = field(default=None, repr=False)
    #: the run's typed settings (``None`` for a record built by hand without them)
    settings: RunConfig | None = field(default=None, repr=False)

    @property
    def run(self) -> Run:
        """The run directory, typed (:class:`dark.experiment.runs.Run`)."""
        return Run(self.path)


def load_run(path: str | os.PathLike) -> RunRecord:
    """Read one run directory (``config.json``, ``evaluation.json``, ``frame_sums.npz``) through
    :class:`dark.experiment.runs.Run`.

    Raises:
        FileNotFoundError: a file is missing (the run was not evaluated).
        ValueError: ``config.json`` does not read as a run configuration, or the run is a record's and is
            not what was recorded (:func:`dark.record.run_hashes.verify_run`; named with its files).
    """
    run = Run(path)
    for name in (runs.CONFIG, runs.EVALUATION, runs.FRAME_SUMS):
        if not run.has(name):
            raise FileNotFoundError(f"{run.file(name)} not found: run `dark evaluate --run {run.path}` first")
    altered = run_hashes.verify_run(run.path)
    if altered is not None:
        raise ValueError(f"{run.path} is not analysed: not what was recorded ({altered.line()})")
    settings, ev, sums = run.config(), run.evaluation(), run.frame_sums()
    tables, groups, columns = sums["decoders"], sums["groups"], tuple(sums["columns"].tolist())
    clusters = sums.get("clusters")
    return RunRecord(
        path=run.path, model=settings.model, encoding=settings.encoding, seed=settings.seed,
        config=run.config_json(), evaluation=ev, groups=groups, columns=columns, tables=tables,
        clusters=clusters, clips=test_clips(clusters, ev), settings=settings,
    )  # fmt: skip


def test_clips(clusters: np.ndarray | None, evaluation: dict) -> np.ndarray | None:
    """``(G,)`` the test clip of each frame group from its ``(G,)`` placement clusters: on rendered data a
    clip has :data:`dark.data.synth.TEST_PLACEMENTS` placements (:func:`dark.data.synth.clip_clusters`); on
    HUMAN4D a cluster is already one recording, placed once. ``None`` without clusters."""
    if clusters is None:
        return None
    rendered = "rendered" in str(evaluation.get("data", {}).get("source", "rendered"))
    return synth.clip_clusters(clusters, synth.TEST_PLACEMENTS if rendered else 1)


def load_runs(paths: Iterable[str | os.PathLike]) -> list[RunRecord]:
    """:func:`load_run` for every run directory, in order."""
    return [load_run(p) for p in paths]


def load_evaluations(paths: Iterable[str | os.PathLike]) -> list[dict]:
    """Read ``RUN/evaluation.json`` of every run directory (or the JSON file itself), in order."""
    out = []
    for r in paths:
        p = Path(r)
        p = p / runs.EVALUATION if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: run `dark evaluate --run {p.parent}` first")
        out.append(json.loads(p.read_text()))
    return out


def cells(records: Sequence[RunRecord]) -> dict[tuple[str, str], list[RunRecord]]:
    """Runs grouped by ``(model, encoding)``: the report's models first, encodings in the table's order, each
    cell's runs by seed (:data:`dark.design.profiles.REPORT_SEED`, the report's seed, first). Duplicate
    seeds raise."""
    models = list(paper.MODEL_NAMES) + sorted({r.model for r in records} - set(paper.MODEL_NAMES))
    encs = list(ENCODINGS)
    encs += sorted({r.encoding for r in records} - set(encs))
    out: dict[tuple[str, str], list[RunRecord]] = {}
    for m in models:
        for e in encs:
            sub = sorted(
                (r for r in records if (r.model, r.encoding) == (m, e)),
                key=lambda r: (r.seed != profiles.REPORT_SEED, r.seed),
            )
            if len({r.seed for r in sub}) != len(sub):
                raise ValueError(f"two runs of {display_name(m, e)} with the same seed")
            if sub:
                out[(m, e)] = sub
    return out


def check_paired(records: Sequence[RunRecord]) -> None:
    """Raise unless every run was evaluated on the same test frames (same frame labels and columns)."""
    first = records[0]
    for r in records[1:]:
        if r.columns != first.columns or not np.array_equal(r.groups, first.groups):
            raise ValueError(f"{r.path} and {first.path} were not evaluated on the same test frames")


def focus(records: Sequence[RunRecord]) -> RunRecord:
    """The run the book looks at closely: the report's best model (SH w/o quant) at its first seed, else
    the first run."""
    c = cells(records)
    return c.get(("sh", "unbiased"), next(iter(c.values()), [None]))[0] or records[0]
