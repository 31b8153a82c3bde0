"""Data: the ``Sample`` type, the HUMAN4D reader, real motion, the depth renderer, datasets."""

from dark.data.sample import Sample

__all__ = ["Sample"]
