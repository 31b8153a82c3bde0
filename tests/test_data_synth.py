"""The rendered dataset on disk (split, manifest, determinism, atomic resumable writes) and DepthDataset."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import dark.data
from dark.data import data_cli, synth
from dark.data.dataset import DepthDataset, normalise_depth
from dark.data.motions import all_motions
from dark.data.render import (
    MAX_DEPTH,
    SUBJECTS,
    SensorNoise,
    human4d_rig,
    render_room,
    render_views,
    retarget,
)
from dark.design.profiles import Frames


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Path:
    return synth.render_dataset(tmp_path_factory.mktemp("smoke") / "data", "smoke", seed=5, progress=False)


def test_counts_manifest_and_checksums(smoke):
    manifest = json.loads((smoke / "manifest.json").read_text())
    assert manifest["counts"] == {"train": 64, "val": 32, "test": 32}
    assert manifest["seed"] == 5 and manifest["profile"] == "smoke"
    assert manifest["generator_version"] == synth.GENERATOR_VERSION
    assert manifest["shapes"]["depth"] == [160, 320]
    assert manifest["placements"] == {"train": 1, "val": 1, "test": synth.TEST_PLACEMENTS}
    for split in synth.SPLITS:
        ids = synth.clusters(dark.data.open_split(smoke, split))
        assert manifest["clusters"][split] == len(set(ids.tolist())) >= 7
    assert set(manifest["sources"]) == set(synth.ACTIVITIES)
    assert "pybullet_data" in manifest["sources"]["walk"] and "HUMAN4D" in manifest["sources"]["running"]
    for shard in manifest["shards"]:
        file = smoke / shard["file"]
        assert _digest(file) == shard["sha256"]
        assert len(np.load(file)) == shard["views"]
    assert not list(smoke.glob("*.tmp")) and not list(smoke.glob(".*"))


def test_the_reports_split(smoke):
    seen = {}
    for split in synth.SPLITS:
        data = dark.data.open_split(smoke, split)
        samples = [data[i] for i in range(len(data))]
        seen[split] = {(s.subject, s.activity) for s in samples}
        # every selected frame comes with all four views
        frames = {}
        for s in samples:
            frames.setdefault((s.subject, s.activity, s.frame), set()).add(s.view)
        assert all(v == {"M72e", "M72h", "M72i", "M72j"} for v in frames.values())
    assert {s for s, _ in seen["train"]} <= {"S1", "S2", "S3"}
    assert {s for s, _ in seen["val"]} == {s for s, _ in seen["test"]} == {"S4"}
    assert not {a for _, a in seen["val"]} & {a for _, a in seen["test"]}
    assert set(synth.VAL_ACTIVITIES).isdisjoint(synth.TEST_ACTIVITIES)
    assert set(synth.VAL_ACTIVITIES) | set(synth.TEST_ACTIVITIES) == set(synth.ACTIVITIES)
    assert abs(len(synth.VAL_ACTIVITIES) - len(synth.TEST_ACTIVITIES)) <= 1


def test_samples_match_the_records(smoke):
    data = dark.data.open_split(smoke, "test")
    rec = data.records
    s = data[5]
    np.testing.assert_array_equal(s.depth, rec["depth"][5].astype(np.float32) * np.float32(1e-4))
    np.testing.assert_array_equal(s.joints, rec["joints"][5])
    assert s.depth.shape == (160, 320) and s.depth.dtype == np.float32
    assert s.joints.dtype == np.float64 and s.visible.dtype == bool
    assert s.head_size == pytest.approx(np.linalg.norm(s.joints[3] - s.joints[2]))
    with pytest.raises(IndexError):
        data[len(data)]


def test_same_seed_same_bytes_other_seed_other_bytes(smoke, tmp_path, capsys):
    # through the command line, as `dark data` runs it
    assert (
        data_cli.cli(["--profile", "smoke", "--out", str(tmp_path / "again"), "--seed", "5", "--quiet"]) == 0
    )
    assert "train 64 views, val 32 views, test 32 views" in capsys.readouterr().out
    again = tmp_path / "again"
    for file in [*sorted(smoke.glob("*.npy")), smoke / "manifest.json"]:
        assert _digest(file) == _digest(again / file.name), file.name
    other = synth.render_dataset(tmp_path / "other", "smoke", seed=6, progress=False)
    assert _digest(other / "train-00000.npy") != _digest(smoke / "train-00000.npy")


def test_a_damaged_shard_or_manifest_is_named_in_one_line(smoke, tmp_path):
    """A truncated shard and a manifest that is not JSON each raise one line that names the file."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(smoke, copy)
    shard = next(copy.glob("train-*.npy"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(ValueError) as e:
        dark.data.open_split(copy, "train")
    msg = str(e.value)
    assert str(shard) in msg and "damaged shard" in msg and "checksum differs" in msg and "\n" not in msg
    (copy / "manifest.json").write_text('{"format": "dark-rendered-human4d", "shards": [')
    with pytest.raises(ValueError) as e:
        dark.data.open_split(copy, "val")
    msg = str(e.value)
    assert str(copy / "manifest.json") in msg and "damaged" in msg and "\n" not in msg
    from dark.experiment.run_digest import training_data_digest  # what `dark train` reads first

    with pytest.raises(ValueError, match=r"manifest\.json: damaged"):
        training_data_digest(copy)


def _altered_copy(smoke: Path, dest: Path, split: str, change) -> Path:
    """A copy of the rendered dataset ``smoke`` whose first ``split`` shard's records went through
    ``change`` (in place), rewritten with its new sha256 in the manifest, as a render that came out
    otherwise would be."""
    import shutil

    shutil.copytree(smoke, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    shard = next(s for s in manifest["shards"] if s["split"] == split)
    records = np.load(dest / shard["file"])
    change(records)
    np.save(dest / shard["file"], records)
    shard["sha256"] = hashlib.sha256((dest / shard["file"]).read_bytes()).hexdigest()
    (dest / "manifest.json").write_text(json.dumps(manifest))
    return dest


def test_the_fingerprint_sees_through_the_last_bits_of_the_joints_and_nothing_else(smoke, tmp_path):
    """Two renders whose joints differ by 1e-12 px (another BLAS kernel) have other digests and the same
    fingerprint; a joint moved by 0.01 px, one depth value, or a head size moved by 0.01 px changes the
    fingerprint; the test split changes neither."""
    from dark.experiment.run_digest import training_data_digest, training_data_fingerprint

    def nudge(field, by, index=(0,)):
        def change(records):
            records[field][index] += by

        return change

    digest, print_ = training_data_digest(smoke), training_data_fingerprint(smoke)
    last_bits = _altered_copy(smoke, tmp_path / "bits", "train", nudge("joints", 1e-12))
    assert training_data_digest(last_bits) != digest and training_data_fingerprint(last_bits) == print_
    for name, change in (("joint", nudge("joints", 0.01)), ("depth", nudge("depth", 1, (0, 10, 10))),
                         ("head", nudge("head_size", 0.01))):  # fmt: skip
        moved = _altered_copy(smoke, tmp_path / name, "val", change)
        assert training_data_fingerprint(moved) != print_, name
    test = _altered_copy(smoke, tmp_path / "test", "test", nudge("joints", 0.5))
    assert training_data_digest(test) == digest and training_data_fingerprint(test) == print_


def test_interrupted_run_resumes(smoke, tmp_path):
    out = tmp_path / "resumed"
    out.mkdir()
    for file in smoke.iterdir():
        (out / file.name).write_bytes(file.read_bytes())
    (out / "manifest.json").unlink()
    (out / "val-00000.npy").unlink()
    (out / ".test-00000.npy.123.tmp").write_bytes(b"half a shard")  # a crash mid-write
    os.utime(out / "train-00000.npy", (1, 1))
    synth.render_dataset(out, "smoke", seed=5, progress=False)
    assert os.stat(out / "train-00000.npy").st_mtime == 1  # complete shards are not rendered again
    assert not list(out.glob(".*.tmp"))  # the crashed run's leftover is gone
    for file in [*sorted(smoke.glob("*.npy")), smoke / "manifest.json"]:
        assert _digest(file) == _digest(out / file.name), file.name
    # no manifest, no dataset: an unfinished directory is not mistaken for a complete one
    (out / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"manifest\.json"):
        synth.RenderedDataset(out, "test")


def test_another_plan_in_the_same_directory_is_refused_or_replaced(smoke, tmp_path, capsys):
    with pytest.raises(ValueError, match="different dataset"):
        synth.render_dataset(smoke, "smoke", seed=7, progress=False)
    assert data_cli.cli(["--profile", "smoke", "--out", str(smoke), "--seed", "7", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dark data:") and "\n" not in err
    out = tmp_path / "replaced"
    out.mkdir()
    for file in smoke.iterdir():
        (out / file.name).write_bytes(file.read_bytes())
    (out / "notes.txt").write_text("not ours")
    synth.render_dataset(out, "smoke", seed=7, progress=False, overwrite=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert sorted(p.name for p in out.glob("*.npy")) == sorted(s["file"] for s in manifest["shards"])
    assert (out / "notes.txt").exists()


def test_cli_rejects_an_unknown_profile(tmp_path):
    with pytest.raises(SystemExit) as exc:
        data_cli.cli(["--profile", "huge", "--out", str(tmp_path)])
    assert exc.value.code == 2


def test_selection_is_even_and_complete():
    pool = list(range(100))
    assert synth.select(pool, 4) == [12, 37, 62, 87]
    assert synth.select(pool, None) == pool and synth.select(pool, 500) == pool


def test_normalise_depth():
    d = torch.tensor([0.0, 1.0, MAX_DEPTH / 2, MAX_DEPTH])
    np.testing.assert_allclose(normalise_depth(d), [0.0, 1 - 1 / MAX_DEPTH, 0.5, 0.0], atol=1e-6)
    raw = torch.tensor([0, 10000, 65535], dtype=torch.uint16)
    np.testing.assert_allclose(normalise_depth(raw, units="0.1mm"), [0.0, 1 - 1 / MAX_DEPTH, 0.0], atol=1e-6)
    with pytest.raises(ValueError, match="units"):
        normalise_depth(d, units="mm")


def test_depth_dataset_items_tensors_and_loader(smoke):
    ds = DepthDataset(smoke, "val")
    samples = dark.data.open_split(smoke, "val")
    assert len(ds) == 32
    item = ds[7]
    assert item["depth"].shape == (1, 160, 320) and item["depth"].dtype == torch.float32
    d = samples[7].depth
    expected = np.where(d > 0, 1 - d / MAX_DEPTH, 0)
    np.testing.assert_allclose(item["depth"][0].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(item["joints"].numpy(), samples[7].joints, rtol=1e-6)
    assert item["joints"].dtype == torch.float32 and item["visible"].dtype == torch.bool
    assert item["head_size"].shape == () and item["index"].item() == 7
    whole = ds.tensors()
    for key in item:
        torch.testing.assert_close(whole[key][7], item[key])
    raw = ds.tensors(raw=True)["depth"]
    assert raw.dtype == torch.uint16
    torch.testing.assert_close(normalise_depth(raw, units="0.1mm"), whole["depth"])
    loader = torch.utils.data.DataLoader(ds, batch_size=8, shuffle=False, num_workers=1)
    batch = next(iter(loader))
    assert batch["depth"].shape == (8, 1, 160, 320) and batch["index"].tolist() == list(range(8))
    # from plain samples too: the same items
    from_samples = DepthDataset([samples[i] for i in range(len(samples))])
    torch.testing.assert_close(from_samples[7]["depth"], item["depth"], atol=1e-6, rtol=0)
    for key, value in from_samples.tensors().items():
        torch.testing.assert_close(value, whole[key], atol=1e-6, rtol=0)
    with pytest.raises(IndexError):
        ds[len(ds)]


# --- the test split's clusters (issue 19: more placements, fewer adjacent frames per clip) -------------

SEGMENTED = Frames(train=2, val=2, test=96, frames_per_shard=40)  # every test clip gets >= 4 frames


@pytest.fixture(scope="module")
def segmented(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(synth.PROFILES, "segmented", SEGMENTED)
        return synth.render_dataset(
            tmp_path_factory.mktemp("seg") / "data", "segmented", seed=3, progress=False
        )


def _clip_keys(records: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(records["subject"].tolist(), records["activity"].tolist(), strict=True))


def test_the_test_split_has_a_cluster_per_placement_of_each_clip(segmented):
    manifest = json.loads((segmented / "manifest.json").read_text())
    data = dark.data.open_split(segmented, "test")
    rec, ids = data.records, synth.clusters(data)
    assert len(rec) == 4 * 96 and ids.shape == (len(rec),) and ids.dtype == np.int64
    p = synth.TEST_PLACEMENTS
    assert p >= 2 and len(set(ids.tolist())) == 8 * p == manifest["clusters"]["test"]
    assert sorted(set(ids.tolist())) == list(range(8 * p))  # dense, in order of first appearance
    np.testing.assert_array_equal(synth.clusters(rec), ids)  # the records alone give the same
    # a cluster is exactly one (subject, activity, placement)
    keys = set(zip(_clip_keys(rec), rec["placement"].tolist(), ids.tolist(), strict=True))
    assert len(keys) == 8 * p and len({k[:2] for k in keys}) == 8 * p
    # views of one frame share a cluster
    frame_ids: dict = {}
    for clip, f, c in zip(_clip_keys(rec), rec["frame"].tolist(), ids.tolist(), strict=True):
        frame_ids.setdefault((clip, f), set()).add(c)
    assert all(len(c) == 1 for c in frame_ids.values()) and len(frame_ids) == 96
    # each clip's selected frames, in order, are cut into p contiguous runs of sizes within one
    for clip in {k for k, _ in frame_ids}:
        frames = sorted(f for k, f in frame_ids if k == clip)
        labels = [next(iter(frame_ids[clip, f])) for f in frames]
        runs = [(c, len(list(g))) for c, g in itertools.groupby(labels)]
        assert len(runs) == p == len({c for c, _ in runs}), (clip, labels)  # no cluster comes back
        assert max(n for _, n in runs) - min(n for _, n in runs) <= 1
        assert [rec["placement"][ids == c][0] for c, _ in runs] == list(range(p))
    # train and val: one placement per clip
    for split in ("train", "val"):
        assert not dark.data.open_split(segmented, split).records["placement"].any()


def test_clip_clusters_map_each_placement_to_its_clip(segmented):
    """The clip of a placement cluster (the intervals' resampling unit) is the record's own clip."""
    data = dark.data.open_split(segmented, "test")
    rec, ids = data.records, synth.clusters(data)
    clips = synth.clip_clusters(ids)
    # independent: number the records' (subject, activity) in order of first appearance
    first: dict = {}
    expected = [first.setdefault(k, len(first)) for k in _clip_keys(rec)]
    np.testing.assert_array_equal(clips, expected)
    assert len(set(clips.tolist())) == 8
    with pytest.raises(ValueError, match="whole clips"):
        synth.clip_clusters(np.arange(6), placements=4)


def test_each_test_segment_has_a_placement_of_its_own(segmented):
    """Each segment is placed by its own rng ``[seed, subject, motion, 1 + placement]``."""
    motions, rig = all_motions(), human4d_rig()
    room, rec = render_room(rig), dark.data.open_split(segmented, "test").records
    acts = [m.name for m in motions]
    hips = {}
    for (si, a), p in sorted(set(zip(_clip_keys(rec), rec["placement"].tolist(), strict=True))):
        sel = (rec["subject"] == si) & (rec["activity"] == a) & (rec["placement"] == p)
        frames = np.unique(rec["frame"][sel])
        subject, mi = SUBJECTS[list(SUBJECTS)[si]], acts.index(synth.ACTIVITIES[a])
        rng = np.random.default_rng([3, si, mi, 1 + p])
        placed = synth.place(retarget(motions[mi].joints, subject.bone_lengths()), rng)
        out = render_views(placed[frames], rig, subject, room, None, rng)
        np.testing.assert_array_equal(rec["joints"][sel], out["joints"])
        np.testing.assert_array_equal(rec["visible"][sel], out["visible"])
        hips[a, p] = placed[frames[0], 0, :2]
    # the placements of one clip differ (a new turn and shift each)
    for a in {a for a, _ in hips}:
        spots = [hips[a, p] for p in range(synth.TEST_PLACEMENTS)]
        assert min(np.linalg.norm(x - y) for x, y in itertools.combinations(spots, 2)) > 1e-3


def _generator_4(split: str, seed: int, frames: Frames) -> dict[str, np.ndarray]:
    """A split's fields as generator version 4 rendered them, computed here from its pieces: one
    placement per clip (rng ``[seed, subject, motion]``), sensor noise per shard (rng
    ``[seed, split, shard, 1]``), frames of one clip rendered together within a shard."""
    motions, rig = all_motions(), human4d_rig()
    room, noise, nv = render_room(rig), SensorNoise(), len(rig.names)
    items = synth.select(synth.split_pool(split, motions), getattr(frames, split))
    parts = []
    for shard, start in enumerate(range(0, len(items), frames.frames_per_shard)):
        rng = np.random.default_rng([seed, synth.SPLITS.index(split), shard, 1])
        chunk = items[start : start + frames.frames_per_shard]
        for (name, mi), group in itertools.groupby(chunk, key=lambda it: it[:2]):
            fs = [f for *_, f in group]
            si = list(SUBJECTS).index(name)
            joints = retarget(motions[mi].joints, SUBJECTS[name].bone_lengths())
            placed = synth.place(joints, np.random.default_rng([seed, si, mi]))
            out = render_views(placed[fs], rig, SUBJECTS[name], room, noise, rng)
            n = len(fs) * nv
            out |= {"subject": np.full(n, si), "frame": np.repeat(fs, nv)}
            out["activity"] = np.full(n, synth.ACTIVITIES.index(motions[mi].name))
            parts.append(out)
    fields = ("depth", "joints", "visible", "head_size", "subject", "activity", "view", "frame")
    return {k: np.concatenate([p[k] for p in parts]) for k in fields}


def test_train_and_val_are_unchanged_by_the_test_placements(smoke):
    for split in ("train", "val"):
        rec = dark.data.open_split(smoke, split).records
        expected = _generator_4(split, 5, synth.PROFILES["smoke"])
        for field, value in expected.items():
            np.testing.assert_array_equal(rec[field], value, err_msg=f"{split} {field}")
        assert not rec["placement"].any()


def test_segments_and_clusters_edge_cases():
    items = [("S4", 0, f) for f in range(10)] + [("S4", 5, 2)]
    cut = synth.segments(items, 4)
    assert [p for *_, p in cut] == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 0]
    assert [it[:3] for it in cut] == items
    assert synth.segments(items, 1) == [(*it, 0) for it in items]
    with pytest.raises(TypeError, match="RECORD"):
        synth.clusters([1, 2, 3])
