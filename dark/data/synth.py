"""The rendered HUMAN4D-like dataset on disk: the report's split, shards, a manifest, the CLI.

Split (the report's section 3.3): subjects S1-S3 with every activity for training; subject S4
(unseen, a different build) for validation and testing, with its activities split in two halves.
Each selected frame is rendered from all four sensors. A clip is placed in the capture volume
(turned about the vertical, shifted) once for training and validation; the test split cuts each of
its 8 clips into ``TEST_PLACEMENTS`` contiguous segments placed anew: 8 x ``TEST_PLACEMENTS``
clusters of correlated views (fewer when a clip has fewer frames), which :func:`clusters` labels.

Layout of a dataset directory::

    plan.json                     profile, seed, generator version (written first; guards resuming)
    train-00000.npy ...           shards: structured arrays, one record per view (see ``RECORD``)
    val-00000.npy, test-00000.npy
    manifest.json                 counts, shapes, version, seed, sources, sha256 of every shard (last)

Every file is written to a temporary name, fsynced and renamed, so an interrupted run never
leaves a shard that looks complete; a rerun renders only the missing shards. Shards are plain
``.npy`` files (no zip timestamps), so the same seed gives the same bytes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from dark.data import clusters as clustering
from dark.data.clusters import clip_clusters, clusters  # noqa: F401  (re-exported: synth.clusters)
from dark.data.motions import MOCAP_CLIPS, SAMPLES_DIR, Motion, all_motions
from dark.data.render import (
    DEPTH_UNIT,
    SUBJECTS,
    SensorNoise,
    human4d_rig,
    render_room,
    render_views,
    retarget,
)
from dark.data.sample import Sample
from dark.design.profiles import PROFILES as ALL_PROFILES
from dark.design.profiles import REPORT_SEED, Frames
from dark.design.skeleton import INPUT_SIZE, JOINTS_18
from dark.files import atomic_write, sha256_file

#: bump when the rendered bytes change for the same seed
GENERATOR_VERSION = "5"

#: every activity: the real HUMAN4D running skeletons, then the pybullet_data mocap clips
ACTIVITIES: tuple[str, ...] = ("running", *MOCAP_CLIPS)
#: subject S4's activities, split in two halves of about the same number of frames, each with
#: one of every kind: locomotion (run, jump | the real running, walk), fighting (punch | kick),
#: dance (dance_b | dance_a), acrobatics (cartwheel, spin | backflip, spinkick), on the floor
#: (getting up twice | crawl, roll)
VAL_ACTIVITIES: tuple[str, ...] = (
    "run", "jump", "punch", "dance_b", "cartwheel", "spin", "getup_faceup", "getup_facedown",
)  # fmt: skip
TEST_ACTIVITIES: tuple[str, ...] = tuple(a for a in ACTIVITIES if a not in VAL_ACTIVITIES)
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: placements of each test clip: its selected frames are cut into this many contiguous segments, each
#: turned and shifted anew, which trades adjacent (correlated) frames for placements at the same number
#: of views; training and validation place each clip once
TEST_PLACEMENTS = clustering.TEST_PLACEMENTS
PLACEMENTS: dict[str, int] = {"train": 1, "val": 1, "test": TEST_PLACEMENTS}

#: one record per view in a shard
RECORD = np.dtype(
    [
        ("depth", np.uint16, INPUT_SIZE),  # 0.1 mm, 0 = no measurement
        ("joints", np.float64, (18, 2)),  # input px
        ("visible", np.bool_, (18,)),
        ("head_size", np.float64),  # input px
        ("subject", np.uint8),  # index into manifest["subjects"]
        ("activity", np.uint8),  # index into manifest["activities"]
        ("view", np.uint8),  # index into manifest["views"]
        ("frame", np.int32),
        ("placement", np.uint8),  # segment of the clip with its own placement (0 outside the test split)
    ]
)


#: how many multi-view frames each split of a profile gets: the ``frames`` of
#: :data:`dark.design.profiles.PROFILES`
PROFILES: dict[str, Frames] = {name: p.frames for name, p in ALL_PROFILES.items()}

#: maximum horizontal distance of the hips from the rig's centre (metres): keeps the subject
#: about 1.5-2.5 m from every sensor, like HUMAN4D's recordings
MAX_RADIUS = 0.45


def split_pool(split: str, motions: Sequence[Motion]) -> list[tuple[str, int, int]]:
    """Every ``(subject, motion index, frame)`` a split may use, in a fixed order."""
    names = [m.name for m in motions]
    if split == "train":
        subjects, acts = ("S1", "S2", "S3"), ACTIVITIES
    elif split == "val":
        subjects, acts = ("S4",), VAL_ACTIVITIES
    elif split == "test":
        subjects, acts = ("S4",), TEST_ACTIVITIES
    else:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return [
        (s, names.index(a), f) for s in subjects for a in acts for f in range(len(motions[names.index(a)]))
    ]


def select(pool: Sequence, n: int | None) -> list:
    """``n`` evenly spaced items of ``pool`` (all of it when ``n`` is None or too large)."""
    if n is None or n >= len(pool):
        return list(pool)
    return [pool[(2 * i + 1) * len(pool) // (2 * n)] for i in range(n)]


def segments(items: Sequence[tuple[str, int, int]], parts: int) -> list[tuple[str, int, int, int]]:
    """Cut each clip's items into ``parts`` contiguous segments: ``(subject, motion, frame, placement)``.

    The items of one ``(subject, motion)`` follow each other (as :func:`split_pool` orders them); the
    ``j``-th of a clip's ``n`` items goes to placement ``j * parts // n``.

    >>> segments([("S4", 1, 0), ("S4", 1, 3), ("S4", 1, 6), ("S4", 2, 0)], 2)
    [('S4', 1, 0, 0), ('S4', 1, 3, 0), ('S4', 1, 6, 1), ('S4', 2, 0, 0)]
    """
    out = []
    for _, clip in itertools.groupby(items, key=lambda item: item[:2]):
        clip = list(clip)
        out += [(*item, j * parts // len(clip)) for j, item in enumerate(clip)]
    return out


def place(joints: np.ndarray, rng: np.random.Generator, max_radius: float = MAX_RADIUS) -> np.ndarray:
    """Turn a clip about the vertical by a random yaw, shift it, keep the hips within ``max_radius``.

    Moves whole skeletons (bone lengths unchanged). ``joints``: ``(T, 33, 3)`` world metres.
    """
    yaw = rng.uniform(0.0, 2.0 * np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    out = joints @ rot.T
    out[..., :2] += rng.uniform(-0.15, 0.15, size=2)
    radius = np.linalg.norm(out[:, 0, :2], axis=-1)
    shrink = np.minimum(1.0, max_radius / np.maximum(radius, 1e-9))
    out[..., :2] -= (out[:, 0, :2] * (1.0 - shrink)[:, None])[:, None, :]
    return out


def _render_shard(items, motions, placed, rig, room, noise, rng) -> np.ndarray:
    """Render ``items`` (``(subject, motion, frame, placement)``) from every sensor into records."""
    nv = len(rig.names)
    records = np.zeros(len(items) * nv, dtype=RECORD)
    subjects, start = list(SUBJECTS), 0
    clip = lambda item: (item[0], item[1], item[3])  # noqa: E731
    # consecutive frames of the same placed clip (subject, motion, placement) are rendered together
    while start < len(items):
        stop = start
        while stop < len(items) and clip(items[stop]) == clip(items[start]):
            stop += 1
        subject, m, p = clip(items[start])
        frames = [f for _, _, f, _ in items[start:stop]]
        out = render_views(placed[subject, m, p][frames], rig, SUBJECTS[subject], room, noise, rng)
        rec = records[start * nv : stop * nv]
        rec["depth"], rec["joints"], rec["visible"] = out["depth"], out["joints"], out["visible"]
        rec["head_size"], rec["view"] = out["head_size"], out["view"]
        rec["subject"] = subjects.index(subject)
        rec["activity"] = ACTIVITIES.index(motions[m].name)
        rec["frame"], rec["placement"] = np.repeat(frames, nv), p
        start = stop
    return records


def _prepare(out: Path, plan: dict, overwrite: bool) -> None:
    """Make ``out`` hold ``plan``: refuse (or, with ``overwrite``, clear) a dataset of another plan, drop the
    temporary files an interrupted run left, and write ``plan.json``."""
    out.mkdir(parents=True, exist_ok=True)
    plan_path = out / "plan.json"
    if plan_path.exists():
        old = json.loads(plan_path.read_text())
        if old != plan and not overwrite:
            raise ValueError(f"{out} holds a different dataset ({old}); use another --out, or --overwrite")
        if old != plan:
            for file in [out / "manifest.json", *out.glob("*-[0-9][0-9][0-9][0-9][0-9].npy"), plan_path]:
                file.unlink(missing_ok=True)
    for stale in out.glob(".*.tmp"):  # left by an interrupted run (ours are named .<file>.<pid>.tmp)
        stale.unlink()
    if not plan_path.exists():
        atomic_write(plan_path, lambda f: f.write(json.dumps(plan, indent=1).encode()))


def _jobs(prof: Frames, motions: Sequence[Motion]) -> list[tuple[str, int, list]]:
    """The shards to render: ``(split, shard index, items (subject, motion, frame, placement))``."""
    jobs = []
    for split in SPLITS:
        items = segments(select(split_pool(split, motions), getattr(prof, split)), PLACEMENTS[split])
        n = prof.frames_per_shard
        jobs += [(split, i // n, items[i : i + n]) for i in range(0, len(items), n)]
    return jobs


def _placements(jobs, motions: Sequence[Motion], seed: int) -> dict:
    """``(subject, motion, placement) -> (T, 33, 3)`` world m: every clip retargeted to its subject and
    placed once (a test segment with a random key of its own; validation and test share no motion)."""
    placed = {}
    for split, _, items in jobs:
        for subject, mi, _, p in items:
            if (subject, mi, p) not in placed:
                key = [seed, list(SUBJECTS).index(subject), mi, *([1 + p] if split == "test" else [])]
                joints = retarget(motions[mi].joints, SUBJECTS[subject].bone_lengths())
                placed[subject, mi, p] = place(joints, np.random.default_rng(key))
    return placed


def _manifest(profile: str, seed: int, jobs, shards: list[dict], rig, motions, noise) -> dict:
    """The dataset's ``manifest.json``: counts, clusters, shapes, sources and every shard's sha256."""
    clips = {s: {(a, m, p) for sp, _, it in jobs if sp == s for a, m, _, p in it} for s in SPLITS}
    return {
        "format": "dark-rendered-human4d",
        "generator_version": GENERATOR_VERSION,
        "profile": profile,
        "seed": int(seed),
        "counts": {s: sum(sh["views"] for sh in shards if sh["split"] == s) for s in SPLITS},
        "placements": PLACEMENTS,
        "clusters": {s: len(c) for s, c in clips.items()},
        "shapes": {"depth": list(INPUT_SIZE), "joints": [18, 2], "visible": [18]},
        "depth_unit_m": DEPTH_UNIT,
        "record_dtype": str(RECORD.descr),
        "joints": list(JOINTS_18),
        "subjects": {k: asdict(v) for k, v in SUBJECTS.items()},
        "activities": list(ACTIVITIES),
        "split_activities": {
            "train": list(ACTIVITIES),
            "val": list(VAL_ACTIVITIES),
            "test": list(TEST_ACTIVITIES),
        },
        "views": list(rig.names),
        "intrinsics_320x180": rig.K.round(6).tolist(),
        "sources": {m.name: m.source for m in motions},
        "noise": asdict(noise),
        "shards": shards,
    }


def render_dataset(out: str | Path, profile: str = "quick", seed: int = REPORT_SEED, progress: bool = True,
                   samples_dir: str | Path = SAMPLES_DIR, overwrite: bool = False) -> Path:  # fmt: skip
    """Render the HUMAN4D-like dataset of a profile into ``out`` (resumable, atomic): check the plan
    (:func:`_prepare`), skip finished shards, render the rest, write the manifest last.

    Args:
        out: dataset directory (created).
        profile: a name of :data:`dark.design.profiles.PROFILES` (its ``frames``).
        seed: placement and sensor-noise seed; the same seed gives the same bytes.
        progress: show a tqdm progress bar.
        samples_dir: the bundled HUMAN4D samples (rig and real running skeletons).
        overwrite: when ``out`` holds a dataset of another plan (profile, seed, generator version),
            delete its files (``plan.json``, ``manifest.json``, shards) and render anew; by default
            that is an error.

    Returns:
        ``out`` as a Path.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {tuple(PROFILES)}, got {profile!r}")
    from tqdm.auto import tqdm

    out, prof = Path(out), PROFILES[profile]
    plan = {"generator_version": GENERATOR_VERSION, "profile": profile, "seed": int(seed), **asdict(prof),
            "test_placements": TEST_PLACEMENTS}  # fmt: skip
    _prepare(out, plan, overwrite)
    motions, rig = all_motions(samples_dir), human4d_rig(samples_dir)
    room, noise = render_room(rig), SensorNoise()
    jobs = _jobs(prof, motions)
    placed = _placements(jobs, motions, seed)
    shards = []
    bar = tqdm(total=sum(len(it) for *_, it in jobs) * len(rig.names), unit="view",
               desc=f"rendering {profile}", disable=not progress)  # fmt: skip
    for split, index, items in jobs:
        path = out / f"{split}-{index:05d}.npy"
        if not path.exists():
            rng = np.random.default_rng([seed, SPLITS.index(split), index, 1])
            records = _render_shard(items, motions, placed, rig, room, noise, rng)
            atomic_write(path, lambda f, r=records: np.save(f, r))
        shards.append({"file": path.name, "split": split, "views": len(items) * len(rig.names),
                       "sha256": sha256_file(path)})  # fmt: skip
        bar.update(len(items) * len(rig.names))
    bar.close()
    manifest = _manifest(profile, seed, jobs, shards, rig, motions, noise)
    atomic_write(out / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1).encode()))
    return out


class RenderedDataset(Sequence):
    """One split of a rendered dataset directory, as a sequence of :class:`Sample`.

    The split is loaded into memory at once (depth as uint16, 0.1 mm): ``self.records`` is the
    structured array of all its views (fields of ``RECORD``).
    """

    def __init__(self, path: str | Path, split: str = "train", verify: bool = False) -> None:
        path = Path(path)
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file():
            raise FileNotFoundError(
                f"{manifest_path}: missing (not a rendered dataset, or rendering unfinished)"
            )
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.path, self.split = path, split
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except ValueError as e:
            raise ValueError(f"{manifest_path}: damaged, not JSON ({e}); render the dataset again") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != "dark-rendered-human4d":
            raise ValueError(
                f"{manifest_path}: not a rendered dataset "
                f"(format {self.manifest.get('format') if isinstance(self.manifest, dict) else None!r})"
            )
        parts = []
        for shard in self.manifest["shards"]:
            if shard["split"] != split:
                continue
            file = path / shard["file"]
            if verify and sha256_file(file) != shard["sha256"]:
                raise ValueError(f"{file}: checksum differs from manifest.json (corrupt or modified)")
            try:
                rec = np.load(file)
            except (OSError, ValueError, EOFError) as e:
                if not file.is_file():
                    reason = "missing"
                elif sha256_file(file) != shard["sha256"]:
                    reason = "checksum differs from manifest.json: truncated or modified"
                else:
                    reason = e
                raise ValueError(f"{file}: damaged shard ({reason}); render the dataset again") from None
            if rec.dtype != RECORD or len(rec) != shard["views"]:
                raise ValueError(
                    f"{file}: expected {shard['views']} records of {RECORD}, got {len(rec)} of {rec.dtype}"
                )
            parts.append(rec)
        self.records = np.concatenate(parts) if parts else np.zeros(0, dtype=RECORD)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        r = self.records[i]
        m = self.manifest
        return Sample(
            depth=r["depth"].astype(np.float32) * np.float32(DEPTH_UNIT),
            joints=r["joints"].copy(),
            visible=r["visible"].copy(),
            head_size=float(r["head_size"]),
            subject=list(m["subjects"])[r["subject"]],
            activity=m["activities"][r["activity"]],
            view=m["views"][r["view"]],
            frame=int(r["frame"]),
        )
