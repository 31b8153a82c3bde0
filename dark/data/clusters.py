"""The test set's resampling units: which placement of which clip every view belongs to.

:func:`clusters` labels every view with its ``(subject, activity, placement)`` (a rendered split) or its
``(subject, recording)`` (HUMAN4D); :func:`clip_clusters` maps placements to their clips, the independent
unit the book's intervals resample.
"""

from __future__ import annotations

import numpy as np

#: placements of each test clip (``dark.data.synth`` cuts a test clip's frames into this many segments)
TEST_PLACEMENTS = 4

__all__ = ["TEST_PLACEMENTS", "clip_clusters", "clusters"]


def clusters(data) -> np.ndarray:
    """The cluster of every view of a split: one placement of one clip, ``(subject, activity, placement)``.

    The views of one frame and the frames of one segment share a cluster; a bootstrap that resamples
    clusters keeps correlated views together.

    Args:
        data: a split as :func:`dark.data.open_split` returns it: a :class:`RenderedDataset`, or a
            :class:`dark.data.human4d.Human4D` (a recording is placed once: its cluster is
            ``(subject, recording)``); or a structured array of :data:`RECORD`.

    Returns:
        ``(N,)`` int64 cluster ids ``0 .. K-1``, numbered in order of first appearance.
    """
    if hasattr(data, "records"):  # a RenderedDataset
        data = data.records
    if isinstance(data, np.ndarray) and data.dtype.names and "placement" in data.dtype.names:
        keys = zip(
            data["subject"].tolist(), data["activity"].tolist(), data["placement"].tolist(), strict=True
        )
    elif hasattr(data, "metadata"):  # HUMAN4D: from the file names, without reading the maps
        keys = ((subject, recording) for subject, recording, _, _ in data.metadata())
    else:
        raise TypeError(
            f"expected a RenderedDataset, a HUMAN4D split or RECORD array, got {type(data).__name__}"
        )
    ids: dict = {}
    return np.array([ids.setdefault(key, len(ids)) for key in keys], dtype=np.int64)


def clip_clusters(clusters: np.ndarray, placements: int = TEST_PLACEMENTS) -> np.ndarray:
    """The test clip of every placement cluster: ``(G,)`` placement ids of :func:`clusters` -> ``(G,)``
    clip ids ``0 .. K / placements - 1``.

    :func:`clusters` numbers ``(subject, activity, placement)`` in order of first appearance, and a test
    clip's placements follow each other (:func:`segments` cuts each clip into ``placements`` contiguous
    segments, rendered in that order), so placement cluster ``k`` belongs to clip ``k // placements``. The
    placements of one clip replay the same motion, so their errors correlate: the clip, not the
    placement, is the independent unit of the test set (the book's intervals resample clips).

    >>> clip_clusters(np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 7]), placements=4).tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    c = np.asarray(clusters, dtype=np.int64)
    if placements < 1:
        raise ValueError(f"placements must be >= 1, got {placements}")
    k = int(c.max()) + 1 if c.size else 0
    if c.size and (c.min() < 0 or k % placements):
        raise ValueError(
            f"{k} placement clusters are not whole clips of {placements} placements each "
            "(expected the numbering of dark.data.synth.clusters)"
        )
    return c // placements
