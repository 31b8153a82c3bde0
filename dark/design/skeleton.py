"""The HUMAN4D skeleton: the 33 motion-capture joints and the 18 heatmap joints of the report.

Indices follow HUMAN4D's order (see ``data/human4d-samples/README.md``).
"""

from __future__ import annotations

#: the 33 HUMAN4D joints, in the dataset's order
JOINTS_33: tuple[str, ...] = (
    "Hips", "Spine", "Spine1", "Spine2", "Spine3", "Neck", "Neck1", "Head", "HeadEnd",
    "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightHandThumb1", "RightHandMiddle1",
    "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftHandThumb1", "LeftHandMiddle1",
    "RightUpLeg", "RightLeg", "RightFoot", "RightForeFoot", "RightToeBase", "RightToeBaseEnd",
    "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftForeFoot", "LeftToeBase", "LeftToeBaseEnd",
)  # fmt: skip

#: indices (into ``JOINTS_33``) of the report's 18 heatmap joints, in heatmap order
HEATMAP_JOINTS: tuple[int, ...] = (0, 2, 5, 8, 10, 11, 12, 16, 17, 18, 21, 22, 23, 25, 27, 28, 29, 31)

#: names of the 18 heatmap joints, in heatmap order
JOINTS_18: tuple[str, ...] = tuple(JOINTS_33[i] for i in HEATMAP_JOINTS)

#: PCKh's head segment, as indices into ``JOINTS_33``: Neck -> HeadEnd
HEAD_SEGMENT_33: tuple[int, int] = (5, 8)

#: the same segment as indices into the 18 heatmap joints (Neck is 2, HeadEnd is 3)
HEAD_SEGMENT_18: tuple[int, int] = (
    HEATMAP_JOINTS.index(HEAD_SEGMENT_33[0]),
    HEATMAP_JOINTS.index(HEAD_SEGMENT_33[1]),
)

#: input depth-map size after the 10-row top/bottom crop, (height, width) in pixels
INPUT_SIZE: tuple[int, int] = (160, 320)

#: heatmap stride of both models (input px per heatmap px)
STRIDE: int = 4
