"""A HUMAN4D-like depth renderer: capsule bodies seen by four portrait D415 depth sensors.

:func:`render_views` renders frames of one subject from every camera of the rig; its parts live by idea
and are re-exported here, so ``dark.data.render`` is the renderer's one name:

- :mod:`dark.data.body`: the subjects (``Subject``, ``SUBJECTS``, ``BONES_S3_MM``), ``retarget`` and the
  body's ``capsules`` along the bones of the 33-joint skeleton;
- :mod:`dark.data.cameras`: the sensor grid (``SENSOR_SIZE``, ``CROP``), the HUMAN4D ``Rig``
  (``human4d_rig``) and ``project``;
- :mod:`dark.data.raycast`: the capsule ray caster (``ray_capsule``, ``render_capsules``), the room
  (``render_room``, ``ROOM_HALF``, ``ROOM_HEIGHT``) and ``unoccluded``;
- :mod:`dark.data.noise`: the sensor model (``SensorNoise``, ``add_sensor_noise``) and the 16-bit
  depth unit (``DEPTH_UNIT``, ``MAX_DEPTH``).

Images are ``(180, 320)`` before the 10-row top/bottom crop that gives the ``(160, 320)`` input.
"""

from __future__ import annotations

import numpy as np

from dark.data.body import BONES_S3_MM, SUBJECTS, Subject, capsules, retarget
from dark.data.cameras import CROP, SENSOR_SIZE, Rig, human4d_rig, project
from dark.data.noise import DEPTH_UNIT, MAX_DEPTH, SensorNoise, add_sensor_noise
from dark.data.raycast import ROOM_HALF, ROOM_HEIGHT, ray_capsule, render_capsules, render_room, unoccluded
from dark.design.skeleton import HEAD_SEGMENT_18, HEATMAP_JOINTS, INPUT_SIZE

__all__ = [
    "BONES_S3_MM",
    "CROP",
    "DEPTH_UNIT",
    "MAX_DEPTH",
    "ROOM_HALF",
    "ROOM_HEIGHT",
    "SENSOR_SIZE",
    "SUBJECTS",
    "Rig",
    "SensorNoise",
    "Subject",
    "add_sensor_noise",
    "capsules",
    "human4d_rig",
    "project",
    "ray_capsule",
    "render_capsules",
    "render_room",
    "render_views",
    "retarget",
    "unoccluded",
]


def render_views(joints_world: np.ndarray, rig: Rig, subject: Subject, room: np.ndarray,
                 noise: SensorNoise | None, rng: np.random.Generator) -> dict[str, np.ndarray]:  # fmt: skip
    """Render frames of one subject from every camera of the rig, and their 18 joints.

    Args:
        joints_world: ``(T, 33, 3)`` the subject's skeletons (already retargeted), metres, world.
        rig: the cameras (V of them).
        subject: for the capsule radii.
        room: ``(V, 180, 320)`` the empty room's depth (:func:`render_room`).
        noise: the sensor model, or ``None`` for the clean depth (float, metres, in ``"clean"``).
        rng: random stream for the noise.

    Returns:
        dict of arrays over the ``T * V`` views (frame-major):
        ``"depth"`` ``(N, 160, 320)`` uint16 0.1 mm (cropped), ``"clean"`` ``(N, 160, 320)`` float32
        metres (cropped, noise-free), ``"joints"`` ``(N, 18, 2)`` float64 input px,
        ``"visible"`` ``(N, 18)`` bool, ``"head_size"`` ``(N,)`` float64 input px, ``"joint_depth"``
        ``(N, 18)`` metres, ``"view"`` ``(N,)`` camera index.
    """
    nt, nv = len(joints_world), len(rig.K)
    cam = rig.to_camera(joints_world).reshape(nt * nv, 33, 3)  # (T*V, 33, 3)
    view = np.tile(np.arange(nv), nt)
    a, b, r = capsules(cam, subject.girth)
    k = rig.K[view]
    body = render_capsules(a, b, r, k)
    clean = np.minimum(body, room[view])
    depth = add_sensor_noise(clean, noise, rng)[:, CROP:-CROP] if noise is not None else None
    clean = clean[:, CROP:-CROP]

    uv = project(cam, k)  # (N, 33, 2) at 320x180
    uv[..., 1] -= CROP
    j18 = uv[:, list(HEATMAP_JOINTS)]
    z18 = cam[:, list(HEATMAP_JOINTS), 2]
    h, w = INPUT_SIZE
    inside = (j18[..., 0] > -0.5) & (j18[..., 0] < w - 0.5) & (j18[..., 1] > -0.5) & (j18[..., 1] < h - 0.5)
    visible = inside & (z18 > 0) & unoccluded(cam[:, list(HEATMAP_JOINTS)], a, b, r)
    # and not behind the floor or a wall (a foot sunk into the floor)
    iu = np.clip(np.rint(j18[..., 0]).astype(np.int64), 0, w - 1)
    iv = np.clip(np.rint(j18[..., 1]).astype(np.int64), 0, h - 1)
    visible &= z18 < room[view[:, None], iv + CROP, iu]
    neck, head = HEAD_SEGMENT_18
    head_size = np.linalg.norm(j18[:, head] - j18[:, neck], axis=-1)
    return {
        "depth": depth,
        "clean": clean,
        "joints": j18,
        "visible": visible,
        "head_size": head_size,
        "joint_depth": z18,
        "view": view,
    }
