"""Real motion: pybullet_data mocap through our forward kinematics, the HUMAN4D skeletons and rig."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pybullet
import pybullet_data
import pytest

from dark.data import motions
from dark.data.render import BONES_S3_MM

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "human4d-samples"
STANDING = ("walk", "run", "punch", "kick", "dance_a", "dance_b", "spinkick")


@pytest.fixture(scope="module")
def clips() -> dict[str, motions.Motion]:
    return {m.name: m for m in motions.all_motions()}


def test_forward_kinematics_matches_pybullets_own(clips):
    """Our numpy FK against pybullet's: the same URDF, joint states set from the same frames."""
    path = Path(pybullet_data.getDataPath())
    clip = json.loads((path / "data/motions/humanoid3d_cartwheel.txt").read_text())
    frames = np.asarray(clip["Frames"])[::40]
    ours = motions.forward_kinematics(frames)
    client = pybullet.connect(pybullet.DIRECT)
    try:
        body = pybullet.loadURDF(
            str(path / "humanoid/humanoid.urdf"), globalScaling=0.25, physicsClientId=client
        )
        index = {
            pybullet.getJointInfo(body, i, physicsClientId=client)[1].decode(): i
            for i in range(pybullet.getNumJoints(body, physicsClientId=client))
        }
        for t, f in enumerate(frames):
            xyzw = lambda q: [q[1], q[2], q[3], q[0]]  # noqa: E731
            pybullet.resetBasePositionAndOrientation(body, f[1:4], xyzw(f[4:8]), physicsClientId=client)
            for link, (start, n) in motions._LAYOUT.items():
                if n == 4:
                    pybullet.resetJointStateMultiDof(
                        body, index[link], xyzw(f[start : start + 4]), physicsClientId=client
                    )
                else:
                    pybullet.resetJointState(body, index[link], f[start], physicsClientId=client)
            for link in motions._TREE:
                state = pybullet.getLinkState(
                    body, index[link], computeForwardKinematics=True, physicsClientId=client
                )
                np.testing.assert_allclose(ours[link][1][t], state[4], atol=1e-5)
                rot = np.asarray(pybullet.getMatrixFromQuaternion(state[5])).reshape(3, 3)
                np.testing.assert_allclose(ours[link][0][t], rot, atol=1e-5)
    finally:
        pybullet.disconnect(client)


def test_every_clip_is_there_in_metres(clips):
    assert list(clips) == ["running", *motions.MOCAP_CLIPS]
    for m in clips.values():
        assert m.joints.ndim == 3 and m.joints.shape[1:] == (33, 3) and len(m) >= 20
        assert np.isfinite(m.joints).all()
        height = m.joints[..., 2].max(axis=1) - m.joints[..., 2].min(axis=1)
        assert height.max() < 2.5, m.name  # metres, not URDF units (x4) or mm
    # thigh length of an adult, metres
    assert 0.35 < motions.bone_lengths(clips["walk"].joints)[0, 21] < 0.5  # Hips..RightLeg: bone 21


def test_bone_lengths_constant_over_each_clip(clips):
    for m in clips.values():
        lengths = motions.bone_lengths(m.joints)
        spread = lengths.max(axis=0) - lengths.min(axis=0)
        # forward kinematics: exact; the real skeletons: stored in whole mm
        assert spread.max() < (1e-9 if m.name != "running" else 4e-3), m.name


def _standing(j: np.ndarray) -> np.ndarray:
    """Frames with both feet on the floor (a toe joint of each foot below 8 cm)."""
    return (j[:, [25, 26], 2].min(axis=1) < 0.08) & (j[:, [31, 32], 2].min(axis=1) < 0.08)


def test_head_above_hips_when_standing(clips):
    for name in ("walk", "run", "jump", "punch", "dance_b", "running"):  # upright all along
        j = clips[name].joints
        assert (j[:, 8, 2] > j[:, 0, 2] + 0.45).all(), name  # HeadEnd over Hips
        assert (j[:, 5, 2] > j[:, 0, 2] + 0.3).all(), name  # Neck over Hips
    for name in ("kick", "spinkick", "dance_a"):
        j = clips[name].joints[_standing(clips[name].joints)]
        assert len(j) >= 10 and (j[:, 8, 2] > j[:, 0, 2] + 0.35).all(), name
    for name in STANDING:  # on the floor, not floating or sunk
        lowest = clips[name].joints[..., 2].min(axis=1)
        assert np.median(lowest) == pytest.approx(0.0, abs=0.08), name


def test_left_and_right_not_swapped(clips):
    # facing direction f (heel -> toe), up u: the right side lies along f x u, so
    # ((right - left) x u) . f = -|..| < 0 for a correctly labelled skeleton
    up = np.array([0.0, 0.0, 1.0])
    for name in (*STANDING, "running"):
        j = clips[name].joints
        j = j[_standing(j)] if name != "run" else j
        forward = (j[:, 25] - j[:, 23]) + (j[:, 31] - j[:, 29])  # both feet
        for right, left in ((21, 27), (10, 16)):  # hips, upper arms
            side = np.cross(j[:, right] - j[:, left], up)
            assert np.mean((side * forward).sum(-1) < 0) > 0.9, (name, right)


def test_the_real_skeletons_have_the_documented_shape():
    raw = np.load(SAMPLES / "INF_Running_S3_01_eval_3d.npy")
    assert raw.shape == (366, 99) and not raw[281:].any() and raw[:281].any(axis=1).all()
    m = motions.human4d_running()
    assert len(m) == 281
    lengths = motions.bone_lengths(raw[:281].reshape(-1, 33, 3)).mean(axis=0)
    np.testing.assert_allclose(BONES_S3_MM, lengths, atol=1.0)


def test_rig_recovered_from_the_annotations():
    rig = motions.rig_frame()
    with h5py.File(SAMPLES / "running_annot.h5", "r") as f:
        p3, cam = f["pose/3d"][()] / 1000.0, f["camera"][()]
    # the same frame seen by every sensor lands on the same world points (rigid rig, mm rounding)
    frame = 100
    world = [p3[cam == c][frame] @ rig["R"][c - 1].T + rig["t"][c - 1] for c in range(1, 5)]
    for w in world[1:]:
        assert np.abs(w - world[0]).max() < 0.02
    centres = rig["t"]
    assert np.allclose(np.linalg.norm(centres[:, :2], axis=1), 2.0, atol=0.15)  # ~2 m around the volume
    assert np.allclose(centres[:, 2], 1.0, atol=0.2)  # ~1 m high
    # portrait: every sensor's image x axis points down, so the body lies along u, head at small u
    assert (rig["R"][:, 2, 0] < -0.95).all()
    # the recording stands on the floor of that world frame
    feet = motions.human4d_running().joints[:, [26, 32], 2].min(axis=1)
    assert np.median(feet) == pytest.approx(0.03, abs=0.05)
