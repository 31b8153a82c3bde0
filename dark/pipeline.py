"""``dark book``: execute the book's notebooks with papermill, then build the HTML with Jupyter Book.

The plan (which notebook, which parameters, per profile) is ``notebooks/pipeline.yml``, read by
:mod:`dark.plan`. For each step in dependency order:

1. its hash (notebook source + parameters + the hashes of the steps it needs) is compared with the
   stamp written after its last success; equal hash, executed notebook and declared outputs present
   -> skipped;
2. otherwise the jupytext source is executed by papermill into ``<id>.running.ipynb``, renamed to
   ``<id>.ipynb`` on success and stamped (``.stamps/<id>.json``, written atomically). A failure stops
   the pipeline, names the notebook, the cell and the error, and keeps ``<id>.failed.ipynb`` for
   inspection; earlier successes and their stamps stay as they are, so the next run resumes.

Executed notebooks live in ``book/executed/<profile>/``; the build copies the requested profile's
notebooks to ``book/executed/`` (the paths in ``book/_toc.yml``), copies the widget and MathJax
JavaScript from ``node_modules`` into ``book/_widgets`` (served by the book itself) and runs
``jupyter-book build``. The book is rebuilt only when one of its inputs changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dark.files import atomic_write, sha256_file
from dark.plan import Plan, PlanError, Step, load_plan, step_hash
from dark.profiles import PROFILES as PROFILE_TABLE

#: the repository this module belongs to (an editable install); holds notebooks/, book/, node_modules/
ROOT = Path(__file__).resolve().parents[1]
PROFILES = tuple(PROFILE_TABLE)
#: profiles whose run is recorded in ``ROOT/results/<profile>/`` (:mod:`dark.record`) after it finishes
RECORDED = {"cpu": "cpu", "full": "gpu"}
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


def _clock(seconds: float) -> str:
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


def _with_provenance(notebook, step: Step, out_dir: Path, cwd: Path):
    """``notebook`` with a first cell that notes the start time and a last one that shows and saves the
    page's provenance (:func:`dark.provenance.footer_cells`; both cells' code is hidden in the book)."""
    import nbformat

    from dark.provenance import footer_cells

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
    notebook = _with_provenance(jupytext.read(step.notebook), step, out_dir, cwd)
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
    force: bool = False,
    quiet: bool = False,
    log: Callable[[str], None] = print,
    execute: Callable[..., Path] = execute_step,
) -> RunReport:
    """Run every step of ``plan`` that is not up to date, in order; stop at the first failure.

    Args:
        plan: from :func:`dark.plan.load_plan`.
        out_dir: receives ``<id>.ipynb`` and ``.stamps/`` (one folder per profile).
        cwd: working directory of the kernels.
        force: re-execute every step even when its stamp matches.
        quiet: no papermill progress bars (the one line per step is still logged).
        log: where progress lines go.
        execute: the executor (tests substitute one); signature of :func:`execute_step`.

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
        if not force and is_up_to_date(step, digest, out_dir):
            report.skipped.append(step.id)
            log(f"{head}: up to date, skipped  [elapsed {_clock(time.monotonic() - start)}]")
            continue
        _clean_stale(step, digest, out_dir, force=force, log=lambda m, h=head: log(f"{h}: {m}"))
        atomic_write(attempt_path(out_dir, step.id), json.dumps({"hash": digest}).encode())
        log(f"{head}: executing ...  [elapsed {_clock(time.monotonic() - start)}]")
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
        log(f"{head}: done in {took:.1f} s  [elapsed {_clock(time.monotonic() - start)}]")
    report.seconds = time.monotonic() - start
    return report


# --------------------------------------------------------------------------- the book build

#: (source under node_modules, destination under book/_widgets/static) for the widget manager
WIDGET_FILES = (
    ("requirejs/require.js", "widgets/require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "widgets/embed-amd.js"),
    ("anywidget/dist/index.js", "widgets/anywidget/index.js"),
)
#: MathJax 3 (tex-chtml and the components it loads on demand), instead of Sphinx's CDN default
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors")
FONT_SUFFIXES = (".woff", ".woff2", ".ttf", ".eot", ".svg")
FONT_FOLDERS = ("@jupyter-widgets/html-manager/dist", "@jupyter-widgets")


def _sync_file(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` unless an identical copy is there (keeps mtimes for Sphinx)."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and sha256_file(dst) == sha256_file(src):
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def prepare_assets(book: Path, node_modules: Path) -> None:
    """Copy the pinned widget/MathJax JavaScript and fonts into ``book/_widgets`` (git-ignored).

    ``_widgets/static`` becomes the site's ``_static`` additions (not ``book/_static``, whose every
    ``.js`` Jupyter Book would inject into every page); ``_widgets/extra`` is copied to the site root.
    """
    book, node_modules = Path(book), Path(node_modules)
    if not (node_modules / "@jupyter-widgets" / "html-manager").is_dir():
        raise FileNotFoundError(
            f"{node_modules} lacks the widget JavaScript: run `npm ci` in {node_modules.parent} "
            "(`make book` does it)"
        )
    static, extra = book / "_widgets" / "static", book / "_widgets" / "extra"
    for src, dst in WIDGET_FILES:
        _sync_file(node_modules / src, static / dst)
    _sync_file(book / "widgets" / "require-config.js", static / "widgets" / "require-config.js")
    mathjax = node_modules / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        src = mathjax / part
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            _sync_file(f, static / "mathjax" / f.relative_to(mathjax))
    # the widget manager's bundles ask for their icon fonts relative to the page, under
    # @jupyter-widgets/html-manager/dist/ or @jupyter-widgets/: publish them there, under the root and
    # executed/ (the folders with pages), so that no request fails
    dist = node_modules / "@jupyter-widgets" / "html-manager" / "dist"
    for font in sorted(p for p in dist.iterdir() if p.suffix in FONT_SUFFIXES):
        for folder in (extra, extra / "executed"):
            for sub in FONT_FOLDERS:
                _sync_file(font, folder / sub / font.name)


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
        _sync_file(Path(out_dir) / f"{step.id}.ipynb", dst)
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
    log: Callable[[str], None] = print,
) -> tuple[RunReport, Path | None]:
    """Execute ``profile``'s plan and build the book; return (what ran, the HTML folder or None).

    Args:
        profile: a name of :data:`dark.profiles.PROFILES` (smoke, quick, cpu, full).
        root: the repository (``notebooks/pipeline.yml``, ``node_modules``).
        book: the book's source folder (default ``root/book``).
        work: where generated data and runs go (default ``root``: ``data/generated``, ``runs``).
        data_root: a HUMAN4D root replacing the rendered data.
        force: re-execute every step and rebuild every page.
        build: build the HTML after executing.
        quiet: no progress bars, no Sphinx chatter.
        record: write the run's record (:mod:`dark.record`) there; default: ``root/results/cpu`` for the
            ``cpu`` profile and ``root/results/gpu`` for ``full``, when the work folder is the repository.
    """
    root = Path(root).resolve()
    book = Path(book).resolve() if book else root / "book"
    work = Path(work).resolve() if work else root
    work.mkdir(parents=True, exist_ok=True)
    source = str(Path(data_root).resolve()) if data_root else "render"
    out_dir = book / "executed" / profile
    plan = load_plan(
        root / "notebooks" / "pipeline.yml", profile, work=work, root=root, source=source, executed=out_dir
    )
    log(f"dark book: profile {profile!r}, {len(plan.steps)} notebook executions -> {out_dir}")
    report = execute_plan(plan, out_dir, cwd=work, force=force, quiet=quiet, log=log)
    if record is None and profile in RECORDED and work == root:
        record = root / "results" / RECORDED[profile]
    if record:
        from dark import record as recording

        where = recording.write(plan, out_dir, record, cwd=work)
        log(f"recorded run written to {where}")
    if not build:
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
    """``dark book --profile smoke|quick|cpu|full [--data-root DIR] [--force] [--no-build] [--quiet]``."""
    parser = argparse.ArgumentParser(
        prog="dark book",
        description="Execute the book's notebooks with papermill (notebooks/pipeline.yml), skipping "
        "up-to-date steps, then build the HTML book with Jupyter Book.",
    )
    parser.add_argument("--profile", choices=PROFILES, default="quick", help="default: quick")
    parser.add_argument("--data-root", metavar="HUMAN4D_ROOT", help="train and test on a HUMAN4D root")
    parser.add_argument("--force", action="store_true", help="re-execute every notebook, rebuild every page")
    parser.add_argument("--no-build", action="store_true", help="execute the notebooks only")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or build chatter")
    parser.add_argument("--book-dir", metavar="DIR", help="the book's source folder (default: ROOT/book)")
    parser.add_argument("--work-dir", metavar="DIR", help="where data/generated and runs go (default: ROOT)")
    parser.add_argument(
        "--record",
        metavar="DIR",
        help="write the run's record there (default: results/cpu for cpu, results/gpu for full)",
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
    took = _clock(time.monotonic() - t0)
    print(f"{len(report.executed)} executed, {len(report.skipped)} up to date, {took} in all")
    if html is not None:
        print(f"HTML book ({args.profile} profile): {html / 'index.html'}")
    return 0
