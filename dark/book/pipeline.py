"""``dark book``: execute the book's notebooks with papermill, then build the HTML with Jupyter Book.

The plan (which notebook, which parameters, per profile) is ``notebooks/pipeline.yml``, read by
:mod:`dark.book.plan` and executed step by step by :mod:`dark.book.executor` (up-to-date steps are skipped; a
failure names the notebook and the cell and keeps the partial notebook).

Executed notebooks live in ``book/executed/<profile>/``; the build copies the requested profile's
notebooks to ``book/executed/`` (the paths in ``book/_toc.yml``), copies the widget and MathJax
JavaScript from ``node_modules`` into ``book/_widgets`` (:mod:`dark.book.book_assets`) and runs
``jupyter-book build``. The book is rebuilt only when one of its inputs changed. A recorded profile
(:attr:`dark.design.profiles.Profile.recorded`) ends by writing its record (:mod:`dark.record.record`).

``run_book``'s result and failure (:class:`dark.book.executor.RunReport`,
:class:`dark.book.executor.StepFailed`) are importable from here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dark.book.book_assets import prepare_assets, sync_file
from dark.book.executor import RunReport, StepFailed, clock, execute_plan, execute_step
from dark.book.pipeline_record import finish_record, first_trainings, plan_with_record, recorder
from dark.book.plan import Plan, PlanError, load_plan
from dark.design.profiles import PROFILES as PROFILE_TABLE
from dark.files import atomic_write, sha256_file
from dark.record import record as recording

#: run_book's result and failure (defined by the executor) belong to its interface
__all__ = [
    "PROFILES",
    "ROOT",
    "RunReport",
    "StepFailed",
    "book_digest",
    "build_book",
    "cli",
    "publish_notebooks",
    "run_book",
    "toc_documents",
]

#: the repository this module belongs to (an editable install); holds notebooks/, book/, node_modules/
ROOT = Path(__file__).resolve().parents[2]
PROFILES = tuple(PROFILE_TABLE)


def publish_notebooks(plan: Plan, out_dir: Path, book: Path) -> list[Path]:
    """Copy the executed notebooks of ``plan``'s profile to ``book/executed/<id>.ipynb`` (the _toc paths).

    Published notebooks of steps the plan does not have (another profile's trainings, which the toc's
    ``glob`` would pick up) are removed.
    """
    published = []
    keep = {f"{step.id}.ipynb" for step in plan.steps}
    for stale in sorted((Path(book) / "executed").glob("*.ipynb")):
        if stale.name not in keep:
            stale.unlink()
    for step in plan.steps:
        dst = Path(book) / "executed" / f"{step.id}.ipynb"
        sync_file(Path(out_dir) / f"{step.id}.ipynb", dst)
        published.append(dst)
    _sync_text(Path(book) / "executed" / "PROFILE", plan.profile + "\n")
    return published


def _sync_text(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        atomic_write(path, text.encode())


def toc_documents(book: str | Path) -> list[str]:
    """Every document of ``book/_toc.yml`` (root, chapters, sections) in reading order, without suffix."""
    import yaml

    toc = yaml.safe_load((Path(book) / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries: list | None) -> None:
        for entry in entries or []:
            if "file" in entry:
                found.append(entry["file"])
            if "glob" in entry:  # e.g. executed/03_train-*: the pages that exist, sorted (as Sphinx does)
                pages = sorted(p.relative_to(book) for p in Path(book).glob(entry["glob"] + ".*"))
                found.extend(dict.fromkeys(str(p.with_suffix("")) for p in pages))
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts") or []:
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return found


def book_digest(book: Path) -> str:
    """Hash of everything the HTML is made of: the book's sources, published notebooks and assets."""
    book = Path(book)
    h = hashlib.sha256()
    skip = {"_build"}
    for p in sorted(book.rglob("*")):
        rel = p.relative_to(book)
        if not p.is_file() or rel.parts[0] in skip:
            continue
        if rel.parts[0] == "executed" and len(rel.parts) > 2:
            continue  # the per-profile execution folders; their published copies are hashed
        h.update(str(rel).encode() + b"\0" + sha256_file(p).encode() + b"\n")
    return h.hexdigest()


def build_book(book: str | Path, *, quiet: bool = False, force: bool = False) -> tuple[Path, bool]:
    """Run ``jupyter-book build`` on ``book`` unless its inputs are unchanged since the last build.

    Returns:
        (the HTML folder, whether a build ran).
    """
    book = Path(book).resolve()
    html = book / "_build" / "html"
    stamp = book / "_build" / ".dark-book.json"
    digest = book_digest(book)
    try:
        same = json.loads(stamp.read_text()).get("hash") == digest
    except (OSError, ValueError):
        same = False
    if same and not force and (html / "index.html").is_file():
        return html, False
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(book)]
    if force:
        cmd.append("--all")
    if quiet:
        cmd.append("-q")
    result = subprocess.run(cmd, capture_output=quiet, text=True)
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:] if quiet else ""
        raise RuntimeError(f"jupyter-book build {book} failed (exit {result.returncode})\n{detail}".rstrip())
    atomic_write(stamp, json.dumps({"hash": digest, "finished": time.time()}).encode())
    return html, True


# --------------------------------------------------------------------------- the command


def run_book(
    profile: str = "quick",
    *,
    root: str | Path = ROOT,
    book: str | Path | None = None,
    work: str | Path | None = None,
    data_root: str | Path | None = None,
    force: bool = False,
    build: bool = True,
    quiet: bool = False,
    record: str | Path | None = None,
    max_trainings: int | None = None,
    log: Callable[[str], None] = print,
    execute: Callable[..., Path] = execute_step,
) -> tuple[RunReport, Path | None]:
    """Execute ``profile``'s plan and build the book; return (what ran, the HTML folder or None).

    Args:
        profile: a name of :data:`dark.design.profiles.PROFILES` (smoke, quick, cpu, full).
        root: the repository (``notebooks/pipeline.yml``, ``node_modules``).
        book: the book's source folder (default ``root/book``).
        work: where generated data and runs go (default ``root``: ``data/generated``, ``runs``).
        data_root: a HUMAN4D root replacing the rendered data.
        force: re-execute every step and rebuild every page.
        build: build the HTML after executing.
        quiet: no progress bars, no Sphinx chatter.
        record: write the run's record (:mod:`dark.record.record`) there; default: the profile's
            :func:`dark.record.record.folder` (``root/results/<recorded>``, e.g. ``results/gpu`` for ``gpu``)
            when the work folder is the repository; none for a profile that is not recorded. A record's runs
            whose digest matches are reused, the others trained and added one by one
            (:mod:`dark.book.pipeline_record`).
        max_trainings: train at most this many of the missing runs, record them, save the analysis of
            every recorded run into the record and stop (no notebooks after the trainings, no book): grows
            a record in steps that fit a session.
        log: where progress lines go; execute: the step executor (tests substitute one).
    """
    root = Path(root).resolve()
    book = Path(book).resolve() if book else root / "book"
    work = Path(work).resolve() if work else root
    work.mkdir(parents=True, exist_ok=True)
    source = str(Path(data_root).resolve()) if data_root else "render"
    out_dir = book / "executed" / profile
    plan_file = root / "notebooks" / "pipeline.yml"
    if record is None and work == root:
        record = recording.folder(root, profile)
    elif record is None and (home := recording.folder(root, profile)) is not None:
        log(
            f"record: none written: profile {profile!r} is recorded in {home} only when the work folder "
            "is the repository; pass --record DIR to record this build's runs"
        )
    status, digest, first = None, None, RunReport()
    if record:
        plan, status, digest, first = plan_with_record(
            plan_file, profile, Path(record), log=log, work=work, root=root, source=source, executed=out_dir,
            out_dir=out_dir, force=force, quiet=quiet, execute=execute,
        )  # fmt: skip
    else:  # the trainings in this machine's precision, as an empty record resolves it
        plan = load_plan(plan_file, profile, work=work, root=root, source=source, executed=out_dir)
    if max_trainings is not None:
        plan = first_trainings(plan, max_trainings)
    log(f"dark book: profile {profile!r}, {len(plan.steps)} notebook executions -> {out_dir}")
    done = set(first.executed) | set(first.skipped)
    try:
        report = execute_plan(
            plan, out_dir, cwd=work, force={s.id for s in plan.steps} - done if force else False, quiet=quiet,
            log=log, execute=execute, after=recorder(Path(record), work, digest, log) if digest else None,
        )  # fmt: skip
    except BaseException:  # stopped or failed: record.json still lists every run recorded so far
        if digest:
            recording.write(plan, out_dir, record, cwd=work, status=status, partial=True)
        raise
    report.executed = first.executed + report.executed
    report.skipped = [s for s in report.skipped if s not in first.executed]
    if record:
        report.executed += finish_record(
            plan, out_dir, Path(record), work=work, status=status, partial=max_trainings is not None, log=log,
            quiet=quiet, execute=execute,
        )  # fmt: skip
    if not build or max_trainings is not None:
        return report, None
    t0 = time.monotonic()
    prepare_assets(book, root / "node_modules")
    publish_notebooks(plan, out_dir, book)
    html, built = build_book(book, quiet=quiet, force=force)
    if built:
        log(f"book built in {time.monotonic() - t0:.1f} s")
    else:
        log("book up to date, not rebuilt")
    return report, html


def cli(argv: list[str]) -> int:
    """``dark book --profile smoke|quick|cpu|full|gpu [--data-root DIR] [--force] [--no-build] [--quiet]``."""
    parser = argparse.ArgumentParser(
        prog="dark book",
        description="Execute the book's notebooks with papermill (notebooks/pipeline.yml), skipping "
        "up-to-date steps, then build the HTML book with Jupyter Book.",
    )
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="default: quick")
    parser.add_argument("--data-root", metavar="HUMAN4D_ROOT", help="train and test on a HUMAN4D root")
    parser.add_argument("--force", action="store_true", help="re-execute every notebook, rebuild every page")
    parser.add_argument("--no-build", action="store_true", help="execute the notebooks only")
    parser.add_argument(
        "--max-trainings",
        type=int,
        metavar="N",
        help="train at most N of the runs the record lacks, record them, save the record's analysis and stop "
        "(no book)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or build chatter")
    parser.add_argument("--book-dir", metavar="DIR", help="the book's source folder (default: ROOT/book)")
    parser.add_argument("--work-dir", metavar="DIR", help="where data/generated and runs go (default: ROOT)")
    parser.add_argument(
        "--record",
        metavar="DIR",
        help="write the run's record there (default: "
        + ", ".join(f"results/{p.recorded} for {n}" for n, p in PROFILE_TABLE.items() if p.recorded)
        + ")",
    )
    args = parser.parse_args(argv)
    if args.data_root and not Path(args.data_root).is_dir():
        print(f"dark book: --data-root {args.data_root!r} is not a directory", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    try:
        report, html = run_book(
            args.profile,
            book=args.book_dir,
            work=args.work_dir,
            data_root=args.data_root,
            force=args.force,
            build=not args.no_build,
            quiet=args.quiet,
            record=args.record,
            max_trainings=args.max_trainings,
        )
    except PlanError as err:
        print(f"dark book: {err}", file=sys.stderr)
        return 2
    except StepFailed as err:
        print(f"dark book: {err}", file=sys.stderr)
        return 1
    except (FileNotFoundError, RuntimeError) as err:
        print(f"dark book: {err}", file=sys.stderr)
        return 1
    took = clock(time.monotonic() - t0)
    print(f"{len(report.executed)} executed, {len(report.skipped)} up to date, {took} in all")
    if html is not None:
        print(f"HTML book ({args.profile} profile): {html / 'index.html'}")
    return 0
