"""The rendered bodies: four subjects' proportions, retargeting a motion to them, their capsules.

The body is a set of capsules (a segment with a radius) along the bones of the 33-joint skeleton;
each subject scales the real HUMAN4D S3 skeleton's bone lengths and the capsule radii.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dark.data.motions import PARENTS_33

#: mean bone lengths (mm) of the real HUMAN4D S3 running skeletons, bone i ends at joint i + 1
#: (checked against ``data/human4d-samples`` by the tests)
BONES_S3_MM: tuple[int, ...] = (
    121, 97, 97, 97, 126, 51, 51, 97, 104, 188, 288, 230, 45, 73,
    104, 188, 288, 230, 45, 73, 72, 440, 420, 44, 171, 57, 72, 440, 420, 44, 171, 60,
)  # fmt: skip

# body capsules: (joint a, joint b, start fraction, end fraction along a->b, radius in metres)
_CAPSULES: tuple[tuple[int, int, float, float, float], ...] = (
    (0, 2, 0.0, 1.0, 0.115),  # pelvis -> belly
    (2, 4, 0.0, 1.0, 0.125),  # chest
    (4, 5, 0.0, 1.0, 0.07),  # upper chest -> neck base
    (21, 27, 0.0, 1.0, 0.085),  # hip bar
    (10, 16, 0.0, 1.0, 0.06),  # shoulder bar
    (5, 6, 0.0, 1.0, 0.05),  # neck
    (6, 8, 0.3, 0.5, 0.095),  # head: its top 2 cm above HeadEnd
    (10, 11, 0.0, 1.0, 0.045), (16, 17, 0.0, 1.0, 0.045),  # upper arms
    (11, 12, 0.0, 1.0, 0.037), (17, 18, 0.0, 1.0, 0.037),  # forearms
    (12, 14, 0.0, 1.0, 0.035), (18, 20, 0.0, 1.0, 0.035),  # hands
    (21, 22, 0.0, 1.0, 0.075), (27, 28, 0.0, 1.0, 0.075),  # thighs
    (22, 23, 0.0, 1.0, 0.055), (28, 29, 0.0, 1.0, 0.055),  # shins
    (23, 26, 0.0, 1.0, 0.045), (29, 32, 0.0, 1.0, 0.045),  # feet
)  # fmt: skip


@dataclass(frozen=True)
class Subject:
    """Body proportions of one rendered subject, relative to the real S3 skeleton.

    Attributes:
        name: ``"S1"`` .. ``"S4"``.
        height: scale of every bone.
        arms, legs, torso: extra scales of those bones' lengths.
        girth: scale of every capsule radius.
    """

    name: str
    height: float
    arms: float = 1.0
    legs: float = 1.0
    torso: float = 1.0
    girth: float = 1.0

    def bone_lengths(self) -> np.ndarray:
        """``(32,)`` bone lengths in metres (bone i ends at joint i + 1)."""
        lengths = np.asarray(BONES_S3_MM, dtype=np.float64) / 1000.0 * self.height
        joint = np.arange(1, 33)
        lengths[(joint >= 1) & (joint <= 8)] *= self.torso
        lengths[(joint >= 9) & (joint <= 20)] *= self.arms
        lengths[joint >= 21] *= self.legs
        return lengths


#: the four subjects; S4 (unseen in training, as in the report) has a different build
SUBJECTS: dict[str, Subject] = {
    "S1": Subject("S1", height=1.00),
    "S2": Subject("S2", height=0.93, legs=1.03, girth=0.88),
    "S3": Subject("S3", height=1.06, arms=1.03, torso=0.97, girth=1.08),
    "S4": Subject("S4", height=0.97, arms=1.06, legs=0.95, torso=1.04, girth=1.18),
}


def retarget(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Give a skeleton new bone lengths, keeping every bone's direction.

    The hips keep their position, then the whole clip moves vertically so that its lowest joints
    keep their height over the floor (the 2nd percentile over frames of each frame's lowest joint).

    Args:
        joints: ``(T, 33, 3)`` metres, world frame (z up).
        lengths: ``(32,)`` new bone lengths in metres (bone i ends at joint i + 1).

    Returns:
        ``(T, 33, 3)`` retargeted joints.
    """
    out = np.empty_like(joints)
    old = np.linalg.norm(joints[:, 1:] - joints[:, list(PARENTS_33[1:])], axis=-1)
    out[:, 0] = joints[:, 0]
    for j in range(1, 33):  # parents come before children in HUMAN4D's order
        p = PARENTS_33[j]
        direction = (joints[:, j] - joints[:, p]) / np.maximum(old[:, j - 1 : j], 1e-9)
        out[:, j] = out[:, p] + direction * lengths[j - 1]
    floor_old = np.percentile(joints[..., 2].min(axis=1), 2.0)
    out[..., 2] += floor_old - np.percentile(out[..., 2].min(axis=1), 2.0)
    return out


def capsules(joints: np.ndarray, girth: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body's capsules for skeletons.

    Args:
        joints: ``(..., 33, 3)``.
        girth: scale of the radii.

    Returns:
        ``(a, b, r)``: endpoints ``(..., C, 3)`` and radii ``(C,)`` (metres).
    """
    ia, ib, s0, s1, r = (np.asarray(c) for c in zip(*_CAPSULES, strict=True))
    pa, pb = joints[..., ia, :], joints[..., ib, :]
    a = pa + s0[:, None] * (pb - pa)
    b = pa + s1[:, None] * (pb - pa)
    return a, b, r * girth
