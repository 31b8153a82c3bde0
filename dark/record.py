"""A recorded run: what one build of a longer profile produced, kept in the repository.

``dark book --profile cpu`` (or ``full`` on a GPU) ends by writing ``results/<name>/`` (:func:`write`);
the default book renders it in its own chapter (``book/pages/recorded.md``), so a reader of the quick
book sees the strongest evidence the project has. A record is written by the pipeline, never by hand::

    results/cpu/
      record.json             schema, profile, the command that regenerates it, provenance (commit,
                              dirty tree, date, CPU/GPU, versions), wall time and commit per step,
                              the run names
      runs/<run>/config.json, metrics.jsonl, evaluation.json, frame_sums.npz   (per training)
      results/                what dark.report.save wrote for the profile (tables, verdicts)

No checkpoints and no heatmap caches: a record is small enough to commit (about 0.1-0.2 MB a run).
:func:`check` lists what is missing or malformed in a record; :func:`load` reads one.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from dark import profiles
from dark import runs as run_files
from dark.files import atomic_write

#: bump when the layout below changes
SCHEMA = 1
RECORD = "record.json"
#: the files of each run that a record keeps
RUN_FILES = (run_files.CONFIG, run_files.METRICS, run_files.EVALUATION, run_files.FRAME_SUMS)
#: keys every record.json has
KEYS = ("schema", "profile", "command", "created", "provenance", "steps", "runs", "wall_time_s")


def folder(root: str | Path, profile: str) -> Path | None:
    """Where ``dark book --profile <profile>`` records its run in the repository ``root``:
    ``root/results/<recorded>`` (:attr:`dark.profiles.Profile.recorded`); ``None`` for a profile that is
    not recorded.

    >>> folder("/repo", "full").as_posix(), folder("/repo", "quick")
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


def write(plan: Any, out_dir: str | Path, dest: str | Path, *, cwd: str | Path) -> Path:
    """Copy the run's summaries into ``dest`` and write ``record.json``; return ``dest``.

    Args:
        plan: the :class:`dark.plan.Plan` that was executed (its ``run_dirs`` and ``results``).
        out_dir: the folder of its executed notebooks (``.stamps`` with each step's wall time).
        dest: the record's folder (replaced as a whole).
        cwd: the folder the plan's relative paths are relative to (the work folder).
    """
    from dark.provenance import collect

    cwd, out_dir, dest = Path(cwd), Path(out_dir), Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    names = []
    for rel in plan.variables["run_dirs"]:
        run = cwd / rel
        names.append(run.name)
        for name in RUN_FILES:
            if not (run / name).is_file():
                raise FileNotFoundError(f"{run / name} is missing: the {plan.profile} run is not finished")
            (tmp / "runs" / run.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(run / name, tmp / "runs" / run.name / name)
    results = Path(plan.variables["results"])
    if results.is_dir():
        # the sample browser's state (heatmap crops) is the build's, not evidence
        shutil.copytree(
            results, tmp / "results", ignore=shutil.ignore_patterns("*.pt", "*.npy", "sample_browser.json")
        )
    ids = [s.id for s in plan.steps]
    steps = {
        k: None if v is None else float(v)
        for k, v in _from_steps(out_dir / ".stamps", ids, "seconds").items()
    }
    data = next((s.parameters.get("data") for s in plan.steps if s.parameters.get("data")), None)
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
    }
    atomic_write(tmp / RECORD, json.dumps(record, indent=1, default=str) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def check(dest: str | Path) -> list[str]:
    """Everything wrong with the record in ``dest`` (empty when it matches the schema)."""
    dest = Path(dest)
    try:
        record = json.loads((dest / RECORD).read_text())
    except (OSError, ValueError) as err:
        return [f"{dest / RECORD}: {err}"]
    problems = [f"record.json has no {k!r}" for k in KEYS if k not in record]
    if record.get("schema") != SCHEMA:
        problems.append(f"schema {record.get('schema')!r}, expected {SCHEMA}")
    if not record.get("runs"):
        problems.append("no runs")
    for name in record.get("runs", []):
        for f in RUN_FILES:
            if not (dest / "runs" / name / f).is_file():
                problems.append(f"runs/{name}/{f} is missing")
    for key in ("commit", "date", "device"):
        if key not in (record.get("provenance") or {}):
            problems.append(f"provenance has no {key!r}")
    return problems


def load(dest: str | Path) -> dict[str, Any] | None:
    """``record.json`` of ``dest`` plus ``"run_dirs"`` (absolute paths), or None when there is no record.

    Raises:
        ValueError: a record that exists but does not match the schema (names every problem).
    """
    dest = Path(dest)
    if not (dest / RECORD).is_file():
        return None
    problems = check(dest)
    if problems:
        raise ValueError(f"{dest}: " + "; ".join(problems))
    record = json.loads((dest / RECORD).read_text())
    record["run_dirs"] = [str(dest / "runs" / name) for name in record["runs"]]
    record["results_dir"] = str(dest / "results")
    return record


def describe(rec: dict[str, Any]) -> str:
    """One Markdown paragraph: which profile, when, at which commit, on what, how long, how to redo it."""
    p = rec["provenance"]
    commit = str(p.get("commit", "unknown"))[:12] + (
        " (uncommitted changes)" if p.get("dirty") is True else ""
    )
    versions = ", ".join(f"{k} {v}" for k, v in (p.get("versions") or {}).items())
    minutes = rec["wall_time_s"] / 60
    by_commit: dict[str, int] = {}
    for c in (rec.get("step_commits") or {}).values():
        if c:
            by_commit[str(c)[:12]] = by_commit.get(str(c)[:12], 0) + 1
    executed = (
        " Its steps were executed at commits "
        + ", ".join(f"`{c}` ({n} steps)" for c, n in by_commit.items())
        + "."
        if len(by_commit) > 1
        else ""
    )
    return (
        f"Recorded run of the **{rec['profile']} profile**: {len(rec['runs'])} trainings, recorded "
        f"{p.get('date', rec['created'])} at commit `{commit}` on {p.get('device', 'an unknown device')} "
        f"({versions}); {minutes:.0f} minutes for every step of the pipeline. "
        f"Regenerate it with `{rec['command']}` (it rewrites this record).{executed}"
    )


def step_table(rec: dict[str, Any]):
    """Wall time of every step of the recorded run: a DataFrame ``step, minutes`` (``None``: not timed)."""
    import pandas as pd

    rows = [(k, None if v is None else round(v / 60, 1)) for k, v in rec["steps"].items()]
    return pd.DataFrame(rows, columns=["step", "minutes"]).set_index("step")
