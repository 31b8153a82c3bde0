"""dark.record: a recorded run is written from a finished plan, checked against its schema, loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dark import record, runs
from dark.plan import Plan, Step


def _finished_run(run: Path, seed: int) -> None:
    run.mkdir(parents=True)
    (run / runs.CONFIG).write_text(json.dumps({"model": "sh", "encoding": "ceil", "seed": seed}))
    (run / runs.METRICS).write_text(json.dumps({"epoch": 1, "val_pckh@0.5": 50.0 + seed}) + "\n")
    (run / runs.EVALUATION).write_text(json.dumps({"run": {"seed": seed}, "decoders": {}}))
    np.savez(run / runs.FRAME_SUMS, groups=np.array(["a", "b"]), columns=np.array(["n"]))
    (run / runs.BEST).write_bytes(b"weights that must not be recorded")
    (run / runs.HEATMAPS).write_bytes(b"a cache that must not be recorded")


@pytest.fixture
def finished(tmp_path):
    work = tmp_path / "work"
    names = [runs.run_name("sh", "ceil", s) for s in (1314, 2)]
    for name, seed in zip(names, (1314, 2), strict=True):
        _finished_run(work / "runs" / "cpu" / name, seed)
    results = work / "runs" / "cpu" / "results"
    results.mkdir()
    (results / "verdicts.json").write_text('{"1": "inconclusive"}')
    out_dir = tmp_path / "executed"
    (out_dir / ".stamps").mkdir(parents=True)
    steps = [
        Step(id=f"03_train-{n}", notebook=Path("03_train.md"), parameters={"data": "data/x"}) for n in names
    ]
    for i, s in enumerate(steps):
        (out_dir / ".stamps" / f"{s.id}.json").write_text(json.dumps({"hash": "h", "seconds": 60.0 + i}))
    plan = Plan(
        profile="cpu",
        about="",
        steps=tuple(steps),
        variables={"run_dirs": [f"runs/cpu/{n}" for n in names], "results": str(results)},
    )
    return plan, out_dir, work, names


def test_write_keeps_summaries_not_weights_and_the_record_loads(finished, tmp_path):
    plan, out_dir, work, names = finished
    dest = record.write(plan, out_dir, tmp_path / "results" / "cpu", cwd=work)
    assert record.check(dest) == []
    rec = record.load(dest)
    assert rec["runs"] == names and rec["profile"] == "cpu"
    assert rec["command"] == "dark book --profile cpu"
    assert rec["steps"] == {f"03_train-{n}": 60.0 + i for i, n in enumerate(names)}
    assert rec["wall_time_s"] == 121.0
    assert rec["step_commits"] == {f"03_train-{n}": None for n in names}  # no page provenance here
    assert rec["provenance"]["data"] == "data/x"  # relative: no machine path is committed
    assert str(tmp_path) not in (dest / record.RECORD).read_text()
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert not [f for f in files if f.endswith((".pt", ".npy"))]
    assert f"runs/{names[1]}/{runs.FRAME_SUMS}" in files and "results/verdicts.json" in files
    seeds = [json.loads(Path(d, runs.EVALUATION).read_text())["run"]["seed"] for d in rec["run_dirs"]]
    assert seeds == [1314, 2]


def test_check_names_what_is_missing_and_load_refuses_a_broken_record(finished, tmp_path):
    plan, out_dir, work, names = finished
    dest = record.write(plan, out_dir, tmp_path / "rec", cwd=work)
    (dest / "runs" / names[0] / runs.FRAME_SUMS).unlink()
    assert record.check(dest) == [f"runs/{names[0]}/{runs.FRAME_SUMS} is missing"]
    with pytest.raises(ValueError, match="is missing"):
        record.load(dest)
    assert record.load(tmp_path / "nowhere") is None  # no record yet: the chapter says so


def test_an_unfinished_run_is_not_recorded(finished, tmp_path):
    plan, out_dir, work, names = finished
    (work / "runs" / "cpu" / names[1] / runs.EVALUATION).unlink()
    with pytest.raises(FileNotFoundError, match="not finished"):
        record.write(plan, out_dir, tmp_path / "rec", cwd=work)
    assert not (tmp_path / "rec").exists()


ROOT = Path(__file__).resolve().parents[1]


def test_the_committed_cpu_record_matches_its_schema_and_its_profile():
    """results/cpu is what `dark book --profile cpu` wrote: every training of the profile, each with its
    summaries, and per-run evaluations on the same test frames (the two-level intervals pair them)."""
    from dark import profiles, report

    dest = ROOT / "results" / "cpu"
    assert record.check(dest) == []
    rec = record.load(dest)
    assert rec["profile"] == "cpu" and rec["command"] == "dark book --profile cpu"
    assert rec["runs"] == [runs.run_name(*r) for r in profiles.PROFILES["cpu"].runs()]
    assert set(rec["steps"]) >= {f"03_train-{n}" for n in rec["runs"]}
    records = report.load_runs(rec["run_dirs"])
    assert {r.seed for r in records} == set(profiles.PROFILES["cpu"].seeds)
    for r in records:
        epochs = [h["epoch"] for h in runs.load_history(r.path)]
        assert epochs == list(range(1, profiles.PROFILES["cpu"].recipe.epochs + 1))
    analysis = report.analyse(records, n_resamples=200)  # raises unless every run has the same frames
    assert set(analysis.cells) == set(profiles.PROFILES["cpu"].cells)


# ------------------------------------------------------------------------------ compact predictions


def _predictions(n_frames: int = 250, views: int = 4, decoders: int = 15, seed: int = 0) -> dict:
    """Test predictions shaped like the quick test split's (250 frames x 4 views, 18 joints): errors of a
    few px with a heavy tail (a decoder tens of px off), argmax-like coordinates on the 8-px grid, NaNs."""
    rng = np.random.default_rng(seed)
    n = n_frames * views
    gt = rng.uniform((0, 0), (320, 160), size=(n, 18, 2))
    error = rng.standard_t(3, size=(decoders, n, 18, 2)) * 3.0
    coords = (gt[None] + error).astype(np.float32)
    coords[0] = np.floor(coords[0] / 8) * 8 + 4  # argmax: heatmap-pixel centres
    coords[1, 3, 5] = np.nan
    coords[2, 7, 1] = [1e9, -1e9]  # beyond the int32 grid: kept exactly
    return {
        "coords": coords,
        "decoders": np.array([f"d{i}" for i in range(decoders)]),
        "gt": gt,
        "visible": rng.random((n, 18)) < 0.9,
        "head_size": rng.uniform(15, 40, n),
        "groups": np.repeat([f"S1/run/{f}" for f in range(n_frames)], views),
        "names": np.array([f"S1/run/{v}/{f}" for f in range(n_frames) for v in range(views)]),
        "clusters": np.repeat(np.arange(n_frames) // 8, views).astype(np.int64),
        "pred_visible": rng.random((decoders, n, 18)) < 0.8,
    }


def test_predictions_are_stored_compactly_and_read_back_within_a_thousandth_of_a_pixel(tmp_path):
    arrays = _predictions()
    path = runs.save_predictions(tmp_path, arrays)
    assert path == tmp_path / runs.PREDICTIONS
    back = runs.load_predictions(tmp_path)
    assert set(back) == set(arrays)
    for k in ("decoders", "gt", "visible", "head_size", "groups", "names", "clusters", "pred_visible"):
        np.testing.assert_array_equal(back[k], arrays[k])
        assert back[k].dtype == arrays[k].dtype
    assert back["coords"].dtype == np.float32 and back["coords"].shape == arrays["coords"].shape
    finite = np.isfinite(arrays["coords"])
    np.testing.assert_array_equal(np.isfinite(back["coords"]), finite)
    assert np.abs(back["coords"][finite] - arrays["coords"][finite]).max() <= 1e-3
    assert back["coords"][2, 7, 1].tolist() == [1e9, -1e9]
    # float16 errors would not keep 1e-3 px: past 4 px their spacing is 2^-8 px and more
    error = arrays["coords"].astype(np.float64) - arrays["gt"][None]
    small = finite & (np.abs(error) < 1e4)
    half = arrays["gt"][None] + error.astype(np.float16).astype(np.float64)
    assert np.abs(half - arrays["coords"])[small].max() > 1e-3


def test_predictions_written_before_the_compact_layout_read_the_same(tmp_path):
    arrays = _predictions(n_frames=8, decoders=3)
    np.savez(tmp_path / runs.PREDICTIONS, **arrays)
    back = runs.Run(tmp_path).predictions()
    np.testing.assert_array_equal(back["coords"], arrays["coords"])
    with pytest.raises(ValueError, match="without"):
        runs.save_predictions(tmp_path, {k: v for k, v in arrays.items() if k != "gt"})
