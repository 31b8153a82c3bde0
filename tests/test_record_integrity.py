"""A record trusts its files only while they are what was recorded (issue 30): every recorded run's files are
hashed (runs/<run>/SHA256SUMS) and its digest is recomputed from its config.json when the record is read;
a run that no longer matches is reported as altered, by name and file, and never analysed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import ONE_FRAME_PREDICTIONS, record_run, write_run

from dark.analysis import report
from dark.analysis.report.load import load_run
from dark.experiment import runs
from dark.record import record, record_cli, run_hashes, run_store

ROOT = Path(__file__).resolve().parents[1]


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=1))


def _double_lr(config: dict) -> None:
    config["lr"] *= 2


def _dark_plus_10(evaluation: dict) -> None:
    evaluation["decoders"]["dark"]["metrics"]["pckh@0.1"]["value"] += 10


def test_the_committed_records_are_hashed_and_intact():
    """results/cpu (and the superseded record kept beside it) carry SHA256SUMS for every run, and every
    file and digest matches: `python -m dark record` finds nothing altered."""
    for folder in record_cli.records(ROOT):
        stored = run_store.recorded_runs(folder)
        assert stored and not run_store.unhashed(folder), folder
        assert [r.verify() for r in stored.values()] == [None] * len(stored), folder
        for run in stored.values():
            assert set(run_hashes.read_sums(run.path)) >= set(record.SCHEMA_RUN_FILES[1])


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    """A copy of results/cpu with lr doubled in one run's config.json and 10 points added to another
    run's DARK PCKh@0.1 in its evaluation.json (the two changes issue 30 found unnoticed)."""
    dest = tmp_path_factory.mktemp("record") / "cpu"
    shutil.copytree(ROOT / "results" / "cpu", dest)
    rec = record.load(dest)
    config_run, evaluation_run = rec["runs"][1], rec["runs"][2]
    _edit_json(dest / "runs" / config_run / runs.CONFIG, _double_lr)
    _edit_json(dest / "runs" / evaluation_run / runs.EVALUATION, _dark_plus_10)
    return dest, rec["runs"], config_run, evaluation_run


def test_a_changed_config_and_a_changed_evaluation_are_altered_and_left_out(tampered):
    dest, names, config_run, evaluation_run = tampered
    with pytest.warns(UserWarning, match=rf"2 altered run\(s\) left out.*{config_run}: config.json"):
        rec = record.load(dest)
    assert [(a["run"], a["files"]) for a in rec["altered"]] == [
        (config_run, [runs.CONFIG]), (evaluation_run, [runs.EVALUATION])
    ]  # fmt: skip
    assert rec["runs"] == [n for n in names if n not in (config_run, evaluation_run)]
    assert [Path(d).name for d in rec["run_dirs"]] == rec["runs"]
    assert f"{config_run}: config.json changed since it was recorded" in record.describe(rec)
    # the analysis reads the rest, and refuses an altered run it is handed directly
    assert len(report.load_runs(rec["run_dirs"])) == len(names) - 2
    for name, file in ((config_run, runs.CONFIG), (evaluation_run, runs.EVALUATION)):
        with pytest.raises(ValueError, match=rf"{name}.*not what was recorded.*{file}"):
            load_run(dest / "runs" / name)


def test_a_build_on_a_tampered_record_reuses_neither_run_and_says_so(tampered, capsys):
    dest, names, config_run, evaluation_run = tampered
    data = run_store.recorded_runs(dest)[names[0]].record["training_data"]
    precision = json.loads((dest / record.RECORD).read_text())["precision"]
    m = run_store.match(dest, "cpu", data, precision=precision)
    assert len(m.matched) == len(names) - 2 and not m.stale
    assert {a["run"] for a in m.altered} == {config_run, evaluation_run}
    assert {config_run, evaluation_run} <= {t.name for t in m.missing}  # retrained, as a stale run is
    said = [line for line in m.lines() if "ALTERED" in line]
    assert len(said) == 2 and f"ALTERED {config_run}: config.json" in said[0]
    assert record_cli.cli([str(dest)]) == 1
    out = capsys.readouterr().out
    assert f"ALTERED {evaluation_run}: evaluation.json" in out and "2 altered" in out
    # --rehash never blesses them
    assert record_cli.cli([str(dest), "--rehash"]) == 1
    assert {a.run for a in run_store.rehash(dest)[1]} == {config_run, evaluation_run}


def _store(tmp_path: Path, seeds=(1, 2)) -> Path:
    store = tmp_path / "store"
    for seed in seeds:
        record_run(store, write_run(tmp_path / "work", "sh", "ceil", seed, predictions=ONE_FRAME_PREDICTIONS))
    return store


def test_a_recorded_run_is_hashed_in_sha256sum_format_and_checked_by_it(tmp_path):
    store = _store(tmp_path, seeds=(1,))
    run = store / "runs" / runs.run_name("sh", "ceil", 1)
    sums = (run / run_hashes.SUMS).read_text().splitlines()
    assert [line.split("  ")[1] for line in sums] == sorted(run_store.RUN_FILES)
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--check", "--quiet", run_hashes.SUMS], cwd=run, check=True)
    assert run_store.recorded_runs(store)[run.name].verify() is None


def test_the_digest_is_recomputed_from_the_config_so_a_rehashed_edit_shows(tmp_path):
    store = _store(tmp_path, seeds=(1,))
    run = store / "runs" / runs.run_name("sh", "ceil", 1)
    _edit_json(run / runs.CONFIG, _double_lr)
    run_hashes.write_sums(run, run_store.RUN_FILES)  # the hashes rewritten by hand: the digest still tells
    altered = run_store.recorded_runs(store)[run.name].verify()
    assert altered.files == (runs.CONFIG,) and "digest" in altered.reason
    assert run_hashes.verify_run(run) == altered


def test_rehash_hashes_an_older_record_once_and_never_an_edited_run(tmp_path):
    store = _store(tmp_path)
    first, second = (store / "runs" / runs.run_name("sh", "ceil", s) for s in (1, 2))
    for run in (first, second):
        (run / run_hashes.SUMS).unlink()  # recorded before SHA256SUMS existed
    _edit_json(second / runs.CONFIG, _double_lr)
    assert run_store.unhashed(store) == [first.name]
    with pytest.raises(ValueError, match=rf"never hashed \({first.name}\).*record --rehash"):
        run_store.match(store, "smoke", "d")
    hashed, altered = run_store.rehash(store)
    assert hashed == [first.name] and [(a.run, a.files) for a in altered] == [(second.name, (runs.CONFIG,))]
    assert (first / run_hashes.SUMS).is_file() and not (second / run_hashes.SUMS).is_file()
    assert run_store.rehash(store) == ([], altered)  # once: the hashed run is verified, not rewritten
    assert run_store.unhashed(store) == []  # the edited run is altered, not waiting for a hash


def test_the_record_command_is_a_dark_command(tmp_path):
    store = _store(tmp_path, seeds=(1,))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "dark", "record", str(store)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert done.returncode == 0 and "1 runs, 0 hashed now, 0 altered, 0 never hashed" in done.stdout
