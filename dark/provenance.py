"""Provenance of one executed page: which code, data, machine and time produced it.

The pipeline (``dark book``) inserts two cells into every executed notebook, written by
:func:`footer_cells`: a first, hidden cell recording the start time, and a last, hidden-input cell
calling :func:`footer`, which shows one small line at the end of the page and writes the record as
JSON (``<build dir>/provenance/<step id>.json``). :func:`summarize` reads those files back, so the
summary page can say which pages were executed at which commits (a rerun skips up-to-date steps
without looking at the package's code, so one book can mix commits).

The record (:func:`collect`), every value a string or a number (``"unknown"`` / ``"not installed"``
where it cannot be known):

- ``commit`` (40 hex digits) and ``dirty`` (bool, or ``"unknown"``) of the git checkout holding ``dark``;
- ``date``: UTC, ISO 8601 to the second; ``profile``;
- ``versions``: ``dark``, ``torch``, ``numpy``, ``jupyter-book`` (installed distributions);
- ``device``: the CUDA GPU's name when torch sees one, else the CPU model and its core count;
- ``data`` (the folder as given) and ``data_manifest_sha256`` (of ``<data>/manifest.json``);
- ``wall_s``: seconds since ``started`` (``time.time()`` at the page's first cell), or ``None``.

Beside :mod:`dark.files`, low in the house (the rooms' order is :mod:`dark`'s docstring): it imports
only that module; the record and the book read it.
"""

from __future__ import annotations

import datetime
import html
import json
import os
import subprocess
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from dark.files import atomic_write, sha256_file

UNKNOWN = "unknown"
MISSING = "not installed"
#: distribution name -> key in ``versions`` (the import package ``dark`` ships as ``dark-repro``)
PACKAGES = {"dark-repro": "dark", "torch": "torch", "numpy": "numpy", "jupyter-book": "jupyter-book"}
#: the checkout that holds this package (an editable install)
REPO = Path(__file__).resolve().parents[1]


def _git(*args: str, repo: Path = REPO) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_state(repo: str | os.PathLike = REPO) -> tuple[str, bool | str]:
    """``(commit, dirty)`` of the checkout at ``repo``; without git, ``(DARK_COMMIT, "unknown")`` where that
    variable names the commit a copied tree came from (the GPU check sets it), else ``"unknown"`` twice.

    ``dirty`` ignores untracked files (build outputs, generated data).
    """
    commit = _git("rev-parse", "HEAD", repo=Path(repo))
    if not commit:
        return os.environ.get("DARK_COMMIT") or UNKNOWN, UNKNOWN
    status = _git("status", "--porcelain", "--untracked-files=no", repo=Path(repo))
    return commit, (UNKNOWN if status is None else bool(status))


def versions() -> dict[str, str]:
    """Installed versions of ``dark``, torch, numpy and jupyter-book (``"not installed"`` if absent)."""
    out = {}
    for dist, key in PACKAGES.items():
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = MISSING
    return out


def cpu_description(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> str:
    """``"<model name>, <n> cores"`` from ``/proc/cpuinfo`` (or the platform's processor name)."""
    model = None
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if not model:
        import platform

        model = platform.processor() or platform.machine() or UNKNOWN
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def device_description() -> str:
    """The CUDA GPU's name when torch sees one (``"NVIDIA H200 (CUDA)"``), else :func:`cpu_description`."""
    try:
        import torch

        if torch.cuda.is_available():
            return f"{torch.cuda.get_device_name(0)} (CUDA)"
    except ImportError:
        pass
    return cpu_description()


def manifest_digest(data: str | os.PathLike | None) -> str:
    """sha256 of ``<data>/manifest.json`` (or of ``data`` itself if it is that file); else "unknown"."""
    if not data:
        return UNKNOWN
    path = Path(data)
    path = path / "manifest.json" if path.is_dir() else path
    return sha256_file(path) if path.is_file() and path.name == "manifest.json" else UNKNOWN


def collect(profile: str, data: str | None = None, started: float | None = None) -> dict:
    """The provenance record of a page (see the module docstring for the keys).

    >>> r = collect("smoke", data=None, started=None)
    >>> sorted(r)[:4], r["profile"], r["wall_s"], r["data_manifest_sha256"]
    (['commit', 'data', 'data_manifest_sha256', 'date'], 'smoke', None, 'unknown')
    """
    commit, dirty = git_state()
    now = time.time()
    return {
        "commit": commit,
        "dirty": dirty,
        "date": datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "profile": profile,
        "versions": versions(),
        "device": device_description(),
        "data": None if data is None else str(data),
        "data_manifest_sha256": manifest_digest(data),
        "wall_s": None if started is None else round(now - float(started), 1),
    }


def line(record: Mapping) -> str:
    """One compact HTML line for the end of a page, from a :func:`collect` record."""
    commit = str(record.get("commit", UNKNOWN))
    dirty = record.get("dirty")
    state = commit[:12] + (" (uncommitted changes)" if dirty is True else "")
    if dirty == UNKNOWN and commit == UNKNOWN:
        state = "unknown commit"
    v = record.get("versions", {})
    wall = record.get("wall_s")
    parts = [
        f"Executed {record.get('date', '?')} at commit {state}",
        f"profile {record.get('profile', '?')}",
        ", ".join(f"{k} {v[k]}" for k in ("dark", "torch", "numpy", "jupyter-book") if k in v),
        f"on {record.get('device', '?')}",
        f"data manifest {str(record.get('data_manifest_sha256', UNKNOWN))[:12]}",
        f"{wall:.1f} s" if isinstance(wall, int | float) else "wall time unknown",
    ]
    return f'<p class="dark-provenance"><small>{html.escape("; ".join(parts))}.</small></p>'


def footer(profile: str, data: str | None = None, started: float | None = None, out=None):
    """Display the page's provenance line (an IPython HTML object); write the record to ``out`` if given.

    Returns the displayable object, so that a notebook's last cell can be just this call.
    """
    record = collect(profile, data, started)
    if out is not None:
        atomic_write(out, json.dumps(record, indent=1, default=str))
    try:
        from IPython.display import HTML
    except ImportError:  # outside a kernel: the plain line
        return line(record)
    return HTML(line(record))


def footer_cells(profile: str, data: str | None, out: str | os.PathLike) -> tuple[str, str]:
    """Sources of the ``(first, last)`` cells the pipeline inserts into a notebook.

    The first records the start time in ``_dark_started``; the last calls :func:`footer`. Tag the first
    ``remove-cell`` and the last ``remove-input`` (the pipeline does). Paths are written as given: pass
    them relative to the repository so no machine path is published.

    >>> first, last = footer_cells("smoke", "data/generated/smoke", "book/_build/provenance/02_data.json")
    >>> first
    'import time as _dark_time\\n_dark_started = _dark_time.time()'
    >>> last.splitlines()  # a notebook cell: import the module, then call footer
    ['import dark.provenance', "dark.provenance.footer(profile='smoke', data='data/generated/smoke', started=_dark_started, out='book/_build/provenance/02_data.json')"]
    """  # noqa: E501
    data_arg = None if data is None else str(data)
    first = "import time as _dark_time\n_dark_started = _dark_time.time()"
    last = (
        "import dark.provenance\n"
        f"dark.provenance.footer(profile={profile!r}, data={data_arg!r}, started=_dark_started, "
        f"out={str(out)!r})"
    )
    return first, last


def summarize(provenance_dir: str | os.PathLike) -> dict:
    """Read every ``<page>.json`` of ``provenance_dir``: which pages ran at which commit.

    Returns ``{"pages": {page: record}, "commits": {commit: [pages]}, "mixed": bool, "dirty": [pages]}``;
    ``mixed`` is True when the pages were executed at more than one commit.
    """
    pages: dict[str, dict] = {}
    folder = Path(provenance_dir)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            pages[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
    commits: dict[str, list[str]] = {}
    for page, record in pages.items():
        commits.setdefault(str(record.get("commit", UNKNOWN)), []).append(page)
    dirty = [page for page, record in pages.items() if record.get("dirty") is True]
    return {"pages": pages, "commits": commits, "mixed": len(commits) > 1, "dirty": dirty}
