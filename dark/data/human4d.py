"""Reader of the real HUMAN4D dataset (Chatzitofis et al. 2020), as laid out on Zenodo.

Layout (``data/human4d-samples/README.md`` documents it in full)::

    root/device_repository.json            per sensor: "Device", "Depth Intrinsics" [{"1280x720": K}, ...]
    root/training.txt | validation.txt | testing.txt     lines "<group> <subject> <recording>"
    root/Sn/offsets.txt                     lines "<recording>\\t<skip>" (CRLF allowed)
    root/Sn/pose/<DEV>.extrinsics           4x3 text: rows 0-2 R, row 3 t (mm), camera -> world
    root/Sn/<recording>/Dump/depth/<group>_<DEV>_depth_<counter>.pgm    ASCII P2, 0.1 mm, 320x180
    root/Sn/<recording>/Dump/gposes3d/<i>.npy                            (people, 33, 3) mm, world

A recording's depth files are sorted numerically, its first ``4 (skip + 1)`` files are dropped and
group ``g`` takes its pose from ``gposes3d/(g - skip).npy``. A split file line stands for the four
sensors of one group. Joints go into a camera by ``X_c = R^T (X_w - t)`` and are projected with
the 1280x720 depth intrinsics divided by 4, then shifted by the 10-row crop.

Visibility: a joint is visible when it projects inside the cropped map and the measured depth
at its pixel is not more than ``OCCLUSION_M`` in front of the joint (a missing measurement does
not hide a joint): the sensor sees the body part that holds the joint, not something before it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dark.data.cameras import CROP, SENSOR_SIZE, project
from dark.data.noise import DEPTH_UNIT
from dark.data.sample import Sample
from dark.design.skeleton import HEAD_SEGMENT_18, HEATMAP_JOINTS, INPUT_SIZE
from dark.files import atomic_write

#: split name -> split file
SPLIT_FILES: dict[str, str] = {"train": "training.txt", "val": "validation.txt", "test": "testing.txt"}
#: a joint with measured depth more than this (metres) in front of it is hidden
OCCLUSION_M: float = 0.2
_DEPTH_NAME = re.compile(r"^(\d+)_([A-Za-z0-9]+)_depth_(\d+)\.pgm$")


class Human4DError(ValueError):
    """A HUMAN4D file is missing something or holds something unexpected (the message names it)."""


def read_pgm(path: str | Path) -> np.ndarray:
    """An ASCII PGM (``P2``) depth map.

    Args:
        path: the file (magic ``P2``, width, height, maxval, then the values; ``#`` comments).

    Returns:
        ``(height, width)`` uint16 values (HUMAN4D: 0.1 mm, 0 = no measurement).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as err:
        raise Human4DError(f"{path}: cannot read as an ASCII PGM ({err})") from err
    tokens = re.sub(r"#[^\n]*", " ", text).split()
    if not tokens or tokens[0] != "P2":
        raise Human4DError(
            f"{path}: expected the ASCII PGM magic 'P2', got {tokens[0] if tokens else 'nothing'!r}"
        )
    try:
        width, height, maxval = (int(t) for t in tokens[1:4])
        values = np.array(tokens[4:], dtype=np.int64)
    except ValueError as err:
        raise Human4DError(f"{path}: non-integer in the PGM header or values ({err})") from err
    if len(values) != width * height:
        raise Human4DError(
            f"{path}: {width}x{height} PGM should hold {width * height} values, has {len(values)}"
        )
    if not 0 < maxval < 65536 or values.min(initial=0) < 0 or values.max(initial=0) > maxval:
        raise Human4DError(f"{path}: values must lie in [0, maxval={maxval}] with maxval < 65536")
    return values.reshape(height, width).astype(np.uint16)


def read_intrinsics(path: str | Path) -> dict[str, np.ndarray]:
    """``device_repository.json`` -> ``{device: K (3, 3)}``, the depth intrinsics at 1280x720."""
    path = Path(path)
    try:
        devices = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise Human4DError(f"{path}: not readable JSON ({err})") from err
    if not isinstance(devices, list):
        raise Human4DError(f"{path}: expected a list of devices, got {type(devices).__name__}")
    out = {}
    for entry in devices:
        name = entry.get("Device") if isinstance(entry, dict) else None
        if name is None:
            raise Human4DError(f"{path}: a device entry without a 'Device' name")
        found = [
            d["1280x720"]
            for d in entry.get("Depth Intrinsics", [])
            if isinstance(d, dict) and "1280x720" in d
        ]
        if not found or len(found[0]) != 9:
            raise Human4DError(
                f"{path}: device {name} has no 'Depth Intrinsics' keyed '1280x720' with 9 numbers"
            )
        out[name] = np.asarray(found[0], dtype=np.float64).reshape(3, 3)
    return out


def read_extrinsics(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``<DEV>.extrinsics`` -> ``(R (3, 3), t (3,))``, camera -> world, ``X_w = R X_c + t`` (mm)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing extrinsics")
    try:
        m = np.loadtxt(path)
    except ValueError as err:
        raise Human4DError(f"{path}: not a numeric table ({err})") from err
    if m.shape != (4, 3):
        raise Human4DError(f"{path}: expected 4 rows of 3 numbers (R, then t), got shape {m.shape}")
    r = m[:3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-3):
        raise Human4DError(f"{path}: rows 0-2 are not a rotation matrix")
    return r, m[3]


def read_skip(path: str | Path, recording: str) -> int:
    """The skip of ``recording`` in an ``offsets.txt`` (first line containing it; 0 if none)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing offsets file")
    for number, line in enumerate(path.read_text().splitlines(), 1):  # splitlines drops CR too
        if recording in line:
            fields = line.strip().split("\t")
            try:
                skip = int(fields[-1])
            except ValueError as err:
                raise Human4DError(f"{path}:{number}: expected '<recording>\\t<skip>', got {line!r}") from err
            if skip < 0:
                raise Human4DError(f"{path}:{number}: negative skip {skip}")
            return skip
    return 0


def camera_from_world(points: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``X_c = R^T (X_w - t)``: ``(..., 3)`` world points -> the camera's frame (same unit as t)."""
    return (points - t) @ r


def input_intrinsics(k_1280: np.ndarray) -> np.ndarray:
    """The 1280x720 depth intrinsics -> the cropped 320x160 input map's (divide by 4, ``cy - 10``)."""
    k = np.array(k_1280, dtype=np.float64)
    k[:2] /= 4.0
    k[1, 2] -= CROP
    return k


@dataclass(frozen=True)
class _Entry:
    subject: str
    recording: str
    group: int
    device: str
    depth: Path
    pose: Path


class Human4D(Sequence):
    """One split of a HUMAN4D root as a sequence of :class:`Sample` (one per view of a listed group).

    Args:
        root: the dataset root (holds ``device_repository.json`` and the split files).
        split: ``"train"`` | ``"val"`` | ``"test"``.
        views: sensor names to read (default: every device of the repository).
        strict: raise on a missing depth file / pose or a listed group inside the skipped range
            (default); with ``False`` such views are skipped and counted in ``self.skipped``.
            Unreadable or corrupt files always raise (naming the file) when read.
    """

    def __init__(self, root: str | Path, split: str = "test", views: Sequence[str] | None = None,
                 strict: bool = True) -> None:  # fmt: skip
        if split not in SPLIT_FILES:
            raise ValueError(f"split must be one of {tuple(SPLIT_FILES)}, got {split!r}")
        self.root = root = Path(root)
        repo = root / "device_repository.json"
        if not repo.is_file():
            raise FileNotFoundError(f"{repo}: missing (is {root} a HUMAN4D root?)")
        self.intrinsics = read_intrinsics(repo)
        self.views = tuple(views) if views is not None else tuple(self.intrinsics)
        unknown = [v for v in self.views if v not in self.intrinsics]
        if unknown:
            raise ValueError(f"views {unknown} are not devices of {repo} ({', '.join(self.intrinsics)})")
        self.split, self.strict = split, strict
        self.skipped: Counter = Counter()
        self._extrinsics: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._entries = self._index(root / SPLIT_FILES[split])

    def _problem(self, reason: str, message: str) -> None:
        if self.strict:
            raise Human4DError(message)
        self.skipped[reason] += 1

    def _index(self, split_file: Path) -> list[_Entry]:
        if not split_file.is_file():
            raise FileNotFoundError(f"{split_file}: missing split file")
        wanted: dict[tuple[str, str], list[int]] = {}
        for number, line in enumerate(split_file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 3 or not fields[0].isdigit():
                raise Human4DError(
                    f"{split_file}:{number}: expected '<group> <subject> <recording>', got {line!r}"
                )
            wanted.setdefault((fields[1], fields[2]), []).append(int(fields[0]))
        entries = []
        for (subject, recording), groups in wanted.items():
            dump = self.root / subject / recording / "Dump"
            depth_dir = dump / "depth"
            if not depth_dir.is_dir():
                raise FileNotFoundError(f"{depth_dir}: missing depth folder of {subject}/{recording}")
            skip = read_skip(self.root / subject / "offsets.txt", recording)
            files = []
            for p in depth_dir.iterdir():
                m = _DEPTH_NAME.match(p.name)
                if m:
                    files.append((int(m[1]), m[2], int(m[3]), p))
            files.sort(key=lambda f: (f[0], f[1], f[2]))  # numeric: "10" after "9"
            kept = {(g, dev): p for g, dev, _, p in files[4 * (skip + 1) :]}
            dropped = {g for g, *_ in files[: 4 * (skip + 1)]}
            for device in self.views:
                if (subject, device) not in self._extrinsics:
                    self._extrinsics[subject, device] = read_extrinsics(
                        self.root / subject / "pose" / f"{device}.extrinsics"
                    )
            for g in groups:
                for device in self.views:
                    where = f"{subject}/{recording} group {g} {device}"
                    if g in dropped and (g, device) not in kept:
                        why = f"lies in the first 4 (skip + 1) files that offsets.txt drops (skip {skip})"
                        self._problem("skipped range", f"{split_file}: {where} {why}")
                        continue
                    if (g, device) not in kept:
                        self._problem(
                            "no depth", f"{depth_dir}: no depth file {g}_{device}_depth_*.pgm for {where}"
                        )
                        continue
                    pose = dump / "gposes3d" / f"{g - skip}.npy"
                    if not pose.is_file():
                        self._problem("no pose", f"{pose}: missing pose for {where}")
                        continue
                    entries.append(_Entry(subject, recording, g, device, kept[g, device], pose))
        return entries

    def summary(self) -> str:
        """One line: how many views, and how many were skipped and why."""
        text = f"HUMAN4D {self.split}: {len(self)} views"
        if self.skipped:
            text += " (skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) + ")"
        return text

    def metadata(self) -> list[tuple[str, str, str, int]]:
        """``(subject, activity, view, frame)`` of every sample, without reading any file."""
        return [(e.subject, e.recording, e.device, e.group) for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        e = self._entries[i]
        raw = read_pgm(e.depth)
        if raw.shape != SENSOR_SIZE:
            raise Human4DError(
                f"{e.depth}: expected a {SENSOR_SIZE[1]}x{SENSOR_SIZE[0]} map, got {raw.shape[::-1]}"
            )
        depth = raw[CROP:-CROP].astype(np.float32) * np.float32(DEPTH_UNIT)
        try:
            poses = np.load(e.pose)
        except (OSError, ValueError) as err:
            raise Human4DError(f"{e.pose}: not a readable .npy ({err})") from err
        if poses.ndim != 3 or poses.shape[1:] != (33, 3) or len(poses) < 1:
            raise Human4DError(f"{e.pose}: expected (people, 33, 3) joints in mm, got shape {poses.shape}")
        r, t = self._extrinsics[e.subject, e.device]
        cam = camera_from_world(poses[0].astype(np.float64), r, t)  # mm
        if np.any(cam[list(HEATMAP_JOINTS), 2] <= 0):
            raise Human4DError(f"{e.pose}: joints behind sensor {e.device} (check {e.device}.extrinsics)")
        uv = project(cam, input_intrinsics(self.intrinsics[e.device]))
        joints = uv[list(HEATMAP_JOINTS)]
        z = cam[list(HEATMAP_JOINTS), 2] / 1000.0
        h, w = INPUT_SIZE
        inside = (
            (joints[:, 0] > -0.5)
            & (joints[:, 0] < w - 0.5)
            & (joints[:, 1] > -0.5)
            & (joints[:, 1] < h - 0.5)
        )
        iu = np.clip(np.rint(joints[:, 0]).astype(int), 0, w - 1)
        iv = np.clip(np.rint(joints[:, 1]).astype(int), 0, h - 1)
        measured = depth[iv, iu]
        visible = inside & ((measured == 0) | (measured >= z - OCCLUSION_M))
        neck, head = HEAD_SEGMENT_18
        return Sample(
            depth=depth,
            joints=joints,
            visible=visible,
            head_size=float(np.linalg.norm(joints[head] - joints[neck])),
            subject=e.subject,
            activity=e.recording,
            view=e.device,
            frame=e.group,
        )


def link_human4d(root: str | Path, out: str | Path) -> Path:
    """Point a dataset directory at a real HUMAN4D root (so the pipeline's data path can be either).

    Writes ``out/manifest.json`` with ``"format": "human4d-root"``, the root, each split's size, its
    placements (one: a recording is one take) and clusters (its ``(subject, recording)`` pairs, as
    :func:`dark.data.synth.clusters` labels them); :func:`dark.data.open_split` on ``out`` then reads
    the HUMAN4D root.
    """
    root, out = Path(root).resolve(), Path(out)
    splits = {split: Human4D(root, split, strict=False) for split in SPLIT_FILES}
    manifest = {
        "format": "human4d-root",
        "root": str(root),
        "counts": {split: len(data) for split, data in splits.items()},
        "placements": dict.fromkeys(splits, 1),
        "clusters": {split: len({m[:2] for m in data.metadata()}) for split, data in splits.items()},
        "skipped": {split: dict(data.skipped) for split, data in splits.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1).encode()))
    return out
