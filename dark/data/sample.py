"""``Sample``: one view of one frame, the only type that flows downstream of the data sources."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sample:
    """One depth view with its 18 heatmap joints.

    Attributes:
        depth: ``(160, 320)`` float32, metres, after the 10-row top/bottom crop; 0 = no depth.
        joints: ``(18, 2)`` float64 ``(x, y)`` in input pixels of the cropped map, exact (never rounded).
        visible: ``(18,)`` bool, in the image and not hidden behind the body.
        head_size: Euclidean neck -> head-end distance in input pixels (PCKh's normaliser).
        subject, activity, view: identifiers (e.g. ``"S4"``, ``"running"``, ``"M72h"``).
        frame: frame number within the recording.
    """

    depth: np.ndarray
    joints: np.ndarray
    visible: np.ndarray
    head_size: float
    subject: str
    activity: str
    view: str
    frame: int
