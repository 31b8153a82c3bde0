"""The book as one PDF that reads like a paper: ``make pdf`` (after ``make book``).

Jupyter Book's ``singlehtml`` builder writes the whole book as one page, ``_build/singlehtml/<root>.html``.
Its asset paths (``_static/``, ``_images/``) are relative to the site's root although the page lies in
``executed/``, so opened from disk it has no stylesheet, no MathJax and no figures. Here the folder is
served from ``127.0.0.1`` (nothing leaves the machine) with the root document at ``/``, where every path
resolves; Debian's Chromium, driven by Playwright, waits until the figures are loaded and MathJax has
typeset, puts a title page in front (computed now: the book's title, the reproduced report from
``CITATION.cff``, the date, the git commit, the recorded runs of ``results/``), and prints with page
numbers in the footer. What a page hides in print (navigation, search, code cells) is the book's own
stylesheet, ``book/styles/dark-print.css``; what no stylesheet can do (give figures their printed size, fit
wide tables to the page) :data:`LAYOUT` does in the page before it is printed.

    python -m dark.book.pdf BOOK OUT.pdf [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import datetime
import functools
import html
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from dark.provenance import REPO, git_state

#: Chromium without anything that reaches another host (the flags of the browser tests)
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
#: the page number in the bottom margin of every page (Chromium fills the span)
FOOTER = (
    '<div style="width:100%;font-size:8pt;color:#555;text-align:center;font-family:sans-serif">'
    '<span class="pageNumber"></span></div>'
)
SIDE_MM = 13
MARGINS = {"top": "12mm", "bottom": "14mm", "left": f"{SIDE_MM}mm", "right": f"{SIDE_MM}mm"}
#: A4's width less the side margins, in CSS px (96 per inch): the width Chromium lays the page out at in
#: print, and so the window's while the tables are measured
PRINT_WIDTH = round((210 - 2 * SIDE_MM) / 25.4 * 96)
#: resolves once every image has loaded (or failed) and MathJax, where the page loads it, has typeset;
#: returns the images that did not load
SETTLED = """async () => {
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  return [...document.images].filter(img => !img.naturalWidth).map(img => img.getAttribute('src'));
}"""
#: figures at this fraction of their screen size: their lettering then matches the printed text
FIGURE_SCALE = 0.75
#: and no taller than this (CSS px, 96 a inch: 8 cm), so that a tall figure shares its page with text
FIGURE_MAX_HEIGHT = 300
#: how far a table wider than the page has its type made smaller to fit before its cells wrap instead
MIN_ZOOM = 0.75
#: a table of at most this many rows is never split over two pages (a longer one breaks between rows)
KEEP_ROWS = 12
#: fits the printed article to the page: figures get their size; short tables are kept whole; a table
#: wider than the page, measured unwrapped (class dark-measure of the print stylesheet), gets smaller type,
#: down to ``minZoom`` of its size, then wraps its cells (their words too, class dark-squeeze, if need be)
#: and, were that not enough, smaller type still. Returns how many tables it made smaller and squeezed.
LAYOUT = """({figureScale, figureMaxHeight, minZoom, keepRows}) => {
  const article = document.querySelector('article') || document.body;
  const width = el => el.getBoundingClientRect().width;
  const done = {smaller: 0, squeezed: 0};
  for (const img of article.querySelectorAll('img')) {
    if (!img.naturalWidth) continue;
    const scale = Math.min(figureScale, figureMaxHeight / img.naturalHeight);
    img.style.width = (img.naturalWidth * scale).toFixed(1) + 'px';
  }
  for (const table of article.querySelectorAll('table')) {
    if (table.rows.length <= keepRows) table.classList.add('dark-keep');  // a short table stays whole
    // the room: the parent's width, unless the parent grows with the table (a scrolling container)
    const room = Math.min(width(table.parentElement), article.clientWidth);
    table.classList.add('dark-measure');
    const natural = width(table);
    table.classList.remove('dark-measure');
    if (!(room > 0) || natural <= room + 1) continue;
    done.smaller += 1;
    const size = parseFloat(getComputedStyle(table).fontSize);
    table.style.fontSize = (size * Math.max(room / natural, minZoom)).toFixed(2) + 'px';
    if (width(table) <= room + 1) continue;
    done.squeezed += 1;
    table.classList.add('dark-squeeze');
    const squeezed = width(table);
    if (squeezed > room + 1) table.style.fontSize = (size * minZoom * room / squeezed).toFixed(2) + 'px';
  }
  return done;
}"""


def root_document(book: Path) -> str:
    """The toc's root (``executed/intro``): the single page's file name, without ``.html``."""
    return yaml.safe_load((book / "_toc.yml").read_text())["root"]


def _reference(cff: dict, kind: str) -> dict:
    return next(r for r in cff.get("references", []) if r.get("type") == kind)


def _authors(ref: dict) -> str:
    names = [a.get("family-names") or a.get("name", "?") for a in ref.get("authors", [])]
    return f"{names[0]} et al." if len(names) > 2 else " and ".join(names)


def records(root: Path = REPO) -> list[dict]:
    """The records the book renders (``results/<name>/record.json``, less those superseded by another):
    folder, profile, number of trainings, the commit and date of the build that wrote it."""
    found = []
    for path in sorted((root / "results").glob("*/record.json")):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if rec.get("superseded_by"):
            continue
        prov = rec.get("provenance") or {}
        found.append({
            "folder": path.parent.relative_to(root).as_posix(),
            "profile": rec.get("profile", "?"),
            "trainings": len(rec.get("runs") or []),
            "commit": str(prov.get("commit", "unknown")),
            "date": str(prov.get("date") or rec.get("created") or "unknown")[:10],
        })  # fmt: skip
    return found


def title_page(book: Path, root: Path = REPO, today: datetime.date | None = None) -> str:
    """The title page's HTML, from the book's configuration, ``CITATION.cff``, git and the records."""
    e = functools.partial(html.escape, quote=False)
    config = yaml.safe_load((book / "_config.yml").read_text())
    cff = yaml.safe_load((root / "CITATION.cff").read_text())
    report, original = _reference(cff, "article"), _reference(cff, "conference-paper")
    commit, dirty = git_state(root)
    profile_file = book / "executed" / "PROFILE"
    profile = profile_file.read_text().strip() if profile_file.is_file() else "unknown"
    today = today or datetime.datetime.now(datetime.timezone.utc).date()
    rows = [
        ("Date", today.isoformat()),
        ("Commit", f"<code>{e(commit)}</code>" + (" (with uncommitted changes)" if dirty is True else "")),
        ("This book", f"executed with the <b>{e(profile)}</b> profile"),
    ]
    for r in records(root):
        rows.append((
            "Record",
            f"<code>{e(r['folder'])}</code>: {r['trainings']} trainings ({e(r['profile'])} profile), "
            f"recorded at commit <code>{e(r['commit'][:12])}</code> on {e(r['date'])}",
        ))  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return (
        '<section id="dark-title-page">'
        f'<h1 class="dark-title">{e(config.get("title", "DARK, reproduced"))}</h1>'
        f'<p class="dark-subtitle">{e(cff.get("title", "")).split(": ", 1)[-1]}</p>'
        f'<p class="dark-authors">{e(config.get("author", ""))}</p>'
        '<p class="dark-reproduces">A reproduction of the ML Reproducibility Challenge report '
        f"<i>{e(report['title'])}</i> ({e(_authors(report))}, {e(report.get('journal', ''))}), which "
        f"reproduced DARK: <i>{e(original['title'])}</i> ({e(_authors(original))}, "
        f"CVPR {original.get('year', '')}).</p>"
        f'<table class="dark-title-facts">{table}</table>'
        "</section>"
    )


class _Handler(SimpleHTTPRequestHandler):
    """The singlehtml folder, with the root document served at ``/`` (where its relative paths resolve)."""

    root_doc = "index.html"

    def translate_path(self, path: str) -> str:
        if path.split("?")[0] in ("/", "/index.html"):
            path = "/" + self.root_doc
        return super().translate_path(path)

    def log_message(self, *args) -> None:  # quiet
        pass


@contextmanager
def serve(folder: Path, root_doc: str) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the block runs; yields the root document's URL."""
    handler = type("Handler", (_Handler,), {"root_doc": root_doc})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def print_book(book: Path, out: Path, *, chromium: str = "/usr/bin/chromium", timeout_s: float = 300) -> Path:
    """Print ``book/_build/singlehtml`` (built beforehand) to ``out``, a title page first."""
    from playwright.sync_api import sync_playwright

    book, out = Path(book).resolve(), Path(out).resolve()
    site = book / "_build" / "singlehtml"
    root_doc = root_document(book) + ".html"
    if not (site / root_doc).is_file():
        raise FileNotFoundError(f"{site / root_doc} is missing: run jupyter-book build --builder singlehtml")
    front = title_page(book)
    out.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    requests: list[str] = []
    with serve(site, root_doc) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": PRINT_WIDTH, "height": 1000})
            page.set_default_timeout(timeout_s * 1000)
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: errors.append(r.url))
            page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
            page.goto(url, wait_until="load")
            page.emulate_media(media="print")
            missing = page.evaluate(SETTLED)
            if missing:
                raise RuntimeError(f"{len(missing)} images did not load, e.g. {missing[:3]}")
            page.evaluate("html => document.body.insertAdjacentHTML('afterbegin', html)", front)
            page.evaluate(
                LAYOUT,
                {
                    "figureScale": FIGURE_SCALE,
                    "figureMaxHeight": FIGURE_MAX_HEIGHT,
                    "minZoom": MIN_ZOOM,
                    "keepRows": KEEP_ROWS,
                },
            )
            page.pdf(
                path=str(out),
                format="A4",
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
                margin=MARGINS,
            )
        finally:
            browser.close()
    remote = [u for u in requests if not u.startswith((url, "data:", "blob:", "about:"))]
    if remote:
        raise RuntimeError(f"the page asked another host for {len(remote)} files, e.g. {remote[:3]}")
    # the single page links the search index that only the HTML builder writes: the one file let miss
    local = [u for u in errors if u.startswith(url) and not u.startswith(url + "searchindex.js")]
    if local:
        raise RuntimeError(f"the page asked for {len(local)} missing files, e.g. {local[:3]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dark.book.pdf", description=__doc__.split("\n\n")[0])
    parser.add_argument("book", type=Path, help="the book's folder (its _build/singlehtml built)")
    parser.add_argument("out", type=Path, help="the PDF to write")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium executable")
    args = parser.parse_args(argv)
    print_book(args.book, args.out, chromium=args.chromium)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
