"""The executor of the book's plan: run each step's notebook with papermill unless it is up to date.

For each step of a :class:`dark.book.plan.Plan`, in dependency order:

1. its hash (notebook source + parameters + the hashes of the steps it needs,
:func:`dark.book.plan.step_hash`)
   is compared with the stamp written after its last success; equal hash, executed notebook and declared
   outputs present -> skipped;
2. otherwise the jupytext source is executed by papermill into ``<id>.running.ipynb``, renamed to
   ``<id>.ipynb`` on success and stamped (``.stamps/<id>.json``, written atomically). A failure stops
   the plan, names the notebook, the cell and the error (:class:`StepFailed`), and keeps
   ``<id>.failed.ipynb`` for inspection; earlier successes and their stamps stay as they are, so the
   next run resumes.

Every executed notebook gets a first and a last cell of provenance
(:func:`dark.provenance.footer_cells`).
An ``after`` hook sees every step that is done, executed or up to date (the pipeline records each
training there, :mod:`dark.book.pipeline_record`).
The book around the executed notebooks is :mod:`dark.book.pipeline`'s.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from dark.book.plan import Plan, Step, step_hash
from dark.files import atomic_write
from dark.provenance import footer_cells

#: the Jupyter kernel every notebook runs in
KERNEL = "python3"


class StepFailed(RuntimeError):
    """A notebook raised: carries the step, the cell and the error, and where the partial notebook is."""

    def __init__(self, step: Step, index: int, total: int, detail: str, partial: Path | None) -> None:
        self.step, self.detail, self.partial = step, detail, partial
        where = f"step {index}/{total} {step.id!r} failed ({step.notebook})"
        keep = f"\npartially executed notebook kept for inspection: {partial}" if partial else ""
        super().__init__(f"{where}\n{detail}{keep}")


@dataclass
class RunReport:
    """What :func:`execute_plan` did: ids executed and skipped, and seconds spent."""

    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def clock(seconds: float) -> str:
    """``seconds`` as ``h:mm:ss`` (the progress lines' elapsed time)."""
    seconds = round(seconds)
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def stamp_path(out_dir: Path, step_id: str) -> Path:
    """Where the stamp of a successful execution of ``step_id`` is written."""
    return Path(out_dir) / ".stamps" / f"{step_id}.json"


def attempt_path(out_dir: Path, step_id: str) -> Path:
    """Where the hash of the latest started (maybe unfinished) execution of ``step_id`` is written."""
    return Path(out_dir) / ".stamps" / f"{step_id}.attempt.json"


def _recorded_hashes(out_dir: Path, step_id: str) -> set[str]:
    found = set()
    for path in (stamp_path(out_dir, step_id), attempt_path(out_dir, step_id)):
        try:
            found.add(json.loads(path.read_text())["hash"])
        except (OSError, ValueError, KeyError):
            pass
    return found


def _clean_stale(step: Step, digest: str, out_dir: Path, *, force: bool, log: Callable[[str], None]) -> None:
    """Remove ``step.clean`` paths unless they belong to an interrupted execution with the same hash.

    An interrupted execution with the same inputs keeps its files (a training resumes from its last
    checkpoint); files made from other inputs (or of unknown origin, or with ``--force``) go.
    """
    if not force and digest in _recorded_hashes(out_dir, step.id):
        return
    for path in step.clean:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        log(f"removed {path} (made from other inputs)")


def is_up_to_date(step: Step, digest: str, out_dir: Path) -> bool:
    """True when the stamp holds ``digest`` and the executed notebook and declared outputs exist."""
    stamp = stamp_path(out_dir, step.id)
    try:
        recorded = json.loads(stamp.read_text()).get("hash")
    except (OSError, ValueError):
        return False
    if recorded != digest or not (Path(out_dir) / f"{step.id}.ipynb").is_file():
        return False
    return all(Path(p).exists() for p in step.outputs)


def _stamped_seconds(out_dir: Path, step_id: str) -> float | None:
    try:
        return float(json.loads(stamp_path(out_dir, step_id).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _describe_failure(err: BaseException) -> str:
    """One readable paragraph for a papermill failure: cell number, its first lines, the error."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        lines = (err.source or "").strip().splitlines()
        shown = "\n".join(f"    {line}" for line in lines[:6]) + ("\n    ..." if len(lines) > 6 else "")
        return (
            f"cell {err.cell_index} (execution count {err.exec_count}):\n{shown}\n{err.ename}: {err.evalue}"
        )
    return f"{type(err).__name__}: {err}"


def _relative_metadata(path: Path, step: Step, final: Path) -> None:
    """Papermill notes the input and output notebooks' absolute paths: keep only their names, so the
    downloadable notebook shows no folder of the building machine."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    meta["input_path"] = step.notebook.name
    meta["output_path"] = final.name
    nbformat.write(nb, path)


def _hide_parameters(path: Path) -> None:
    """Tag the parameters cells of an executed notebook ``remove-cell`` (pages written as prose)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def _titled(notebook, step: Step):
    """A step repeated per training (``for_each: run``) takes its step's title as the page's title (the
    first ``# `` heading), so each training page has a title of its own."""
    if not step.run or not step.title:
        return notebook
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            _, _, rest = cell.source.partition("\n")
            cell.source = f"# {step.title}\n{rest}"
            break
    return notebook


def _with_provenance(notebook, step: Step, out_dir: Path, cwd: Path):
    """``notebook`` with a first cell that notes the start time and a last one that shows and saves the
    page's provenance (:func:`dark.provenance.footer_cells`; both cells' code is hidden in the book)."""
    import nbformat

    first, last = footer_cells(
        profile=str(step.parameters.get("profile", "")),
        data=step.parameters.get("data"),
        # relative to the kernel's folder: the downloadable notebook shows no machine path
        out=os.path.relpath(Path(out_dir).resolve() / "provenance" / f"{step.id}.json", Path(cwd).resolve()),
    )
    tags = {"tags": ["remove-cell"]}
    notebook.cells.insert(0, nbformat.v4.new_code_cell(first, metadata=tags))
    notebook.cells.append(nbformat.v4.new_code_cell(last, metadata={"tags": ["remove-input"]}))
    return notebook


def execute_step(step: Step, out_dir: Path, *, cwd: Path, quiet: bool = False) -> Path:
    """Execute one step's notebook with papermill; return the executed ``<id>.ipynb``.

    Raises the papermill/kernel exception on failure, leaving ``<id>.failed.ipynb`` behind.
    """
    import jupytext
    import papermill

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    running = out_dir / f"{step.id}.running.ipynb"
    failed = out_dir / f"{step.id}.failed.ipynb"
    final = out_dir / f"{step.id}.ipynb"
    failed.unlink(missing_ok=True)
    notebook = _with_provenance(_titled(jupytext.read(step.notebook), step), step, out_dir, cwd)
    log = logging.getLogger("papermill")
    level = log.level
    if quiet:  # papermill's own warnings (unknown parameters, ...) are for interactive runs
        log.setLevel(logging.ERROR)
    try:
        papermill.execute_notebook(
            notebook,
            str(running),
            parameters=step.parameters,
            cwd=str(cwd),
            kernel_name=KERNEL,
            progress_bar=not quiet,
            log_output=False,
            # quiet: the kernel keeps its start-up warnings (transport, ...) to itself
            extra_arguments=["--IPKernelApp.log_level=ERROR"] if quiet else [],
        )
    except BaseException:
        if running.exists():
            os.replace(running, failed)
        raise
    finally:
        log.setLevel(level)
    _relative_metadata(running, step, final)
    if step.hide_parameters:
        _hide_parameters(running)
    with open(running, "rb") as f:
        os.fsync(f.fileno())
    os.replace(running, final)
    return final


def execute_plan(
    plan: Plan,
    out_dir: str | Path,
    *,
    cwd: str | Path,
    force: bool | Collection[str] = False,
    quiet: bool = False,
    log: Callable[[str], None] = print,
    execute: Callable[..., Path] = execute_step,
    after: Callable[[Step, float | None], None] | None = None,
) -> RunReport:
    """Run every step of ``plan`` that is not up to date, in order; stop at the first failure.

    Args:
        plan: from :func:`dark.book.plan.load_plan`.
        out_dir: receives ``<id>.ipynb`` and ``.stamps/`` (one folder per profile).
        cwd: working directory of the kernels.
        force: re-execute every step even when its stamp matches (or the steps whose ids it lists).
        quiet: no papermill progress bars (the one line per step is still logged).
        log: where progress lines go.
        execute: the executor (tests substitute one); signature of :func:`execute_step`.
        after: called with each step that is done (executed now, or up to date) and the seconds its
            execution took (``None`` where no stamp says); an exception stops the plan.

    Raises:
        StepFailed: naming the step, the notebook, the cell and the error.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    report = RunReport()
    hashes: dict[str, str] = {}
    total = len(plan.steps)
    for i, step in enumerate(plan.steps, 1):
        digest = step_hash(step, hashes)
        hashes[step.id] = digest
        head = f"[{i}/{total}] {step.id} ({step.notebook.name})"
        forced = force if isinstance(force, bool) else step.id in force
        if not forced and is_up_to_date(step, digest, out_dir):
            report.skipped.append(step.id)
            log(f"{head}: up to date, skipped  [elapsed {clock(time.monotonic() - start)}]")
            if after is not None:
                after(step, _stamped_seconds(out_dir, step.id))
            continue
        _clean_stale(step, digest, out_dir, force=forced, log=lambda m, h=head: log(f"{h}: {m}"))
        atomic_write(attempt_path(out_dir, step.id), json.dumps({"hash": digest}).encode())
        log(f"{head}: executing ...  [elapsed {clock(time.monotonic() - start)}]")
        t0 = time.monotonic()
        try:
            execute(step, out_dir, cwd=Path(cwd), quiet=quiet)
        except KeyboardInterrupt:
            raise
        except Exception as err:
            partial = out_dir / f"{step.id}.failed.ipynb"
            raise StepFailed(
                step, i, total, _describe_failure(err), partial if partial.exists() else None
            ) from err
        took = time.monotonic() - t0
        stamp = {
            "hash": digest,
            "seconds": round(took, 3),
            "notebook": str(step.notebook),
            "finished": time.time(),
        }
        atomic_write(stamp_path(out_dir, step.id), json.dumps(stamp, indent=1).encode())
        report.executed.append(step.id)
        log(f"{head}: done in {took:.1f} s  [elapsed {clock(time.monotonic() - start)}]")
        if after is not None:
            after(step, took)
    report.seconds = time.monotonic() - start
    return report
