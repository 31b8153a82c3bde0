"""Files that are never half-written, and their digests.

``atomic_write`` writes to a temporary file in the target's directory, flushes and ``fsync``-s it,
renames it over the target (``os.replace`` is atomic on POSIX) and ``fsync``-s the directory, so a
crash or a kill leaves either the previous file or the new one. Every result file of the project
(datasets, checkpoints, heatmap caches, tables, pipeline stamps) goes through it.

Low in the house (the rooms' order is :mod:`dark`'s docstring): it imports nothing of ``dark``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

Writer = Callable[[BinaryIO], object]


def atomic_write(path: str | os.PathLike, data: bytes | str | Writer) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Args:
        path: the target; its parent directories are created.
        data: bytes, text (written as UTF-8), or a function called with the open binary file
            (e.g. ``lambda f: np.save(f, array)``).

    >>> import tempfile, pathlib
    >>> p = atomic_write(pathlib.Path(tempfile.mkdtemp()) / "a" / "b.txt", "hello")
    >>> p.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; results are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, as 64 hex digits (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
