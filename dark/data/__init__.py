"""Data: the ``Sample`` type, the HUMAN4D reader, real motion, the depth renderer, datasets.

``open_split(path, split)`` returns the samples of a rendered dataset directory (``dark data``) or of a
real HUMAN4D root, whichever ``path`` is.

Its room imports only the rooms below it (the order is :mod:`dark`'s docstring): the codecs, the
files and the design (the profiles' frame counts, the joints); never the models, nor anything above.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from dark.data.human4d import Human4D
from dark.data.sample import Sample
from dark.data.synth import RenderedDataset

__all__ = ["Sample", "open_split", "read_manifest"]


def read_manifest(path: str | Path) -> dict:
    """A dataset folder's ``manifest.json`` (``path`` is the folder or the file), or a one-line
    ``ValueError`` naming the file when it is damaged (not JSON, or not an object)."""
    path = Path(path)
    file = path / "manifest.json" if path.is_dir() else path
    try:
        content = json.loads(file.read_text())
    except ValueError as e:
        raise ValueError(f"{file}: damaged, not JSON ({e}); render the dataset again") from None
    if not isinstance(content, dict):
        raise ValueError(f"{file}: damaged, not a JSON object; render the dataset again")
    return content


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
        content = read_manifest(manifest)
        if content.get("format") == "human4d-root":  # human4d.link_human4d
            return open_split(content["root"], split, **kwargs)
        return RenderedDataset(path, split, **kwargs)
    if (path / "device_repository.json").is_file():
        return Human4D(path, split, **kwargs)
    raise FileNotFoundError(
        f"{path}: neither a rendered dataset (no manifest.json) nor a HUMAN4D root "
        "(no device_repository.json)"
    )
