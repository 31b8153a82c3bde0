"""Figures with captions and tables folded beneath them, as HTML for a page's output.

A figure drawn in a loop (one per record, per model) cannot take a cell's caption option, so
:func:`figure` writes it as ``<figure>`` with its PNG inline and a ``<figcaption>`` that says what to see;
:func:`folded` puts a long table (a DataFrame, a pandas Styler or HTML) under a ``<details>`` line, so the
page reads as figures and prose and the numbers stay one click away.
"""

from __future__ import annotations

import base64
import html
import io

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["figure", "folded", "image"]


def figure(fig: Figure, caption: str, dpi: int = 100) -> str:
    """``fig`` as ``<figure>`` HTML: a PNG (``dpi``) inline, ``caption`` (plain text) beneath; the figure is
    closed (pyplot shows it nowhere else).

    >>> f = plt.figure(figsize=(1, 1))
    >>> out = figure(f, "A caption.")
    >>> out.startswith('<figure class="dark-figure"><img') and "<figcaption>A caption.</figcaption>" in out
    True
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return _png(buf.getvalue(), caption)


def _png(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (
        f'<figure class="dark-figure"><img style="max-width:100%" alt="{html.escape(caption[:80])}" '
        f'src="data:image/png;base64,{data}"/><figcaption>{html.escape(caption)}</figcaption></figure>'
    )


def image(path, caption: str) -> str:
    """A PNG file (e.g. a run's ``curves.png``) as ``<figure>`` HTML with ``caption`` beneath."""
    from pathlib import Path

    return _png(Path(path).read_bytes(), caption)


def folded(table, summary: str) -> str:
    """``table`` (DataFrame, Styler or HTML string) folded under ``<details>`` with the line ``summary``.

    >>> folded(pd.DataFrame({"a": [1]}), "The table").startswith("<details><summary>The table</summary>")
    True
    """
    if isinstance(table, pd.DataFrame):
        body = table.to_html()
    elif hasattr(table, "to_html"):  # a pandas Styler
        body = table.to_html()
    else:
        body = str(table)
    return (
        f'<details><summary>{html.escape(summary)}</summary><div class="dark-folded">{body}</div></details>'
    )
