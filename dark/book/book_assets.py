"""The book's JavaScript (widget manager, anywidget, MathJax, their fonts), copied from ``node_modules``.

``npm ci`` (``make book`` runs it) installs the pinned versions of ``package-lock.json``;
:func:`prepare_assets` copies what the pages load into ``book/_widgets`` (git-ignored), so the HTML book
is served with its own copies: no CDN, the widgets and the equations work offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dark.files import sha256_file

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


def sync_file(src: Path, dst: Path) -> None:
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
        sync_file(node_modules / src, static / dst)
    sync_file(book / "widgets" / "require-config.js", static / "widgets" / "require-config.js")
    mathjax = node_modules / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        src = mathjax / part
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for f in files:
            sync_file(f, static / "mathjax" / f.relative_to(mathjax))
    # the widget manager's bundles ask for their icon fonts relative to the page, under
    # @jupyter-widgets/html-manager/dist/ or @jupyter-widgets/: publish them there, under the root and
    # executed/ (the folders with pages), so that no request fails
    dist = node_modules / "@jupyter-widgets" / "html-manager" / "dist"
    for font in sorted(p for p in dist.iterdir() if p.suffix in FONT_SUFFIXES):
        for folder in (extra, extra / "executed"):
            for sub in FONT_FOLDERS:
                sync_file(font, folder / sub / font.name)
