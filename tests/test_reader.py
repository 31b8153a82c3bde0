"""The book a reader finishes (issue 29), read on the built smoke book: its visible words in the pages' main
column (folded blocks left out) within the budget, a title of its own for every page, no decoder's code
name in prose or table headers, and a caption under every figure. (Widths are measured in a browser:
``tests/test_browser.py``.)"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from dark.book.pipeline import toc_documents
from dark.codecs import DECODER_LABELS, DECODERS

pytestmark = pytest.mark.slow

#: the budgets of the issue: the whole book, and one page outside its folded blocks
BOOK_WORDS, PAGE_WORDS = 20_000, 4_000


class _Reader(HTMLParser):
    """What a reader sees in a page's main column: its words (outside ``<details>``, scripts and styles),
    its title, the text of its table headers, and its figures with or without a caption."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = {"article": 0, "details": 0, "skip": 0, "th": 0, "figure": 0, "h1": 0, "code": 0}
        self.prose: list[str] = []  # text outside code (``code``/``pre``: identifiers shown as code)
        self.words: list[str] = []
        self.headers: list[str] = []
        self.title = ""
        self.images = 0  # <img> in the article
        self.captioned = 0  # <img> inside a <figure> with a caption
        self._fig_imgs = 0
        self._fig_caption = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "bd-article" in (a.get("class") or ""):
            self.depth["article"] += 1
        if not self.depth["article"]:
            return
        if tag in ("script", "style"):
            self.depth["skip"] += 1
        elif tag in ("details", "th", "h1"):
            self.depth[tag] += 1
        elif tag in ("code", "pre"):
            self.depth["code"] += 1
        elif tag == "figure":
            self.depth["figure"] += 1
            self._fig_imgs, self._fig_caption = 0, False
        elif tag in ("figcaption", "caption"):
            self._fig_caption = True
        elif tag == "img" and not self.depth["details"]:
            self.images += 1
            self._fig_imgs += self.depth["figure"] > 0

    def handle_endtag(self, tag):
        if tag == "article" and self.depth["article"]:
            self.depth["article"] -= 1
        elif tag in ("script", "style") and self.depth["skip"]:
            self.depth["skip"] -= 1
        elif tag in ("details", "th", "h1") and self.depth[tag]:
            self.depth[tag] -= 1
        elif tag in ("code", "pre") and self.depth["code"]:
            self.depth["code"] -= 1
        elif tag == "figure" and self.depth["figure"]:
            self.depth["figure"] -= 1
            self.captioned += self._fig_imgs if self._fig_caption else 0

    def handle_data(self, data):
        if not self.depth["article"] or self.depth["skip"]:
            return
        if self.depth["h1"] and not self.title:
            self.title = data.strip()
        if self.depth["th"]:
            self.headers.append(data)
        if not self.depth["details"]:
            self.words += data.split()
        if not self.depth["code"]:
            self.prose.append(data)


def _pages(smoke_book) -> dict[str, _Reader]:
    out = {}
    for doc in toc_documents(smoke_book.book):
        r = _Reader()
        r.feed((smoke_book.html / f"{doc}.html").read_text())
        out[doc] = r
    return out


def test_the_book_is_within_its_word_budget(smoke_book):
    pages = _pages(smoke_book)
    counts = {doc: len(r.words) for doc, r in pages.items()}
    assert all(n > 0 for n in counts.values()), counts
    over = {doc: n for doc, n in counts.items() if n > PAGE_WORDS}
    assert not over, f"pages over {PAGE_WORDS} visible words: {over}"
    assert sum(counts.values()) < BOOK_WORDS, counts


def test_every_page_has_a_title_of_its_own(smoke_book):
    titles = Counter(r.title for r in _pages(smoke_book).values())
    assert all(titles), titles
    assert not [t for t, n in titles.items() if n > 1], titles


def test_no_decoder_code_name_in_prose_or_table_headers(smoke_book):
    """A reader reads each decoder's label (dark.codecs.DECODER_LABELS), never its identifier; the study's
    code cells (the decoder notebook shows its code on purpose) are not prose."""
    names = [d for d in DECODERS if d != DECODER_LABELS[d].lower() and "_" in d]
    for doc, r in _pages(smoke_book).items():
        for what, text in (("table headers", " ".join(r.headers)), ("prose", " ".join(r.prose))):
            found = [n for n in names if re.search(rf"\b{n}\b", text)]
            assert not found, f"{doc}: its {what} name {found}"


def test_every_figure_has_a_caption(smoke_book):
    for doc, r in _pages(smoke_book).items():
        assert r.captioned == r.images, (
            f"{doc}: {r.images - r.captioned} of {r.images} figures without caption"
        )
