"""Real motion on the 33-joint HUMAN4D skeleton, in metres, in a z-up world frame.

Two sources, both real motion capture:

- the bundled HUMAN4D running skeletons (subject S3, ``data/human4d-samples/``), expressed in the
  world frame of the HUMAN4D rig (see :func:`rig_frame`);
- the DeepMimic motion-capture clips that PyPI's ``pybullet`` ships in ``pybullet_data/data/motions``
  (``humanoid3d_walk``, ``run``, ...). pybullet is only the carrier of these files: we read the JSON
  ourselves, run the forward kinematics of ``pybullet_data/humanoid/humanoid.urdf`` in numpy and
  retarget the humanoid's links onto the HUMAN4D joints; no simulation is involved.

World frame: x, y horizontal, z up, metres, floor at ``z = 0``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dark.design.skeleton import JOINTS_33

#: parent of each of the 33 HUMAN4D joints (-1 for the root, Hips)
PARENTS_33: tuple[int, ...] = (
    -1, 0, 1, 2, 3, 4, 5, 6, 7,       # Hips .. HeadEnd
    4, 9, 10, 11, 12, 12,             # right shoulder .. hand fingers
    4, 15, 16, 17, 18, 18,            # left
    0, 21, 22, 23, 24, 25,            # right leg
    0, 27, 28, 29, 30, 31,            # left leg
)  # fmt: skip

#: the bundled real samples, relative to the repository root
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "data" / "human4d-samples"

#: the HUMAN4D depth sensors, in the order of ``running_annot.h5``'s ``camera`` ids 1..4
SENSORS: tuple[str, ...] = ("M72e", "M72h", "M72i", "M72j")

#: the pybullet_data DeepMimic clips used (``humanoid3d_<name>.txt``)
MOCAP_CLIPS: tuple[str, ...] = (
    "walk", "run", "jump", "kick", "punch", "spinkick", "dance_a", "dance_b", "cartwheel",
    "backflip", "crawl", "roll", "getup_faceup", "getup_facedown", "spin",
)  # fmt: skip

#: frame rate every motion is resampled to (nearest existing frame, no interpolation)
FPS: float = 30.0

#: the URDF humanoid is modelled 4x too large; pybullet loads it with globalScaling=0.25
_URDF_SCALE = 0.25


@dataclass(frozen=True)
class Motion:
    """One clip of real motion.

    Attributes:
        name: activity name (``"running"``, ``"walk"``, ...).
        joints: ``(T, 33, 3)`` float64, metres, world frame (z up, floor at 0), HUMAN4D joint order.
        fps: frames per second of ``joints``.
        source: where the motion comes from (file name and origin).
    """

    name: str
    joints: np.ndarray
    fps: float
    source: str

    def __len__(self) -> int:
        return len(self.joints)


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Length of the bone from each joint's parent to it.

    Args:
        joints: ``(..., 33, 3)`` positions.

    Returns:
        ``(..., 32)`` lengths (joints 1..32), in the unit of ``joints``.
    """
    parents = np.asarray(PARENTS_33[1:])
    return np.linalg.norm(joints[..., 1:, :] - joints[..., parents, :], axis=-1)


# ----------------------------------------------------------------------------------------------
# HUMAN4D rig and bundled running skeletons


def _kabsch(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rigid ``(R, t)`` minimising ``|R p + t - q|`` over ``(N, 3)`` point pairs."""
    mp, mq = p.mean(0), q.mean(0)
    u, _, vt = np.linalg.svd((p - mp).T @ (q - mq))
    d = np.sign(np.linalg.det(vt.T @ u.T))
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    return r, mq - r @ mp


def rig_frame(samples_dir: Path | str = SAMPLES_DIR) -> dict[str, np.ndarray]:
    """The HUMAN4D rig, recovered from the bundled ``running_annot.h5``.

    The same 3D joints are stored in each sensor's camera frame, so a rigid fit (Kabsch) between
    the sensors' copies gives the relative camera poses. The world frame is then: z up (opposite
    to the mean of the sensors' x axes: they were mounted in portrait, x pointing down), the floor
    2 cm below the 2nd percentile of the lowest toe joint over the recording, origin below the centre of the
    four sensors.

    Returns:
        dict with ``"K"`` ``(4, 3, 3)`` depth intrinsics at 1280x720, ``"R"`` ``(4, 3, 3)`` and ``"t"``
        ``(4, 3)`` camera -> world (``X_w = R X_c + t``, metres), ``"M72h_to_world"`` ``(4, 4)``.
    """
    import h5py

    with h5py.File(Path(samples_dir) / "running_annot.h5", "r") as f:
        p3 = f["pose/3d"][()] / 1000.0
        cam = f["camera"][()]
        ks = np.stack([f[f"intrinsics/{s}"][()] for s in SENSORS]).astype(np.float64)
    valid = np.abs(p3).sum(axis=(1, 2)) > 0
    ref = SENSORS.index("M72h") + 1
    # pair the entries of each sensor with the reference sensor's, frame by frame
    to_ref = []
    for c in range(1, 5):
        a, b = np.where((cam == c) & valid)[0], np.where((cam == ref) & valid)[0]
        n = min(len(a), len(b))
        to_ref.append(_kabsch(p3[a[:n]].reshape(-1, 3), p3[b[:n]].reshape(-1, 3)))
    x_axes = np.stack([r[:, 0] for r, _ in to_ref])
    up = -x_axes.mean(0)
    up /= np.linalg.norm(up)
    centres = np.stack([t for _, t in to_ref])
    fwd = centres.mean(0) - centres[ref - 1]  # from M72h toward the middle of the rig
    fwd -= up * (fwd @ up)
    fwd /= np.linalg.norm(fwd)
    rot = np.stack([fwd, np.cross(up, fwd), up])  # rows: world axes in M72h coordinates
    ref_joints = p3[(cam == ref) & valid]
    toes = ref_joints[:, [26, 32]] @ up
    floor = np.percentile(toes.min(axis=1), 2.0) - 0.02  # toe joints ~2 cm above the floor
    mid = centres.mean(0)
    origin = mid - up * (mid @ up - floor)
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot, -rot @ origin
    r_w = np.stack([rot @ r for r, _ in to_ref])
    t_w = np.stack([rot @ (t - origin) for _, t in to_ref])
    return {"K": ks, "R": r_w, "t": t_w, "M72h_to_world": m}


def human4d_running(samples_dir: Path | str = SAMPLES_DIR) -> Motion:
    """The bundled real HUMAN4D running skeletons (S3), in the rig's world frame (metres).

    Read from ``INF_Running_S3_01_eval_3d.npy`` (rows 0-280: 33 joints in sensor M72h's frame, mm).
    """
    path = Path(samples_dir) / "INF_Running_S3_01_eval_3d.npy"
    raw = np.load(path).reshape(-1, 33, 3)
    raw = raw[np.abs(raw).sum(axis=(1, 2)) > 0] / 1000.0
    m = rig_frame(samples_dir)["M72h_to_world"]
    joints = raw @ m[:3, :3].T + m[:3, 3]
    return Motion("running", joints, FPS, f"HUMAN4D {path.name} (real, S3)")


# ----------------------------------------------------------------------------------------------
# pybullet_data DeepMimic clips


def _urdf_path() -> Path:
    import pybullet_data

    return Path(pybullet_data.getDataPath())


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """``(..., 4)`` quaternions (w, x, y, z) -> ``(..., 3, 3)`` rotation matrices."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def _rot_z(angle: np.ndarray) -> np.ndarray:
    """``(...,)`` angles (rad) -> ``(..., 3, 3)`` rotations about z."""
    c, s = np.cos(angle), np.sin(angle)
    zero, one = np.zeros_like(c), np.ones_like(c)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)], -2
    )


def _urdf_joint_origins(urdf: Path) -> dict[str, np.ndarray]:
    """``joint name -> origin xyz`` (URDF units) of the humanoid's joints, from the URDF file."""
    import xml.etree.ElementTree as ET

    text = urdf.read_bytes().replace(b"\x00", b"").decode()
    origins = {}
    for joint in ET.fromstring(text).iter("joint"):
        origin = joint.find("origin")
        origins[joint.get("name")] = np.array([float(v) for v in origin.get("xyz").split()])
    return origins


# HUMAN4D joints as points in the humanoid's link frames (URDF units, before the 0.25 scale)
_ON_LINK: dict[str, tuple[str, tuple[float, float, float]]] = {
    "Hips": ("root", (0.0, 0.0, 0.0)),
    "Spine": ("root", (0.0, 0.32, 0.0)),
    "Spine1": ("root", (0.0, 0.64, 0.0)),
    "Spine2": ("chest", (0.0, 0.0, 0.0)),
    "Spine3": ("chest", (0.0, 0.45, 0.0)),
    "Neck": ("neck", (0.0, 0.0, 0.0)),
    "Neck1": ("neck", (0.02, 0.22, 0.0)),
    "Head": ("neck", (0.05, 0.45, 0.0)),
    "HeadEnd": ("neck", (0.02, 0.9, 0.0)),
    "RightShoulder": ("chest", (-0.02, 0.9, 0.0)),  # like HUMAN4D: both at the top of the spine
    "RightArm": ("right_shoulder", (0.0, 0.0, 0.0)),
    "RightForeArm": ("right_elbow", (0.0, 0.0, 0.0)),
    "RightHand": ("right_wrist", (0.0, 0.0, 0.0)),
    "RightHandThumb1": ("right_wrist", (0.1, -0.12, 0.0)),
    "RightHandMiddle1": ("right_wrist", (0.0, -0.32, 0.0)),
    "RightUpLeg": ("right_hip", (0.0, 0.0, 0.0)),
    "RightLeg": ("right_knee", (0.0, 0.0, 0.0)),
    "RightFoot": ("right_ankle", (0.0, 0.0, 0.0)),
    "RightForeFoot": ("right_ankle", (0.2, -0.12, 0.0)),
    "RightToeBase": ("right_ankle", (0.38, -0.14, 0.0)),
    "RightToeBaseEnd": ("right_ankle", (0.52, -0.15, 0.0)),
}
for _name, (_link, _xyz) in list(_ON_LINK.items()):
    if _name.startswith("Right"):
        _left_link = "left" + _link[5:] if _link.startswith("right") else _link
        _ON_LINK["Left" + _name[5:]] = (_left_link, (_xyz[0], _xyz[1], -_xyz[2]))  # mirror z

# DeepMimic frame layout: offset of each joint's rotation in the 44 numbers of a frame
_LAYOUT = {
    "chest": (8, 4), "neck": (12, 4), "right_hip": (16, 4), "right_knee": (20, 1),
    "right_ankle": (21, 4), "right_shoulder": (25, 4), "right_elbow": (29, 1),
    "left_hip": (30, 4), "left_knee": (34, 1), "left_ankle": (35, 4),
    "left_shoulder": (39, 4), "left_elbow": (43, 1),
}  # fmt: skip
_TREE = {
    "chest": "root", "neck": "chest", "right_hip": "root", "right_knee": "right_hip",
    "right_ankle": "right_knee", "right_shoulder": "chest", "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow", "left_hip": "root", "left_knee": "left_hip",
    "left_ankle": "left_knee", "left_shoulder": "chest", "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
}  # fmt: skip

#: pybullet's y-up humanoid frame (x forward, z to the right) -> our z-up world
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def forward_kinematics(
    frames: np.ndarray, urdf: Path | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Forward kinematics of pybullet's DeepMimic humanoid.

    Args:
        frames: ``(T, 44)`` DeepMimic frames (duration, root xyz, root quaternion w-first, then the
            joints' quaternions / revolute angles).
        urdf: the humanoid URDF (default: pybullet_data's ``humanoid/humanoid.urdf``).

    Returns:
        ``link -> (R (T, 3, 3), p (T, 3))``: each joint frame in pybullet's y-up world, metres.
    """
    urdf = urdf or _urdf_path() / "humanoid" / "humanoid.urdf"
    origins = {k: v * _URDF_SCALE for k, v in _urdf_joint_origins(urdf).items()}
    pose = {"root": (_quat_to_matrix(frames[:, 4:8]), frames[:, 1:4].astype(np.float64))}
    for link, parent in _TREE.items():  # parents come first in _TREE's order
        r_p, p_p = pose[parent]
        p = p_p + np.einsum("tij,j->ti", r_p, origins[link])
        if link in _LAYOUT:
            start, n = _LAYOUT[link]
            local = _quat_to_matrix(frames[:, start : start + 4]) if n == 4 else _rot_z(frames[:, start])
            r = r_p @ local
        else:
            r = r_p
        pose[link] = (r, p)
    return pose


def _resample(durations: np.ndarray, fps: float) -> np.ndarray:
    """Indices of the frames nearest to a regular ``fps`` clock (durations: (T,) seconds)."""
    times = np.concatenate([[0.0], np.cumsum(durations[:-1])])
    clock = np.arange(0.0, times[-1] + 1e-9, 1.0 / fps)
    return np.unique(np.abs(times[None, :] - clock[:, None]).argmin(axis=1))


def mocap_clip(name: str, fps: float = FPS) -> Motion:
    """One pybullet_data DeepMimic clip, retargeted to the 33 HUMAN4D joints, metres, z-up world.

    Frames are resampled to ``fps`` by taking the nearest recorded frame (bone lengths stay exact).
    The root's horizontal drift (a least-squares line over time) is removed and the clip is centred
    over the origin, so that travelling clips stay inside the capture volume (like a treadmill).
    """
    path = _urdf_path() / "data" / "motions" / f"humanoid3d_{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such pybullet_data motion clip (known: {', '.join(MOCAP_CLIPS)})"
        )
    frames = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != 44:
        raise ValueError(f"{path}: expected frames of 44 numbers, got shape {frames.shape}")
    frames = frames[_resample(frames[:, 0], fps)]
    pose = forward_kinematics(frames)
    joints = np.empty((len(frames), 33, 3))
    for j, joint_name in enumerate(JOINTS_33):
        link, xyz = _ON_LINK[joint_name]
        r, p = pose[link]
        joints[:, j] = p + np.einsum("tij,j->ti", r, np.asarray(xyz) * _URDF_SCALE)
    joints = joints @ _Y_UP_TO_Z_UP.T
    # remove the horizontal drift of the root, centre the clip over the origin
    t = np.arange(len(joints), dtype=np.float64)
    design = np.stack([np.ones_like(t), t], 1)
    coef, *_ = np.linalg.lstsq(design, joints[:, 0, :2], rcond=None)
    joints[..., :2] -= (design @ coef)[:, None, :]
    return Motion(name, joints, fps, f"pybullet_data/data/motions/{path.name} (DeepMimic mocap)")


def all_motions(samples_dir: Path | str = SAMPLES_DIR) -> list[Motion]:
    """Every motion: the real HUMAN4D running skeletons first, then the pybullet_data clips."""
    return [human4d_running(samples_dir)] + [mocap_clip(name) for name in MOCAP_CLIPS]
