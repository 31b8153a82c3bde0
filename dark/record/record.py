"""A record: a longer profile's finished runs and what its last build made of them, in the repository.

``dark book --profile cpu`` (or ``gpu`` on a GPU, through the GPU check) grows ``results/<name>/``:
each training is added to the record's store of runs (:mod:`dark.record.run_store`) as soon as it is
trained and evaluated, and a build reuses every recorded run whose digest matches, so the record grows across
sessions and machines. The build then writes ``record.json`` and the analysis (:func:`write`; a build that
trained part of the profile analyses the record's runs itself, :func:`dark.analysis.report.save_analysis`);
the default book renders the record in its own chapter (``book/pages/recorded.md``)::

    results/cpu/
      record.json             schema, profile, the command that grows it, the last build's provenance
                              (commit, date, machine, versions), wall time and commit per step, the runs
                              it analysed, the stale runs it did not (with the reason), the precision,
                              the training data's digest and fingerprint
      runs/<run>/config.json (settings + digest + the run's own provenance), metrics.jsonl,
                 evaluation.json, frame_sums.npz, predictions_test.npz              (per training)
                 SHA256SUMS: the sha256 of each of those files, written when the run was recorded
      results/                what dark.analysis.report.save wrote for the profile (tables, verdicts)

No checkpoints and no heatmap caches: about 1.5 MB a run. :func:`check` lists what is missing or
malformed; :func:`load` reads a record and verifies every run it lists
(:func:`dark.record.run_hashes.verify`: its files against ``SHA256SUMS``, its digest recomputed from its
``config.json``): a run that is not what was recorded is *altered*, named with its files (a warning,
``"altered"``, :func:`describe`) and left out of ``"runs"`` and ``"run_dirs"``, so nothing analyses it; a
run never hashed makes the record fail to load until ``python -m dark record --rehash`` hashes it once
(:mod:`dark.record.record_cli`). :func:`runs_table` is the history of its runs (which commit and machine
produced each, when, how long). A record of schema 1 (before the store: four files a run, no digests) still
loads; :func:`superseded` finds records kept beside the one that replaced them.
:func:`effective_data_digest` lets a machine whose render of the training data differs from the record's only
in the last bits of its floating-point values (another BLAS kernel) reuse the record's runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

from dark.design import profiles
from dark.experiment.run_digest import training_data_digest
from dark.experiment.runs import Run
from dark.files import atomic_write
from dark.provenance import collect
from dark.record import run_hashes
from dark.record.run_store import RUN_FILES, RUNS, Match, add_run, holds, recorded_runs

#: bump when the layout below changes (1: before the store of runs)
SCHEMA = 2
RECORD = "record.json"
#: the files of each run, per schema
SCHEMA_RUN_FILES = {1: RUN_FILES[:4], 2: RUN_FILES}
#: keys every record.json has
KEYS = ("schema", "profile", "command", "created", "provenance", "steps", "runs", "wall_time_s")


def folder(root: str | Path, profile: str) -> Path | None:
    """Where ``dark book --profile <profile>`` records its run in the repository ``root``:
    ``root/results/<recorded>`` (:attr:`dark.design.profiles.Profile.recorded`); ``None`` for a profile
    that is not recorded.

    >>> folder("/repo", "gpu").as_posix(), folder("/repo", "quick")
    ('/repo/results/gpu', None)
    """
    name = profiles.get(profile).recorded
    return Path(root) / "results" / name if name else None


def _from_steps(folder: Path, step_ids: list[str], key: str) -> dict[str, Any]:
    """``key`` of each step's JSON in ``folder`` (``None`` where a step has none): the pipeline's stamps
    (``.stamps``, ``"seconds"``) or the pages' provenance (``provenance``, ``"commit"``)."""
    found: dict[str, Any] = {}
    for step_id in step_ids:
        try:
            found[step_id] = json.loads((folder / f"{step_id}.json").read_text())[key]
        except (OSError, ValueError, KeyError):
            found[step_id] = None
    return found


def write(
    plan: Any,
    out_dir: str | Path,
    dest: str | Path,
    *,
    cwd: str | Path,
    status: Match | None = None,
    partial: bool = False,
) -> Path:
    """Write ``record.json`` and the analysis into the record ``dest``; return ``dest``.

    The runs are in the store already (the pipeline adds each as it finishes); a run of the plan that is
    not (a caller without the pipeline's hook) is added here, from the work folder. The recorded runs stay.

    Args:
        plan: the :class:`dark.book.plan.Plan` that was executed (its ``run_dirs`` and ``results``).
        out_dir: the folder of its executed notebooks (``.stamps`` with each step's wall time).
        dest: the record's folder.
        cwd: the folder the plan's relative paths are relative to (the work folder).
        status: what the build found in the store (:func:`dark.record.run_store.match`): its stale,
            altered and extra runs and the precision are written down.
        partial: the build trained part of the profile (``--max-trainings``): runs not trained yet are
            left out instead of refused, and no analysis is copied (the work folder's ``results`` are not
            of these runs; the record's former analysis is removed:
            :func:`dark.analysis.report.save_analysis` writes its own).

    Raises:
        FileNotFoundError: a run of the plan is neither recorded nor finished (unless ``partial``).
    """
    cwd, out_dir, dest = Path(cwd), Path(out_dir), Path(dest)
    data = next((s.parameters.get("data") for s in plan.steps if s.parameters.get("data")), None)
    names, digest = [], None
    for rel in plan.variables["run_dirs"]:
        run = (cwd / rel).resolve()
        if run.parent != (dest / RUNS).resolve():
            if partial and not all((run / f).is_file() for f in RUN_FILES):
                continue
            if not all((run / f).is_file() for f in RUN_FILES):
                raise FileNotFoundError(f"{run} is missing files: the {plan.profile} run is not finished")
            digest = digest or (status and status.data_digest) or training_data_digest(cwd / data)
            if not holds(dest, run, digest):  # the pipeline recorded it as it finished
                add_run(dest, run, data_digest=digest)
        names.append(run.name)
    results = Path(plan.variables["results"])
    if partial:  # no analysis ran; the record's former one no longer covers its runs (report.save_analysis)
        shutil.rmtree(dest / "results", ignore_errors=True)
    elif results.is_dir():
        shutil.rmtree(dest / "results", ignore_errors=True)
        # the sample browser's state (heatmap crops) is the build's, not evidence
        shutil.copytree(
            results, dest / "results", ignore=shutil.ignore_patterns("*.pt", "*.npy", "sample_browser.json")
        )
    ids = [s.id for s in plan.steps]
    steps = {
        k: None if v is None else float(v)
        for k, v in _from_steps(out_dir / ".stamps", ids, "seconds").items()
    }
    record = {
        "schema": SCHEMA,
        "profile": plan.profile,
        "command": f"dark book --profile {plan.profile}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": {
            **collect(profile=plan.profile, data=str(cwd / data) if data else None, started=None),
            "data": data,  # relative to the work folder: no machine path in the repository
        },
        "steps": steps,
        "step_commits": _from_steps(out_dir / "provenance", ids, "commit"),
        "wall_time_s": round(sum(t for t in steps.values() if t is not None), 1),
        "runs": names,
        "precision": status.precision if status else None,
        "trained": [s.run for s in plan.steps if getattr(s, "run", "")],
        "stale": list(status.stale) if status else [],
        "altered": list(status.altered) if status else [],
        "extra": list(status.extra) if status else [],
    }
    if status and status.data_digest and status.data_fingerprint:  # what the runs trained on
        record["training_data"] = {"digest": status.data_digest, "fingerprint": status.data_fingerprint}
    atomic_write(dest / RECORD, json.dumps(record, indent=1, default=str) + "\n")
    return dest


#: the keys of record.json that the pages rendering a record show (not the build's timestamps)
SHOWN_KEYS = ("schema", "profile", "runs", "stale", "altered", "precision", "superseded_by")


def shown_digest(folders: list[str | Path]) -> str:
    """A digest of what the pages rendering the records in ``folders`` show: each record's runs, stale and
    altered runs, precision and supersession (:data:`SHOWN_KEYS`), the runs found altered now
    (:func:`altered`) and its saved verdicts; ``"none"`` for a folder without a record. A parameter of those
    pages in the plan, so that a record that grew (a pull, a build that recorded runs) renders again, and one
    rewritten with the same runs does not."""
    h = hashlib.sha256()
    for folder in map(Path, folders):
        try:
            rec = json.loads((folder / RECORD).read_text())
            now = [a.run for a in altered(folder, rec)]
            shown = json.dumps(
                {**{k: rec.get(k) for k in SHOWN_KEYS}, "now": now}, sort_keys=True, default=str
            )
        except (OSError, ValueError):
            shown = "none"
        verdicts = folder / "results" / "verdicts.json"
        h.update(f"{folder.name}\0{shown}\0".encode())
        h.update(verdicts.read_bytes() if verdicts.is_file() else b"no verdicts")
    return h.hexdigest()[:16]


def check(dest: str | Path) -> list[str]:
    """Everything wrong with the record in ``dest`` (empty when it matches its schema)."""
    dest = Path(dest)
    try:
        record = json.loads((dest / RECORD).read_text())
    except (OSError, ValueError) as err:
        return [f"{dest / RECORD}: {err}"]
    problems = [f"record.json has no {k!r}" for k in KEYS if k not in record]
    schema = record.get("schema")
    if schema not in SCHEMA_RUN_FILES:
        problems.append(f"schema {schema!r}, expected one of {sorted(SCHEMA_RUN_FILES)}")
    if not record.get("runs"):
        problems.append("no runs")
    stored = recorded_runs(dest)
    for name in record.get("runs", []):
        for f in SCHEMA_RUN_FILES.get(schema, RUN_FILES):
            if not (dest / RUNS / name / f).is_file():
                problems.append(f"runs/{name}/{f} is missing")
        if schema == SCHEMA and name in stored and not stored[name].digest:
            problems.append(f"runs/{name}/config.json has no digest")
        if name in stored and not (dest / RUNS / name / run_hashes.SUMS).is_file() and \
                run_hashes.digest_problem(stored[name].config) is None:  # fmt: skip
            problems.append(f"runs/{name}/{run_hashes.SUMS} is missing: hash the record's runs once with "
                            f"`{run_hashes.REHASH} {dest}`")  # fmt: skip
    for key in ("commit", "date", "device"):
        if key not in (record.get("provenance") or {}):
            problems.append(f"provenance has no {key!r}")
    return problems


def altered(dest: str | Path, rec: dict[str, Any]) -> list[run_hashes.Altered]:
    """The runs ``rec`` (the record's ``record.json``) lists that are not what was recorded, each with the
    files that differ (:func:`dark.record.run_hashes.verify`), in the record's order."""
    files = SCHEMA_RUN_FILES.get(rec.get("schema"), RUN_FILES)
    found = (run_hashes.verify(Path(dest) / RUNS / name, files) for name in rec.get("runs", []))
    return [a for a in found if a is not None]


def effective_data_digest(dest: str | Path, digest: str, fingerprint: str) -> tuple[str, str | None]:
    """The training data's digest to match the runs of the record ``dest`` against, and a line for the build
    log when it is not ``digest``.

    ``digest`` and ``fingerprint``: :func:`~dark.experiment.run_digest.training_data_digest` and
    :func:`~dark.experiment.run_digest.training_data_fingerprint` of the data on this machine. When the
    record's data (``record.json``'s ``training_data``) have another digest but the same fingerprint, the
    two renders differ only in the last bits of their floating-point values (another BLAS kernel): the
    record's digest is returned, so its runs count as trained on these data and new runs are recorded with
    it. Otherwise ``digest``.
    """
    try:
        theirs = json.loads((Path(dest) / RECORD).read_text()).get("training_data") or {}
    except (OSError, ValueError):
        return digest, None
    if not theirs.get("digest") or theirs["digest"] == digest or theirs.get("fingerprint") != fingerprint:
        return digest, None
    return theirs["digest"], (
        f"record: the training data here (digest {digest[:12]}) equal the record's "
        f"({theirs['digest'][:12]}) up to the last bits of their floating-point values (same "
        "fingerprint: joints and head sizes within 1e-3 px, everything else identical; another BLAS "
        "kernel): the record's runs count as trained on them"
    )


def load(dest: str | Path) -> dict[str, Any] | None:
    """``record.json`` of ``dest`` plus ``"run_dirs"`` (absolute paths of the runs it analysed),
    ``"results_dir"`` and ``"folder"``; None when there is no record.

    Every listed run is verified (:func:`altered`): an altered run is left out of ``"runs"`` and
    ``"run_dirs"``, added to ``"altered"`` (``{"run", "files", "reason"}``, after those the last build
    found) and named in a warning, so that no analysis reads it.

    Raises:
        ValueError: a record that exists but does not match its schema (names every problem), or with runs
            never hashed (``python -m dark record --rehash`` hashes them once).
    """
    dest = Path(dest)
    if not (dest / RECORD).is_file():
        return None
    problems = check(dest)
    if problems:
        raise ValueError(f"{dest}: " + "; ".join(problems))
    record = json.loads((dest / RECORD).read_text())
    found = altered(dest, record)
    if found:
        lines = "; ".join(a.line() for a in found)
        warnings.warn(f"{dest}: {len(found)} altered run(s) left out of the analysis: {lines}", stacklevel=2)
    left_out = {a.run for a in found}
    record["runs"] = [name for name in record["runs"] if name not in left_out]
    record["altered"] = list(record.get("altered") or []) + [a.as_json() for a in found]
    record["run_dirs"] = [str(dest / RUNS / name) for name in record["runs"]]
    record["results_dir"] = str(dest / "results")
    record["folder"] = str(dest)
    return record


def superseded(root: str | Path) -> list[Path]:
    """Records under ``root/results`` kept beside the record that replaced them (their ``record.json``
    has ``"superseded_by"``, the replacing record's folder name, and ``"superseded_because"``)."""
    found = []
    for path in sorted(Path(root, "results").glob("*/" + RECORD)):
        if json.loads(path.read_text()).get("superseded_by"):
            found.append(path.parent)
    return found


def describe(rec: dict[str, Any]) -> str:
    """One Markdown paragraph: which profile, how many runs (of how many the profile plans) from how many
    commits and machines, the last build (when, at which commit, on what, how long), how to grow it; stale
    runs and supersession."""
    p = rec["provenance"]
    commit = str(p.get("commit", "unknown"))[:12] + (
        " (uncommitted changes)" if p.get("dirty") is True else ""
    )
    versions = ", ".join(f"{k} {v}" for k, v in (p.get("versions") or {}).items())
    minutes = rec["wall_time_s"] / 60
    machine = p.get("device", "an unknown machine")
    table = runs_table(rec)
    history = (
        f" Its runs were trained at {table['commit'].nunique()} commit(s) on "
        f"{table['machine'].nunique()} machine(s) ({', '.join(sorted(set(table['machine'])))}), in "
        f"{', '.join(sorted(set(table['precision'])))}."
        if rec.get("schema", 1) >= 2 and len(table)
        else ""
    )
    stale = (
        f" {len(rec['stale'])} recorded run(s) no longer match the profile and are left out: "
        + "; ".join(f"{s['run']} ({s['reason']})" for s in rec["stale"])
        + "."
        if rec.get("stale")
        else ""
    )
    if rec.get("altered"):
        stale += (
            f" {len(rec['altered'])} recorded run(s) are no longer what was recorded and are left out: "
            + "; ".join(run_hashes.Altered(**a).line() for a in rec["altered"])
            + "."
        )
    grow = f"Grow or regenerate it with `{rec['command']}` (recorded runs whose digest matches are reused)."
    if rec.get("superseded_by"):
        grow = (
            f"**Superseded** by the record `results/{rec['superseded_by']}` (which `{rec['command']}` now "
            f"grows): {rec.get('superseded_because', '')}"
        )
    row = profiles.PROFILES.get(rec["profile"])
    planned = [t.name for t in row.runs()] if row else []
    left = [n for n in planned if n not in rec["runs"]]
    count = f"{len(rec['runs'])} trainings"
    if left and not rec.get("superseded_by"):
        count += (
            f"; the profile plans {len(planned)}, {len(left)} of them not trained yet (`{rec['command']} "
            "--max-trainings N` adds the next N, in the profile's order)"
        )
    return (
        f"Recorded run of the **{rec['profile']} profile**: {count}.{history} Last "
        f"build {p.get('date', rec['created'])} at commit `{commit}` on {machine} "
        f"({versions}); {minutes:.0f} minutes for the steps it executed. "
        f"{grow}{stale}"
    )


def runs_table(rec: dict[str, Any]):
    """The history of a record's runs: a DataFrame indexed by run with ``model, encoding, seed,
    batch_size, precision, commit`` (12 hex digits), ``machine, threads`` (torch's CPU threads, ``None`` where
    the run predates recording them), ``date, train_min`` (the epochs' training
    time) and ``wall_min`` (training and evaluation, where the build timed it); ``None`` where a record
    of schema 1 does not say (its runs carry no provenance of their own: the record's is theirs)."""
    import pandas as pd  # pandas is the book's; the pipeline needs none of it

    rows = []
    for path in map(Path, rec["run_dirs"]):
        run = Run(path)
        config, own = run.config_json(), run.record()
        prov = rec["provenance"] if not own else {}
        rows.append(
            {
                "run": path.name,
                "model": config.get("model"),
                "encoding": config.get("encoding"),
                "seed": config.get("seed"),
                "batch_size": config.get("batch_size"),
                "precision": own.get("precision") or config.get("precision"),
                "commit": str(own.get("commit") or prov.get("commit") or "unknown")[:12],
                "machine": own.get("machine") or prov.get("device"),
                "threads": config.get("threads"),
                "date": own.get("date") or prov.get("date"),
                "train_min": round(own["train_s"] / 60, 1) if own.get("train_s") is not None else None,
                "wall_min": round(own["wall_s"] / 60, 1) if own.get("wall_s") is not None else None,
            }
        )
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).astype({"threads": "Int64"}).set_index("run")  # None where not recorded


def step_table(rec: dict[str, Any]):
    """Wall time of every step of the recorded run: a DataFrame ``step, minutes`` (``None``: not timed)."""
    import pandas as pd

    rows = [(k, None if v is None else round(v / 60, 1)) for k, v in rec["steps"].items()]
    return pd.DataFrame(rows, columns=["step", "minutes"]).set_index("step")
