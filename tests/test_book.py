"""The smoke profile end to end: every notebook executed by papermill, the book built, every page there,
no error output anywhere, nothing loaded from another host, and a rerun that executes nothing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from dark.book.pipeline import toc_documents

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


class _Refs(HTMLParser):
    """Collects the URLs a page loads by itself (scripts, stylesheets, images, iframes)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"script", "img", "iframe", "source", "video", "audio"} and a.get("src"):
            self.loaded.append(a["src"])
        if (
            tag == "link"
            and a.get("href")
            and {"stylesheet", "preload", "icon", "modulepreload"} & set((a.get("rel") or "").split())
        ):
            self.loaded.append(a["href"])


def test_every_step_executed_and_every_page_built(smoke_book):
    assert smoke_book.report.executed == [s.id for s in smoke_book.plan.steps]
    assert any(line.startswith(f"[1/{len(smoke_book.plan.steps)}]") for line in smoke_book.log)
    for doc in toc_documents(smoke_book.book):
        page = smoke_book.html / f"{doc}.html"
        assert page.is_file(), f"{doc} is in _toc.yml but {page} was not built"
        assert len(page.read_text()) > 2000
    assert (smoke_book.html / "index.html").is_file()


def test_no_error_outputs_in_notebooks_or_pages(smoke_book):
    for step in smoke_book.plan.steps:
        nb = nbformat.read(smoke_book.executed / f"{step.id}.ipynb", as_version=4)
        errors = [
            f"cell {i}: {o.get('ename')}: {o.get('evalue')}"
            for i, c in enumerate(nb.cells)
            if c.cell_type == "code"
            for o in c.get("outputs", [])
            if o.get("output_type") == "error"
        ]
        assert not errors, f"{step.id}: {errors}"
    for page in smoke_book.html.rglob("*.html"):
        text = page.read_text()
        assert "Traceback (most recent call last)" not in text, page
        assert 'class="output traceback' not in text and "cell_output error" not in text, page


class _Verdicts(HTMLParser):
    """The verdicts a page states: ``(data-verdict key, text)`` of every ``span.dark-verdict``
    (dark.analysis.report.render writes each one so)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._key: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "span" and "dark-verdict" in (a.get("class") or "").split():
            self._key, self._text = a.get("data-verdict"), []

    def handle_data(self, data):
        if self._key is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "span" and self._key is not None:
            self.found.append((self._key, "".join(self._text)))
            self._key = None


def _expected_verdicts(saved: dict) -> dict[str, str]:
    """Every verdict of a ``verdicts.json`` by its key, read independently of the renderer."""
    out = {}
    for claim in ("1", "2"):
        v = saved[claim]
        out[f"claim/{claim}"] = v["verdict"]
        out |= {f"claim/{claim}/{m}": w for m, w in v["by_model"].items()}
        for r in v["primary"]:
            out[f"claim/{claim}/{r['model']}/{r['protocol']}/{r['comparison']}"] = r["verdict"]
    for i, reg in enumerate(saved.get("regimes", [])):  # the record's other regimes, each on its own
        for claim, v in reg["claims"].items():
            out[f"regime/{i}/claim/{claim}"] = v["verdict"]
            out |= {f"regime/{i}/claim/{claim}/{m}": w for m, w in v["by_model"].items()}
            for r in v["primary"]:
                out[f"regime/{i}/claim/{claim}/{r['model']}/{r['protocol']}/{r['comparison']}"] = r["verdict"]
    return out


def test_every_page_states_the_verdicts_of_verdicts_json(smoke_book):
    """One source, one renderer: every verdict stated on any page equals the record's verdicts.json; the
    landing page and the summary open with the at-a-glance table (nothing above it but the title) and
    state every claim's verdict; the build's own results are a pipeline check with no verdict."""
    saved = json.loads((ROOT / "results" / "cpu" / "results" / "verdicts.json").read_text())
    expected = _expected_verdicts(saved)
    stated: dict[str, set[str]] = {}
    for page in smoke_book.html.rglob("*.html"):
        parser = _Verdicts()
        parser.feed(page.read_text())
        for k, text in parser.found:
            assert k in expected, f"{page.name} states a verdict {k!r} that verdicts.json does not have"
            assert text == expected[k], f"{page.name}: {k} reads {text!r}, verdicts.json {expected[k]!r}"
            stated.setdefault(page.name, set()).add(k)
    for name in ("intro.html", "summary.html"):
        assert {"claim/1", "claim/2"} <= stated.get(name, set()), f"{name} does not state both claims"
        page = (smoke_book.html / "executed" / name).read_text()
        article = page[page.index('<article class="bd-article"') :]
        body = article[article.index("</h1>") :]  # under the page's title
        first = re.search(r"<(table|p|ul|ol|pre|img|h2)\b", body)
        assert first and first.group(1) == "table", (
            f"{name}: the first element under the title is not a table"
        )
        assert 'class="dark-table"' in body[first.start() : first.start() + 40]
    assert "summary.html" in stated and "recorded.html" in stated and "discussion.html" in stated
    intro = (smoke_book.html / "executed" / "intro.html").read_text()
    assert "smoke profile" in intro and "too short and too few to decide anything" in intro
    assert "injected-parameters" not in intro  # the prose pages hide their parameters


def test_no_page_says_best_epoch_or_over_frames_where_the_code_uses_the_last_and_clips(smoke_book):
    text = lambda page: " ".join(re.sub(r"<[^>]+>", " ", page).split())  # noqa: E731
    for page in smoke_book.html.rglob("*.html"):
        t = text(page.read_text())
        phrases = (
            "best epoch on the validation split is the one evaluated",
            "best checkpoint (best epoch",
            "bootstrap over test frames",
            "over seeds and test frames",
        )
        for phrase in phrases:
            assert phrase not in t, f"{page.name} says {phrase!r}"


def test_pages_load_nothing_from_other_hosts(smoke_book):
    for page in smoke_book.html.rglob("*.html"):
        parser = _Refs()
        parser.feed(page.read_text())
        remote = [u for u in parser.loaded if re.match(r"^(https?:)?//", u)]
        assert not remote, f"{page.relative_to(smoke_book.html)} loads {remote}"
    assert (smoke_book.html / "_static" / "widgets" / "embed-amd.js").is_file()
    assert (smoke_book.html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert "THEBE_JS_URL" not in (smoke_book.html / "method.html").read_text()


def test_rerun_without_changes_executes_nothing(smoke_book):
    book, work = str(smoke_book.book), str(smoke_book.work)
    cmd = [
        sys.executable,
        "-m",
        "dark",
        "book",
        "--profile",
        "smoke",
        "--quiet",
        "--book-dir",
        book,
        "--work-dir",
        work,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    n = len(smoke_book.plan.steps)
    assert f"0 executed, {n} up to date" in result.stdout
    assert result.stdout.count("up to date, skipped") == n
    assert "book up to date, not rebuilt" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith(str(smoke_book.html / "index.html"))


def _absolute(text: str, folder: Path) -> list[str]:
    """Where ``folder`` appears as an absolute path in ``text`` (``../x/folder`` is a relative path)."""
    pattern = r"(?<![.\w])" + re.escape(str(folder))
    return [text[max(0, m.start() - 40) : m.end() + 40] for m in re.finditer(pattern, text)]


def test_no_page_shows_the_building_machines_folders(smoke_book):
    """Neither the HTML nor the downloadable notebooks name the build's folders (the book, the work
    folder with data and runs, the repository): papermill's injected parameters are relative paths."""
    folders = [smoke_book.book, smoke_book.work, ROOT]
    found = {}
    pages = [*smoke_book.html.rglob("*.html"), *(smoke_book.book / "executed").glob("*.ipynb")]
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(errors="replace")
        hits = [hit for folder in folders for hit in _absolute(text, folder)]
        if hits:
            found[str(page.relative_to(smoke_book.book))] = hits[:3]
    assert not found, found


def test_the_path_scan_finds_an_absolute_path_and_passes_a_relative_one():
    assert _absolute('runs = ["/home/me/repo/runs/x"]', Path("/home/me/repo")) == [
        'runs = ["/home/me/repo/runs/x"]'
    ]
    assert _absolute('records = ["../../home/me/repo/results"]', Path("/home/me/repo")) == []


def test_the_why_page_and_table2_under_both_protocols(smoke_book):
    text = lambda page: " ".join(re.sub(r"<[^>]+>", " ", page).split())  # noqa: E731
    why = text((smoke_book.html / "executed" / "06_why.html").read_text())
    assert "Why the report saw what it saw" in why and "unexplained" in why
    assert "metric: per-axis PCKh with the report" in why and "batch size (24 vs 16)" in why
    results = text((smoke_book.html / "executed" / "05_results.html").read_text())
    assert "report's code" in results and "per-axis PCKh@0.1" in results
    summary = text((smoke_book.html / "executed" / "summary.html").read_text())
    assert summary.index("The recorded run.") < summary.index("This build.")
    data = text((smoke_book.html / "executed" / "02_data.html").read_text())
    assert "threshold at alpha 0.1 (px)" in data


def test_the_recorded_chapter_renders_the_committed_cpu_record(smoke_book):
    page = (smoke_book.html / "executed" / "recorded.html").read_text()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Recorded run of the" in text and "cpu profile" in text
    assert "dark book --profile cpu" in text
    assert "Verdicts" in text and "Claim 2" in text
    assert page.count("<img") >= 3  # the seed strip, the bias decomposition, the decoders along training
