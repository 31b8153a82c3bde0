"""The rendered dataset on disk (split, manifest, determinism, atomic resumable writes) and DepthDataset."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import dark.data
from dark.data import synth
from dark.data.dataset import DepthDataset, normalise_depth
from dark.data.render import MAX_DEPTH


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
    assert synth.cli(["--profile", "smoke", "--out", str(tmp_path / "again"), "--seed", "5", "--quiet"]) == 0
    assert "train 64 views, val 32 views, test 32 views" in capsys.readouterr().out
    again = tmp_path / "again"
    for file in [*sorted(smoke.glob("*.npy")), smoke / "manifest.json"]:
        assert _digest(file) == _digest(again / file.name), file.name
    other = synth.render_dataset(tmp_path / "other", "smoke", seed=6, progress=False)
    assert _digest(other / "train-00000.npy") != _digest(smoke / "train-00000.npy")


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
    assert synth.cli(["--profile", "smoke", "--out", str(smoke), "--seed", "7", "--quiet"]) == 2
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
        synth.cli(["--profile", "huge", "--out", str(tmp_path)])
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
