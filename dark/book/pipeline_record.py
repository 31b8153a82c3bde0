"""``dark book`` on a recorded profile: reuse the record's runs, train only the missing ones, record each.

:func:`plan_with_record` executes the steps the trainings need (the data), digests the training data
(:func:`dark.experiment.run_digest.training_data_digest`, or takes the record's digest when the two renders
differ only in rounding: :func:`dark.record.record.effective_data_digest`), asks the record which of the
profile's trainings it holds with matching digests (:func:`dark.record.run_store.match`: the build log
lists them, and every stale run with its reason), and resolves the plan again without those trainings:
the analysis reads the recorded runs from the record and the new ones from the work folder.
:func:`recorder` is the executor's ``after`` hook that adds each training to the record as soon as its
step (training and evaluation, ``notebooks/03_train.md``) is done, so an interruption between trainings
loses nothing recorded.
:func:`first_trainings` cuts a plan to its first trainings (``dark book --max-trainings N``: grow a record by
N runs in a session that cannot fit them all). :func:`finish_record` writes the record after the plan, and
either saves the analysis of every recorded run (a build cut by ``--max-trainings``, whose pages did not run)
or renders the record's pages again with what was just recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from dark.book.executor import RunReport, execute_plan
from dark.book.plan import Plan, Step, load_plan, with_fresh_records
from dark.experiment.run_digest import training_data_digest, training_data_fingerprint
from dark.record import record as recording
from dark.record import run_store


def _needed(plan: Plan, steps: list[Step]) -> set[str]:
    """Ids of ``steps`` and every step they need, transitively."""
    by_id = {s.id: s for s in plan.steps}
    found: set[str] = set()
    todo = [s.id for s in steps]
    while todo:
        step_id = todo.pop()
        if step_id not in found:
            found.add(step_id)
            todo.extend(by_id[step_id].needs)
    return found


def plan_with_record(
    plan_file: Path,
    profile: str,
    record: Path,
    *,
    log: Callable[[str], None],
    **options: Any,
) -> tuple[Plan, run_store.Match | None, str | None, RunReport]:
    """The plan of ``profile`` without the trainings that ``record`` holds; what the record holds; the
    training data's digest; what was executed here (the steps the trainings need: the data).

    Args:
        plan_file: ``notebooks/pipeline.yml``.
        options: ``work``, ``root``, ``source``, ``executed`` for :func:`dark.book.plan.load_plan`, and
            ``out_dir``, ``force``, ``quiet``, ``execute`` for :func:`dark.book.executor.execute_plan`.
    """
    plan_options = {k: options[k] for k in ("work", "root", "source", "executed")}
    full = load_plan(plan_file, profile, **plan_options)
    trainings = [s for s in full.steps if s.run]
    if not trainings:
        return full, None, None, RunReport()
    before = _needed(full, trainings[:1]) - {trainings[0].id}
    first = replace(full, steps=tuple(s for s in full.steps if s.id in before))
    done = execute_plan(first, options["out_dir"], cwd=options["work"], force=options["force"],
                 quiet=options["quiet"], log=log, execute=options["execute"])  # fmt: skip
    data = Path(options["work"]) / trainings[0].parameters["data"]
    digest = training_data_digest(data)
    try:
        fingerprint = training_data_fingerprint(data)
    except (OSError, ValueError):  # shards it cannot read: the training says which, in one line
        fingerprint = None
    if fingerprint is not None:
        digest, same = recording.effective_data_digest(record, digest, fingerprint)
        if same:
            log(same)
    status = replace(run_store.match(record, profile, digest), data_fingerprint=fingerprint)
    for line in status.lines():
        log(line)
    plan = load_plan(plan_file, profile, recorded=status.matched, precision=status.precision, **plan_options)
    return plan, status, digest, done


def first_trainings(plan: Plan, n: int) -> Plan:
    """``plan`` cut to its first ``n`` trainings and the steps they need (nothing after them)."""
    keep = [s for s in plan.steps if s.run][: max(0, int(n))]
    needed = _needed(plan, keep)
    return replace(plan, steps=tuple(s for s in plan.steps if s.id in needed))


def recorder(
    record: Path, work: Path, data_digest: str, log: Callable[[str], None]
) -> Callable[[Step, float | None], None]:
    """The executor's ``after`` hook: a finished training step's run is added to ``record`` (unless the
    record holds it already, same digest and evaluation)."""

    def after(step: Step, seconds: float | None) -> None:
        if not step.run:
            return
        run_dir = Path(work) / step.parameters["out"]
        if run_store.holds(record, run_dir, data_digest):
            return
        run_store.add_run(record, run_dir, data_digest=data_digest, wall_s=seconds)
        log(f"record: {step.run} recorded in {record}")

    return after


def finish_record(
    plan: Plan,
    out_dir: Path,
    record: Path,
    *,
    work: Path,
    status: run_store.Match | None,
    partial: bool,
    log: Callable[[str], None],
    quiet: bool,
    execute: Callable[..., Path],
) -> list[str]:
    """Write ``record`` after ``plan`` was executed (:func:`dark.record.record.write`), then either save the
    analysis of every recorded run into it (``partial``: a build cut by ``--max-trainings``, whose pages did
    not run; :func:`dark.analysis.report.save_analysis`) or execute the pages that render the records again,
    now that the record holds this build's runs (:func:`dark.book.plan.with_fresh_records`: nothing else
    re-executes). Returns the ids of the steps executed again."""
    where = recording.write(plan, out_dir, record, cwd=work, status=status, partial=partial)
    log(f"record written to {where}")
    if partial:
        runs = recording.load(where)["run_dirs"]
        if runs:
            from dark.analysis import report  # the analysis needs pandas; the rest of the pipeline does not

            t0 = time.monotonic()
            saved = report.save_analysis(where, runs)
            log(f"record: analysis of its {len(runs)} runs saved in {saved} ({time.monotonic() - t0:.0f} s)")
        return []
    again = execute_plan(
        with_fresh_records(plan), out_dir, cwd=work, quiet=quiet, execute=execute,
        log=lambda line: "up to date, skipped" in line or log(line),
    )  # fmt: skip
    return again.executed
