"""The data notebook's helpers: quantisation errors against the uniform law, tables, figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from dark.data import data_cli, human4d, plots
from dark.data.sample import Sample
from dark.design.skeleton import JOINTS_18


def _samples(n: int, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        joints = rng.uniform([0, 0], [319, 159], (18, 2))
        out.append(
            Sample(
                depth=rng.uniform(0.0, 5.0, (160, 320)).astype(np.float32),
                joints=joints,
                visible=rng.random(18) < 0.75,
                head_size=float(np.linalg.norm(joints[3] - joints[2])),
                subject="S4" if i % 2 else "S1",
                activity=("walk", "run", "jump")[i % 3],
                view=("M72e", "M72h", "M72i", "M72j")[i % 4],
                frame=i // 4,
            )
        )
    return out


def test_quantisation_errors_use_the_encoders_rounding_rule():
    """Halves round up, as the encoders do (numpy's np.round would send 2.5 to 2 and 10 to 8)."""
    joints = np.array([[2.5, 3.5], [10.0, 6.0], [41.2, 22.4]])  # 10 input px = 2.5 heatmap px
    errors = plots.quantisation_errors(joints)
    np.testing.assert_allclose(errors["input"], [[0.5, 0.5], [0.0, 0.0], [-0.2, -0.4]], atol=1e-12)
    np.testing.assert_allclose(errors["heatmap"][1], [2.0, 2.0], atol=1e-12)  # 2.5 -> 3, 1.5 -> 2
    ceil = plots.quantisation_errors(joints, rounding="ceil")
    np.testing.assert_allclose(ceil["input"], [[0.5, 0.5], [0.0, 0.0], [0.8, 0.6]], atol=1e-12)


def test_quantisation_errors_follow_the_grids():
    rng = np.random.default_rng(1)
    joints = rng.uniform([0, 0], [319, 159], (4000, 18, 2))
    errors = plots.quantisation_errors(joints)
    assert errors["input"].shape == errors["heatmap"].shape == (4000 * 18, 2)
    # input grid: floor(x + 0.5) - x, within half a pixel; uniform RMS 1/sqrt(12)
    np.testing.assert_allclose(errors["input"], np.floor(joints + 0.5).reshape(-1, 2) - joints.reshape(-1, 2))
    assert np.abs(errors["input"]).max() <= 0.5
    # heatmap grid (stride 4, heatmap px = input px / 4): 4 floor(x / 4 + 0.5) - x, within 2 input px
    np.testing.assert_allclose(
        errors["heatmap"], (4 * np.floor(joints / 4 + 0.5) - joints).reshape(-1, 2), atol=1e-12
    )
    table = plots.quantisation_summary(errors)
    assert table.loc[("input", "x"), "RMS (px)"] == pytest.approx(1 / np.sqrt(12), rel=0.02)
    assert table.loc[("heatmap", "y"), "RMS (px)"] == pytest.approx(4 / np.sqrt(12), rel=0.02)
    assert table.loc[("heatmap", "euclidean"), "RMS (px)"] == pytest.approx(4 / np.sqrt(6), rel=0.02)
    assert table.loc[("heatmap", "x"), "max |error| (px)"] <= 2.0
    # a visibility mask keeps only the visible joints
    vis = np.zeros((4000, 18), bool)
    vis[:10, 0] = True
    assert plots.quantisation_errors(joints, vis)["input"].shape == (10, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        plots.quantisation_errors(joints[..., :1])


def test_bones_connect_every_heatmap_joint_once():
    bones = plots.bones_18()
    assert len(bones) == len(JOINTS_18) - 1  # a tree over the 18 joints, rooted at Hips
    children = [c for _, c in bones]
    assert sorted(children) == list(range(1, 18))
    named = {(JOINTS_18[a], JOINTS_18[b]) for a, b in bones}
    assert ("Neck", "HeadEnd") in named and ("RightForeArm", "RightHand") in named
    assert ("Hips", "RightUpLeg") in named and ("Spine1", "Neck") in named


def test_split_table_and_figures():
    samples = _samples(12)
    table = plots.split_table({"train": samples[:8], "test": samples[8:]})
    assert table.loc["train", "views"] == 8 and table.loc["test", "views"] == 4
    assert table.loc["train", "frames"] == len({(s.subject, s.activity, s.frame) for s in samples[:8]})
    assert table.loc["train", "subjects"] == "S1, S4"
    expected = 100 * np.mean([s.visible for s in samples[:8]])
    assert table.loc["train", "visible joints (%)"] == pytest.approx(expected)
    fig = plots.show_samples(samples, ncols=3)
    assert len(fig.axes) == 9  # 8 samples by default, on a 3-column grid
    fig = plots.quantisation_histogram(plots.quantisation_errors(np.stack([s.joints for s in samples])))
    assert len(fig.axes) == 2
    np.testing.assert_allclose(plots.head_sizes(samples), [s.head_size for s in samples])


def test_show_rig():
    from dark.data import render

    rig = render.human4d_rig()
    fig = plots.show_rig(rig, {"a path": np.zeros((5, 2))}, room_half=3.0)
    ax = fig.axes[0]
    drawn = np.concatenate([line.get_xydata() for line in ax.lines if line.get_marker() == "s"])
    np.testing.assert_allclose(drawn, rig.t[:, :2])  # every sensor where the rig puts it


def test_link_human4d(tmp_path):
    from test_data_human4d import build_tree

    import dark.data

    root = build_tree(tmp_path / "h4d")
    out = human4d.link_human4d(root, tmp_path / "linked")
    data = dark.data.open_split(out, "test")
    assert len(data) == 8 and data[0].view == "M72e"
    table = plots.split_table({"test": data})
    assert table.loc["test", "frames"] == 4
    assert data_cli.cli(["--human4d", str(root), "--out", str(tmp_path / "cli")]) == 0
