"""A record's store of finished runs: ``results/<record>/runs/<run>/``, each a training and its evaluation.

A recorded run keeps what its analysis needs and no weights (:data:`RUN_FILES`): ``config.json`` (the
run's settings, plus a ``"record"`` block: the run's digest (:func:`dark.experiment.run_digest.run_digest`),
the training code's revision, the digest of the training data, and the run's provenance: commit, machine,
precision, date, wall time), ``metrics.jsonl``, ``evaluation.json``, ``frame_sums.npz`` and
``predictions_test.npz`` (compact, :mod:`dark.experiment.prediction_file`), from which every metric can be
recomputed without retraining, and ``SHA256SUMS``: the sha256 of each of those files, written when the run is
recorded (:mod:`dark.record.run_hashes`; :func:`rehash` writes it once for a run recorded before it).

``dark book`` on a recorded profile (:mod:`dark.book.pipeline`) asks :func:`match` which of the profile's
trainings the store already holds with the digest they would have now: those are done; the missing ones
are trained, and each is added (:func:`add_run`) as soon as it is trained and evaluated, so an
interrupted build loses no recorded run. A recorded run of the same name whose digest differs is
*stale*: reported (build log and ``record.json``), never analysed, and replaced when retrained. A recorded
run whose files no longer match their sha256, or whose ``config.json`` no longer is what its digest stands for
(:func:`dark.record.run_hashes.verify`), is *altered*: reported by name and file, never analysed, and
replaced when retrained, as a stale one. A store with runs never hashed is refused until they are
(:func:`rehash`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dark import provenance
from dark.design import profiles
from dark.experiment import runs
from dark.experiment.device import resolve_precision
from dark.experiment.run_digest import run_digest
from dark.experiment.runs import RECORD_KEY, Run, RunConfig
from dark.files import atomic_write
from dark.record import run_hashes
from dark.record.run_hashes import SUMS, Altered

RUNS = "runs"
#: the files of each recorded run (no checkpoint, no heatmap cache)
RUN_FILES = (runs.CONFIG, runs.METRICS, runs.EVALUATION, runs.FRAME_SUMS, runs.PREDICTIONS)


@dataclass(frozen=True)
class RecordedRun:
    """One run of a store: its folder, its ``config.json`` and the record block in it (``{}`` if none)."""

    name: str
    path: Path
    config: dict[str, Any]

    @property
    def record(self) -> dict[str, Any]:
        return self.config.get(RECORD_KEY) or {}

    @property
    def digest(self) -> str | None:
        return self.record.get("digest")

    def verify(self) -> Altered | None:
        """What differs from what was recorded (:func:`dark.record.run_hashes.verify`; every file of
        :data:`RUN_FILES` the run has must be hashed); ``None`` when nothing does."""
        return run_hashes.verify(self.path, [f for f in RUN_FILES if (self.path / f).is_file()])


def recorded_runs(dest: str | os.PathLike) -> dict[str, RecordedRun]:
    """Every run folder of the store ``dest`` with a ``config.json``, by name (sorted)."""
    found = {}
    for path in sorted(Path(dest, RUNS).glob("*/" + runs.CONFIG)):
        if not path.parent.name.startswith("."):
            run = Run(path.parent)
            found[run.name] = RecordedRun(run.name, run.path, run.stored_config())
    return found


def _copy_arrays(src: Path, dst: Path, name: str) -> None:
    """Copy a run's npz compressed (predictions through their compact writer; the readers are unchanged)."""
    if name == runs.PREDICTIONS:
        runs.save_predictions(dst, runs.load_predictions(src))
        return
    with np.load(src / name) as z:
        arrays = {k: z[k] for k in z.files}
    atomic_write(dst / name, lambda f: np.savez_compressed(f, **arrays))


def add_run(
    dest: str | os.PathLike,
    run_dir: str | os.PathLike,
    *,
    data_digest: str,
    name: str | None = None,
    wall_s: float | None = None,
    machine: str | None = None,
    commit: str | None = None,
    date: str | None = None,
) -> RecordedRun:
    """Record the finished run ``run_dir`` in the store ``dest`` as ``runs/<name>`` (default: the run
    folder's name), replacing a run of that name; return it.

    Args:
        data_digest: :func:`dark.experiment.run_digest.training_data_digest` of the data it was trained on.
        wall_s: seconds the training and its evaluation took (``None``: the epochs' training time).
        machine, commit, date: the run's provenance (default: this machine, this checkout, now).

    Raises:
        FileNotFoundError: the run is not finished (a file of :data:`RUN_FILES` is missing).
    """
    run_dir, dest = Path(run_dir), Path(dest)
    missing = [f for f in RUN_FILES if not (run_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{run_dir} lacks {missing}: the run is not finished and evaluated")
    name = name or run_dir.name
    config = Run(run_dir).stored_config()
    typed = RunConfig.from_json(config)
    history = runs.load_history(run_dir)
    state = provenance.git_state()
    config[RECORD_KEY] = {
        "digest": run_digest(typed, data_digest),
        "training_revision": runs.TRAINING_REVISION,
        "training_data": data_digest,
        "precision": typed.precision,
        "commit": commit or state[0],
        "dirty": state[1] if commit is None else None,
        "machine": machine or provenance.device_description(),
        "date": date or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_s": round(sum(float(h.get("time_s", 0.0)) for h in history), 1),
        "wall_s": None if wall_s is None else round(float(wall_s), 1),
        "epochs": len(history),
    }
    tmp = dest / RUNS / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in (runs.METRICS, runs.EVALUATION):
        shutil.copy2(run_dir / f, tmp / f)
    for f in (runs.FRAME_SUMS, runs.PREDICTIONS):
        _copy_arrays(run_dir, tmp, f)
    atomic_write(tmp / runs.CONFIG, json.dumps(config, indent=2) + "\n")
    run_hashes.write_sums(tmp, RUN_FILES)
    final = dest / RUNS / name
    old = dest / RUNS / f".{name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return RecordedRun(name, final, config)


def rehash(dest: str | os.PathLike) -> tuple[list[str], list[Altered]]:
    """Hash once the runs of the store ``dest`` recorded before :data:`dark.record.run_hashes.SUMS`
    existed (``python -m dark record --rehash``): each run without one whose ``config.json`` still is what
    its digest stands for gets its ``SHA256SUMS``; the runs hashed already are verified, never rewritten.

    Returns:
        ``(hashed, altered)``: the names of the runs hashed now, and the runs that are not what was recorded
        (left without hashes, or with theirs).
    """
    hashed, altered = [], []
    for name, run in recorded_runs(dest).items():
        if (run.path / SUMS).is_file():
            found = run.verify()
        else:
            problem = run_hashes.digest_problem(run.config)
            found = Altered(name, (runs.CONFIG,), problem) if problem else None
            if found is None:
                run_hashes.write_sums(run.path, [f for f in RUN_FILES if (run.path / f).is_file()])
                hashed.append(name)
        if found is not None:
            altered.append(found)
    return hashed, altered


def unhashed(dest: str | os.PathLike) -> list[str]:
    """The runs of the store ``dest`` without ``SHA256SUMS`` (recorded before it) that :func:`rehash` would
    hash (their ``config.json`` is what their digest stands for; the others are altered)."""
    return [name for name, run in recorded_runs(dest).items()
            if not (run.path / SUMS).is_file() and run_hashes.digest_problem(run.config) is None]  # fmt: skip


def holds(dest: str | os.PathLike, run_dir: str | os.PathLike, data_digest: str) -> bool:
    """Whether the store ``dest`` holds the finished run ``run_dir`` already: a run of its name with the
    digest of its settings on ``data_digest``, the same ``evaluation.json``, and its files as recorded."""
    run_dir = Path(run_dir)
    held = recorded_runs(dest).get(run_dir.name)
    if (
        held is None
        or held.verify() is not None
        or held.digest != run_digest(Run(run_dir).config(), data_digest)
    ):
        return False
    return Run(held.path).evaluation() == Run(run_dir).evaluation()


def training_config(profile: str, training: profiles.Training, precision: str) -> RunConfig:
    """The settings ``training`` of ``profile`` has when trained now: its cell's options (batch size, input
    scale, precision) where they are set, the recipe's elsewhere, with the resolved ``precision`` (``"fp32"``
    or ``"bf16"``) for a cell that sets none."""
    t = training
    return RunConfig.resolve(t.model, t.encoding, profile, seed=t.seed, batch_size=t.batch_size,
                             input_scale=t.input_scale, precision=t.precision or precision)  # fmt: skip


def expected_digests(
    profile: str, data_digest: str, precision: str
) -> dict[str, tuple[profiles.Training, str]]:
    """The profile's trainings by run name, each with the digest it has when trained now at the resolved
    ``precision`` (``"fp32"`` or ``"bf16"``; a cell's own precision replaces it) on the data of
    ``data_digest``."""
    out = {}
    for t in profiles.get(profile).runs():
        out[t.name] = (t, run_digest(training_config(profile, t, precision), data_digest))
    return out


@dataclass
class Match:
    """What a store holds of a profile (:func:`match`).

    Attributes:
        precision: the resolved precision the profile's trainings use (the record's, see :func:`match`).
        matched: run name -> recorded folder, for the trainings recorded with the digest they have now.
        missing: the trainings to train, in the profile's order.
        stale: ``{"run", "digest", "expected", "reason"}`` of recorded runs of the profile's names whose
            digest differs (never analysed; replaced when retrained).
        altered: ``{"run", "files", "reason"}`` of recorded runs of the profile's names whose files are not
            what was recorded (:func:`dark.record.run_hashes.verify`; never analysed; retrained).
        extra: recorded runs that are no training of the profile (kept, not analysed).
        data_digest: the training data's digest the runs were matched against (and new ones are recorded
            with); data_fingerprint: the data's fingerprint
            (:func:`dark.experiment.run_digest.training_data_fingerprint`), when the build computed it.
    """

    precision: str
    matched: dict[str, Path] = field(default_factory=dict)
    missing: list[profiles.Training] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    altered: list[dict[str, Any]] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    data_digest: str | None = None
    data_fingerprint: str | None = None

    def lines(self) -> list[str]:
        """The build log's account: reused, to train, stale (each with its reason), altered (each with its
        files), extra."""
        out = [
            f"record: {len(self.matched)} of {len(self.matched) + len(self.missing)} trainings recorded "
            f"with matching digests ({self.precision}); {len(self.missing)} to train"
        ]
        out += [f"record: STALE {s['run']}: {s['reason']} (not analysed; retrained)" for s in self.stale]
        out += [f"record: ALTERED {Altered(**a).line()} (not analysed; retrained)" for a in self.altered]
        out += [f"record: {n} is no training of this profile (kept, not analysed)" for n in self.extra]
        return out


def _why(recorded: RecordedRun, expected_config: RunConfig, data_digest: str) -> str:
    """A short reason why a recorded run's digest differs from the expected one."""
    rec = recorded.record
    if not rec:
        return "recorded without a digest (an older record)"
    if rec.get("training_revision") != runs.TRAINING_REVISION:
        return f"training revision {rec.get('training_revision')} (now {runs.TRAINING_REVISION})"
    if rec.get("training_data") != data_digest:
        return "trained on other training data"
    now = expected_config.to_json()
    then = {k: v for k, v in recorded.config.items() if k in now and k != "profile"}
    changed = sorted(k for k, v in then.items() if json.dumps(v) != json.dumps(now[k]))
    return f"settings changed: {', '.join(changed)}" if changed else "settings changed"


def own_precision(profile: str) -> str:
    """The resolved precision (``"fp32"`` or ``"bf16"``) of ``profile``'s recipe on this machine (``"auto"``
    resolved for its CPU or GPU): what a build without a record trains in, and what a build with an empty
    record trains in, so that the two give a training step the same parameters (and hash)."""
    return resolve_precision("auto", profiles.get(profile).recipe.precision)


def match(dest: str | os.PathLike, profile: str, data_digest: str, *, precision: str | None = None) -> Match:
    """Which of ``profile``'s trainings the store ``dest`` holds with matching digests.

    ``precision``: the resolved precision (default: the recipe's, with ``"auto"`` resolved for this
    machine's CPU or GPU). When the recipe says ``"auto"`` and the store's matching runs have one
    precision, that precision is kept (a record never mixes bf16 and fp32 runs, so a machine of the
    other kind trains the missing runs in the record's precision); with none recorded, this machine's.
    A cell that sets its own precision (e.g. the cpu profile's fp32 cells, named ``...-fp32-s<seed>``) is
    trained and matched in that precision whatever the record's. A recorded run that is altered
    (:meth:`RecordedRun.verify`) is never matched: it is listed in :attr:`Match.altered` and trained again.

    Raises:
        ValueError: the store has runs never hashed (recorded before ``SHA256SUMS``): :func:`rehash` them.
    """
    never = unhashed(dest)
    if never:
        raise ValueError(f"{dest}: {len(never)} recorded run(s) never hashed ({', '.join(never)}): hash them "
                         f"once with `{run_hashes.REHASH} {dest}`")  # fmt: skip
    recipe = profiles.get(profile).recipe.precision
    own = precision or own_precision(profile)
    stored = recorded_runs(dest)
    altered = {n: run.verify() for n, run in stored.items()}
    options = [own] if precision or recipe != "auto" else [own, *({"fp32", "bf16"} - {own})]
    by_precision = {p: expected_digests(profile, data_digest, p) for p in options}
    counts = {p: sum(stored.get(n) is not None and stored[n].digest == d and altered[n] is None
                     for n, (_, d) in e.items()) for p, e in by_precision.items()}  # fmt: skip
    chosen = max(options, key=lambda p: (counts[p], p == own))
    result = Match(precision=chosen, data_digest=data_digest)
    for name, (training, digest) in by_precision[chosen].items():
        run = stored.get(name)
        if altered.get(name) is not None:  # never reused, whatever its digest says
            result.missing.append(training)
            result.altered.append(altered[name].as_json())
            continue
        if run is not None and run.digest == digest:
            result.matched[name] = run.path
            continue
        result.missing.append(training)
        if run is not None:
            reason = _why(run, training_config(profile, training, chosen), data_digest)
            result.stale.append({"run": name, "digest": run.digest, "expected": digest, "reason": reason})
    result.extra = sorted(set(stored) - set(by_precision[chosen]))
    return result
