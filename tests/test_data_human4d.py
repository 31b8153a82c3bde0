"""The HUMAN4D reader: a tiny tree in exactly the documented format, and the real projection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import dark.data
from dark.data import human4d
from dark.data.human4d import Human4D, Human4DError
from dark.design.skeleton import HEATMAP_JOINTS

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "human4d-samples"
DEVICES = ("M72e", "M72h")
RECORDING = "19-07-12-10-12-49"
SKIP = 2
GROUPS = list(range(14))  # ids past 9: "10" must sort after "9"


def _rotation(yaw: float) -> np.ndarray:
    """Camera -> world rotation of a portrait sensor looking horizontally along yaw (world z up)."""
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    return np.stack([down, np.cross(forward, down), forward], axis=1)  # columns: camera x, y, z


CAMERAS = {  # device -> (K at 1280x720, R camera->world, t mm)
    "M72e": (
        np.array([[939.2, 0, 639.2], [0, 939.2, 350.4], [0, 0, 1]]),
        _rotation(0.0),
        np.array([-2000.0, 0, 1000]),
    ),
    "M72h": (
        np.array([[944.6, 0, 630.1], [0, 944.6, 362.0], [0, 0, 1]]),
        _rotation(np.pi / 2),
        np.array([0, -2000.0, 1000]),
    ),
}


def _pose(i: int) -> np.ndarray:
    """(1, 33, 3) world joints in mm: a standing figure around the origin, moving with i."""
    rng = np.random.default_rng(i)
    joints = np.zeros((33, 3))
    joints[:, 2] = np.linspace(1700, 50, 33)
    joints[:, :2] = rng.uniform(-250, 250, (33, 2))
    return joints[None].astype(np.float32)


def _pgm(values: np.ndarray, crlf: bool = False) -> str:
    rows = [" ".join(str(v) for v in row) for row in values]
    lines = ["P2", "# written by a test", f"{values.shape[1]} {values.shape[0]}", "# max", "65535", *rows]
    return ("\r\n" if crlf else "\n").join(lines) + "\n"


def _depth(group: int, device: int) -> np.ndarray:
    """A (180, 320) depth map (0.1 mm) that encodes the group and device, with some zeros."""
    d = np.full((180, 320), 30000 + 100 * group + device, dtype=np.int64)
    d[:, :5] = 0
    d[np.arange(180), np.arange(180)] = 65535 - group
    return d


def build_tree(root: Path, poses: int = 10) -> Path:
    """A HUMAN4D root: subject S2, one recording, groups 0..13 of four sensors of which two are in
    the device repository (two views), skip 2, CRLF offsets, some CRLF PGMs."""
    repo = [
        {
            "Device": dev,
            "Color Intrinsics": [{"1280x720": [1.0, 0, 1, 0, 1, 1, 0, 0, 1]}],
            "Depth Intrinsics": [{"640x480": [1.0] * 9}, {"1280x720": CAMERAS[dev][0].ravel().tolist()}],
            "Color Depth Rotation": [1, 0, 0, 0, 1, 0, 0, 0, 1],
            "Color Depth Translation": [0, 0, 0],
        }
        for dev in DEVICES
    ]
    root.mkdir(parents=True)
    (root / "device_repository.json").write_text(json.dumps(repo))
    subject = root / "S2"
    (subject / "pose").mkdir(parents=True)
    for dev in DEVICES:
        _, r, t = CAMERAS[dev]
        np.savetxt(subject / "pose" / f"{dev}.extrinsics", np.vstack([r, t]))
    (subject / "offsets.txt").write_bytes(f"19-07-12-09-00-00\t7\r\n{RECORDING}\t{SKIP}\r\n".encode())
    dump = subject / RECORDING / "Dump"
    (dump / "depth").mkdir(parents=True)
    (dump / "gposes3d").mkdir(parents=True)
    for g in GROUPS:  # all four sensors recorded (the skip counts 4 files a group); two are described
        for d, dev in enumerate((*DEVICES, "M72i", "M72j")):
            counter = 1000 + 7 * g + 3 * d  # the sensors' own counters differ
            (dump / "depth" / f"{g}_{dev}_depth_{counter}.pgm").write_text(
                _pgm(_depth(g, d), crlf=g % 2 == 1)
            )
    for i in range(poses):  # the pose list ends before the depth files do
        np.save(dump / "gposes3d" / f"{i}.npy", _pose(i))
    (root / "testing.txt").write_text("".join(f"{g} S2 {RECORDING}\n" for g in (3, 9, 10, 11)))
    (root / "validation.txt").write_text(f"12 S2 {RECORDING}\n")
    (root / "training.txt").write_text(f"1 S2 {RECORDING}\n")
    return root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return build_tree(tmp_path_factory.mktemp("h4d") / "human4d")


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    """A fresh copy of the tree for each test (tests corrupt it)."""
    return Path(shutil.copytree(pristine, tmp_path / "human4d"))


def test_every_field_of_every_sample(tree):
    data = Human4D(tree, "test")
    assert len(data) == 4 * len(DEVICES)
    for i, s in enumerate(data):
        g = (3, 9, 10, 11)[i // 2]
        dev = DEVICES[i % 2]
        assert (s.subject, s.activity, s.view, s.frame) == ("S2", RECORDING, dev, g)
        # depth: rows 10..169 of the PGM, 0.1 mm -> metres, zeros kept
        expected = _depth(g, DEVICES.index(dev))[10:170].astype(np.float64) / 1e4
        assert s.depth.dtype == np.float32 and s.depth.shape == (160, 320)
        np.testing.assert_allclose(s.depth, expected, rtol=0, atol=1e-6)
        # joints: pose g - skip, into the camera with R^T (X - t), homogeneous projection with K/4, rows - 10
        k, r, t = CAMERAS[dev]
        world = _pose(g - SKIP)[0].astype(np.float64)
        extr = np.hstack([r.T, -(r.T @ t)[:, None]])
        k_in = np.diag([0.25, 0.25, 1.0]) @ k
        hom = (k_in @ extr @ np.vstack([world.T, np.ones(33)])).T
        uv = hom[:, :2] / hom[:, 2:]
        uv[:, 1] -= 10
        assert s.joints.dtype == np.float64 and s.joints.shape == (18, 2)
        np.testing.assert_allclose(s.joints, uv[list(HEATMAP_JOINTS)], rtol=0, atol=1e-9)
        assert s.head_size == pytest.approx(np.linalg.norm(uv[8] - uv[5]), abs=1e-9)
        inside = (uv[list(HEATMAP_JOINTS), 0] > -0.5) & (uv[list(HEATMAP_JOINTS), 0] < 319.5)
        inside &= (uv[list(HEATMAP_JOINTS), 1] > -0.5) & (uv[list(HEATMAP_JOINTS), 1] < 159.5)
        # the maps are a flat wall at 3 m or more, behind every joint (about 2 m away): visible = inside
        np.testing.assert_array_equal(s.visible, inside)
        assert inside.sum() >= 10


def test_numeric_sort_and_skip(tree):
    # group 10 is the 11th group, not the 3rd: its pose is 10 - skip = 8
    s = Human4D(tree, "test", views=["M72h"])
    assert [x.frame for x in s] == [3, 9, 10, 11]
    expected = human4d.camera_from_world(_pose(8)[0].astype(np.float64), *CAMERAS["M72h"][1:])
    assert s[2].joints[0, 0] == pytest.approx(
        CAMERAS["M72h"][0][0, 0] / 4 * expected[0, 0] / expected[0, 2] + CAMERAS["M72h"][0][0, 2] / 4
    )


def test_missing_pose_and_skipped_range_raise_or_are_counted(tree):
    # val lists group 12: pose 12 - 2 = 10 does not exist; train lists group 1: dropped by the skip
    with pytest.raises(Human4DError, match=r"gposes3d/10\.npy.*missing pose"):
        Human4D(tree, "val")
    with pytest.raises(Human4DError, match="skip 2"):
        Human4D(tree, "train")
    lenient = Human4D(tree, "val", strict=False)
    assert len(lenient) == 0 and lenient.skipped["no pose"] == 2
    assert "2 no pose" in lenient.summary()


def test_corrupt_files_name_the_file(tree):
    depth_dir = tree / "S2" / RECORDING / "Dump" / "depth"
    bad = next(depth_dir.glob("9_M72e_depth_*.pgm"))
    bad.write_text(bad.read_text().replace("P2", "P5", 1))
    data = Human4D(tree, "test", views=["M72e"])
    with pytest.raises(Human4DError, match=f"{bad.name}.*'P2'"):
        data[1]
    truncated = next(depth_dir.glob("10_M72e_depth_*.pgm"))
    truncated.write_text(truncated.read_text()[:-2000])
    with pytest.raises(Human4DError, match=f"{truncated.name}.*57600 values"):
        data[2]
    (tree / "S2" / "pose" / "M72h.extrinsics").write_text("1 0 0\n0 1 0\n")
    with pytest.raises(Human4DError, match=r"M72h\.extrinsics.*4 rows"):
        Human4D(tree, "test")
    repo = json.loads((tree / "device_repository.json").read_text())
    repo[0]["Depth Intrinsics"] = [{"640x480": [1.0] * 9}]
    (tree / "device_repository.json").write_text(json.dumps(repo))
    with pytest.raises(Human4DError, match=r"device_repository\.json.*M72e.*1280x720"):
        Human4D(tree, "test")


def test_missing_depth_file(tree):
    next((tree / "S2" / RECORDING / "Dump" / "depth").glob("11_M72h_depth_*.pgm")).unlink()
    with pytest.raises(Human4DError, match="no depth file 11_M72h_depth"):
        Human4D(tree, "test")
    assert Human4D(tree, "test", strict=False).skipped["no depth"] == 1


def test_open_dispatches_on_the_root(tree, tmp_path):
    data = dark.data.open_split(tree, "test", views=["M72e"])
    assert isinstance(data, Human4D) and len(data) == 4
    with pytest.raises(FileNotFoundError, match="neither a rendered dataset"):
        dark.data.open_split(tmp_path, "test")


def test_pgm_comments_anywhere(tmp_path):
    path = tmp_path / "d.pgm"
    path.write_text("P2\n# c\n3 2 # width height\n9\n1 2 3\n# in the data\n4 5 6\n")
    np.testing.assert_array_equal(human4d.read_pgm(path), [[1, 2, 3], [4, 5, 6]])


# ---- the projection against the real annotations ----------------------------------------------


@pytest.fixture(scope="module")
def annot():
    with h5py.File(SAMPLES / "running_annot.h5", "r") as f:
        p3, p2, cam = f["pose/3d"][()], f["pose/2d"][()], f["camera"][()]
        ks = {d: f[f"intrinsics/{d}"][()].astype(np.float64) for d in ("M72e", "M72h", "M72i", "M72j")}
    keep = np.abs(p3).sum(axis=(1, 2)) > 0
    return p3[keep], p2[keep], cam[keep], ks


def test_projection_reproduces_the_stored_2d_of_every_view(annot):
    p3, p2, cam, ks = annot
    devices = list(ks)
    assert len(p3) == 900 - 8
    for c, dev in enumerate(devices, 1):
        sel = cam == c
        diff = human4d.project(p3[sel], ks[dev]) - p2[sel]
        assert diff.min() > -0.6 and diff.max() < 1.6, (dev, diff.min(), diff.max())
        for other in devices:
            if other != dev:
                wrong = human4d.project(p3[sel], ks[other]) - p2[sel]
                assert wrong.min() <= -0.6 or wrong.max() >= 1.6, (dev, other)


def test_input_intrinsics_is_quarter_scale_and_crop():
    k = np.array([[944.5665, 0, 630.11145], [0, 944.5665, 362.03357], [0, 0, 1]])
    p = np.array([[-541.0, 15.0, 1998.0]])
    full = human4d.project(p, k)
    small = human4d.project(p, human4d.input_intrinsics(k))
    np.testing.assert_allclose(small, full / 4 - [0, 10], atol=1e-12)


def test_a_joint_behind_something_nearer_is_hidden(tree):
    data = Human4D(tree, "test", views=["M72h"])
    before = data[0]
    x, y = np.rint(before.joints[0]).astype(int)  # Hips, about 2 m from the sensor
    assert before.visible[0]
    path = next((tree / "S2" / RECORDING / "Dump" / "depth").glob("3_M72h_depth_*.pgm"))
    values = human4d.read_pgm(path).astype(np.int64)
    values[y + 10 - 1 : y + 10 + 2, x - 1 : x + 2] = 10000  # something at 1 m over the joint's pixel
    path.write_text(_pgm(values))
    after = Human4D(tree, "test", views=["M72h"])[0]
    assert not after.visible[0]
    others = np.abs(np.rint(before.joints) - [x, y]).max(axis=1) > 1
    np.testing.assert_array_equal(after.visible[others], before.visible[others])


def test_clusters_are_recordings_and_the_link_counts_them(tree, tmp_path):
    from dark.data import synth

    # a second recording of S2 (no line in offsets.txt: skip 0), listed after the first
    shutil.copytree(tree / "S2" / RECORDING, tree / "S2" / "19-07-12-11-00-00")
    with (tree / "testing.txt").open("a") as f:
        f.write("5 S2 19-07-12-11-00-00\n")
    out = human4d.link_human4d(tree, tmp_path / "linked")
    data = dark.data.open_split(out, "test")
    assert [m[1] for m in data.metadata()] == [RECORDING] * 8 + ["19-07-12-11-00-00"] * 2
    np.testing.assert_array_equal(synth.clusters(data), [0] * 8 + [1] * 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["clusters"] == {"train": 0, "val": 0, "test": 2}
    assert manifest["placements"] == {"train": 1, "val": 1, "test": 1}


def test_the_training_data_digest_and_fingerprint_read_a_linked_root_as_the_root(tree, tmp_path):
    """``dark book --data-root`` links the root (``link_human4d``) and a recorded profile digests the linked
    directory: its digest and fingerprint are the root's (the link's manifest has no shards to list), both
    follow the training splits' joints, and neither sees the test split."""
    from dark.experiment.run_digest import training_data_digest, training_data_fingerprint

    (tree / "training.txt").write_text(f"3 S2 {RECORDING}\n4 S2 {RECORDING}\n")  # poses 1 and 2
    (tree / "validation.txt").write_text(f"5 S2 {RECORDING}\n")
    linked = human4d.link_human4d(tree, tmp_path / "linked")
    digest, print_ = training_data_digest(tree), training_data_fingerprint(tree)
    assert training_data_digest(linked) == digest and training_data_fingerprint(linked) == print_
    assert digest != print_
    (tree / "testing.txt").write_text(f"6 S2 {RECORDING}\n")  # the evaluation's split: no training changes
    assert training_data_digest(linked) == digest and training_data_fingerprint(linked) == print_
    pose = tree / "S2" / RECORDING / "Dump" / "gposes3d" / "2.npy"  # group 4's pose, a training frame
    np.save(pose, np.nextafter(np.load(pose), np.float32(np.inf)))  # last bits (mm): the digest sees them
    assert training_data_digest(linked) != digest and training_data_fingerprint(linked) == print_
    np.save(pose, np.load(pose) + 50)  # 5 cm in the world (poses are in mm): pixels on the image
    assert training_data_fingerprint(linked) != print_
