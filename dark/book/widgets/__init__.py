"""Interactive anywidgets that also work in the static book (precomputed frames in their state).

- ``DecoderExplorer`` (``dark.book.widgets.explorer``): one synthetic heatmap, every decoder's estimate.
- ``SampleBrowser`` (``dark.book.widgets.samples``): test samples of a trained model, every decoder.

Imported lazily so that ``import dark.book.widgets`` does not import anywidget.
"""

from __future__ import annotations

import importlib

_WHERE = {"DecoderExplorer": "dark.book.widgets.explorer", "SampleBrowser": "dark.book.widgets.samples"}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'dark.book.widgets' has no attribute {name!r}")
