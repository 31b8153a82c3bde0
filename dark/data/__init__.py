"""Data: the ``Sample`` type, the HUMAN4D reader, real motion, the depth renderer, datasets.

``open_split(path, split)`` returns the samples of a rendered dataset directory (``dark data``) or of a
real HUMAN4D root, whichever ``path`` is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from dark.data.human4d import Human4D
from dark.data.sample import Sample
from dark.data.synth import RenderedDataset

__all__ = ["Sample", "open_split"]


def open_split(path: str | Path, split: str = "test", **kwargs) -> Sequence[Sample]:
    """The samples of one split of a rendered dataset or of a HUMAN4D root.

    Args:
        path: a directory written by ``dark data`` (has ``manifest.json``), a HUMAN4D root (has
            ``device_repository.json``), or a directory linked to one (``human4d.link_human4d``).
        split: ``"train"`` | ``"val"`` | ``"test"``.
        **kwargs: passed to the reader (e.g. ``views=``, ``strict=`` for HUMAN4D).

    Returns:
        a sequence (``len``, indexing) of :class:`Sample`.
    """
    path = Path(path)
    manifest = path / "manifest.json"
    if manifest.is_file():
        fmt = json.loads(manifest.read_text()).get("format")
        if fmt == "human4d-root":  # written by dark.data.human4d.link_human4d
            return open_split(json.loads(manifest.read_text())["root"], split, **kwargs)
        return RenderedDataset(path, split, **kwargs)
    if (path / "device_repository.json").is_file():
        return Human4D(path, split, **kwargs)
    raise FileNotFoundError(
        f"{path}: neither a rendered dataset (no manifest.json) nor a HUMAN4D root "
        "(no device_repository.json)"
    )
