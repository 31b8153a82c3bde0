"""Shared fixtures.

``smoke_book``: the smoke profile of the book, executed with papermill and built with Jupyter Book
ONCE per test session, in a temporary copy of ``book/`` (the repository's own ``book/_build`` and
``runs/`` are never touched). Used by tests/test_book.py and tests/test_browser.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dark.book import pipeline
from dark.book.plan import Plan, load_plan

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module on one torch thread (restored afterwards): for small batched tensors one thread is
    fastest, and it keeps a busy machine's neighbours out of the tests' run time. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass(frozen=True)
class SmokeBook:
    """The executed and built smoke book: where everything is, and what the pipeline printed."""

    book: Path  # the book's source folder (a copy)
    html: Path  # book/_build/html
    work: Path  # data/generated and runs of this session
    executed: Path  # book/executed/smoke: executed notebooks and stamps
    plan: Plan
    report: pipeline.RunReport
    log: tuple[str, ...]


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory) -> SmokeBook:
    base = tmp_path_factory.mktemp("smoke-book")
    book, work = base / "book", base / "work"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build", "executed", "_widgets"))
    lines: list[str] = []
    report, html = pipeline.run_book("smoke", root=ROOT, book=book, work=work, quiet=True, log=lines.append)
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "smoke", work=work, root=ROOT)
    return SmokeBook(book, html, work, book / "executed" / "smoke", plan, report, tuple(lines))
