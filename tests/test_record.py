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
