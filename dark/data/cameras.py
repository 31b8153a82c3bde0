"""The depth cameras: the sensor's pixel grid, the HUMAN4D rig of four portrait D415s, projection.

Cameras: the real HUMAN4D rig recovered from ``running_annot.h5`` (:func:`dark.data.motions.rig_frame`):
four sensors about 2 m around the capture volume, about 1 m high, in portrait (image x axis
pointing down, so the body lies along u with the head toward small u), with the real depth
intrinsics divided by 4 for the 320x180 maps. Images are ``(180, 320)`` before the 10-row
top/bottom crop that gives the ``(160, 320)`` input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dark.data.motions import SAMPLES_DIR, SENSORS, rig_frame
from dark.design.skeleton import INPUT_SIZE

#: the depth map of the sensor, (height, width) in pixels, before the crop
SENSOR_SIZE: tuple[int, int] = (180, 320)
#: rows cut off the top (and the bottom) of the sensor map to get ``INPUT_SIZE``
CROP: int = (SENSOR_SIZE[0] - INPUT_SIZE[0]) // 2


@dataclass(frozen=True)
class Rig:
    """Depth cameras at the sensor resolution (320x180).

    Attributes:
        names: sensor names.
        K: ``(V, 3, 3)`` intrinsics at 320x180 (the 1280x720 values divided by 4).
        R: ``(V, 3, 3)`` and t: ``(V, 3)``: camera -> world, ``X_w = R X_c + t``, metres.
    """

    names: tuple[str, ...]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """``(..., N, 3)`` world points -> ``(..., V, N, 3)`` in each camera's frame."""
        return np.einsum("vji,...vnj->...vni", self.R, points[..., None, :, :] - self.t[:, None, :])


def human4d_rig(samples_dir=None) -> Rig:
    """The HUMAN4D rig (real poses and depth intrinsics) at 320x180, from the bundled samples."""
    rig = rig_frame(samples_dir or SAMPLES_DIR)
    k = rig["K"].copy()
    k[:, :2, :] /= 4.0
    k[:, 2, 2] = 1.0
    return Rig(SENSORS, k, rig["R"], rig["t"])


def project(points_cam: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Pinhole projection ``u = fx X/Z + cx``, ``v = fy Y/Z + cy``.

    Args:
        points_cam: ``(..., N, 3)`` camera-frame points (Z > 0).
        k: ``(3, 3)`` or broadcastable ``(..., 3, 3)`` intrinsics.

    Returns:
        ``(..., N, 2)`` pixel coordinates (pixel index i has coordinate i) at the resolution of ``k``.
    """
    k = np.asarray(k)
    z = points_cam[..., 2]
    u = k[..., None, 0, 0] * points_cam[..., 0] / z + k[..., None, 0, 2]
    v = k[..., None, 1, 1] * points_cam[..., 1] / z + k[..., None, 1, 2]
    return np.stack([u, v], axis=-1)
