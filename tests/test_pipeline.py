"""dark.book.plan / dark.book.executor / dark.book.pipeline on tiny notebooks written into tmp_path: plan
resolution,
hashing, skipping, resuming after a failure, progress lines, the CLI's errors, the book's assets."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml
from fakes import ONE_FRAME_PREDICTIONS, write_run

from dark.analysis import report
from dark.book import book_assets, executor, pipeline
from dark.book.plan import PlanError, load_plan, step_hash
from dark.design import profiles
from dark.experiment.runs import run_name
from dark.record import record, run_store

ROOT = Path(__file__).resolve().parents[1]


#: the clock every progress line ends with, h:mm:ss (its format is tested, never its value)
PROGRESS_CLOCK = re.compile(r"\[elapsed \d+:\d\d:\d\d\]$")


def _notebook(path: Path, body: str, params: str) -> Path:
    """A jupytext MyST notebook with a `parameters` cell and one code cell."""
    path.write_text(
        textwrap.dedent(
            """\
            ---
            jupytext:
              text_representation: {{extension: .md, format_name: myst}}
            kernelspec: {{display_name: Python 3, language: python, name: python3}}
            ---
            # {title}

            ```{{code-cell}}
            :tags: [parameters]
            {params}
            ```

            ```{{code-cell}}
            {body}
            ```
            """
        ).format(title=path.stem, params=params, body=body)
    )
    return path


@pytest.fixture
def project(tmp_path):
    """Two notebooks: `make` writes value*2 to a file, `read` reads it and writes value+1."""
    nb = tmp_path / "notebooks"
    nb.mkdir()
    _notebook(
        nb / "make.md",
        "from pathlib import Path\nPath(out).write_text(str(value * 2))",
        "value = 0\nout = ''",
    )
    _notebook(
        nb / "read.md",
        "from pathlib import Path\nx = int(Path(src).read_text())\nassert x >= 0, 'negative'\n"
        "Path(out).write_text(str(x + 1))",
        "src = ''\nout = ''",
    )
    plan = {
        "paths": {"data": "{work}/{profile}"},
        "steps": [
            {
                "id": "read",
                "notebook": "read.md",
                "needs": ["make"],
                "outputs": ["{data}/b.txt"],
                "parameters": {"src": "{data}/a.txt", "out": "{data}/b.txt"},
            },
            {
                "id": "make",
                "notebook": "make.md",
                "hide_parameters": True,
                "outputs": ["{data}/a.txt"],
                "parameters": {"value": 3, "out": "{data}/a.txt"},
            },
        ],
    }
    (nb / "pipeline.yml").write_text(yaml.safe_dump(plan))
    (tmp_path / "work" / "smoke").mkdir(parents=True)
    return tmp_path


def _plan(project, profile="smoke"):
    return load_plan(project / "notebooks" / "pipeline.yml", profile, work=project / "work")


# ------------------------------------------------------------------------------------------ plan


def test_plan_expands_templates_and_orders_dependencies(project):
    plan = _plan(project, "quick")
    assert [s.id for s in plan.steps] == ["make", "read"]  # `read` is listed first but needs `make`
    make = plan.step("make")
    # notebooks get paths relative to the work folder (where the kernels run); outputs stay absolute
    assert make.parameters == {"value": 3, "out": "quick/a.txt"}
    assert make.notebook == project / "notebooks" / "make.md"
    assert make.outputs == (project / "work" / "quick" / "a.txt",)
    assert plan.about == " ".join(profiles.PROFILES["quick"].about.split())
    assert _plan(project, "smoke").step("make").parameters["out"] == "smoke/a.txt"


def test_a_template_of_one_profile_field_keeps_its_type_and_tuples_arrive_as_lists(project):
    """The profile's values come from its row of the profile table, by name."""
    path = project / "notebooks" / "pipeline.yml"
    raw = yaml.safe_load(path.read_text())
    raw["steps"][1]["parameters"].update(
        sigmas="{study.sigmas}", seed="{report_seed}", label="n={study.trials}", records="{records}"
    )
    path.write_text(yaml.safe_dump(raw))
    for name in ("smoke", "full"):
        assert (
            _plan(project, name).step("make").parameters["label"]
            == f"n={profiles.PROFILES[name].study.trials}"
        )
    params = _plan(project, "cpu").step("make").parameters
    study = profiles.PROFILES["cpu"].study
    assert params["sigmas"] == list(study.sigmas) and isinstance(params["sigmas"], list)
    assert params["seed"] == profiles.REPORT_SEED and isinstance(params["seed"], int)
    assert params["label"] == f"n={study.trials}"  # inside a longer string: formatted
    recorded = [p.recorded for p in profiles.PROFILES.values() if p.recorded]
    assert recorded == ["cpu", "gpu"]
    # the record folders of the plan file's repository, relative to the work folder (the kernels' folder)
    assert params["records"] == [f"../results/{r}" for r in recorded]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p.update(profiles={"smoke": {}}), "profiles are the rows of dark/design/profiles.py"),
        (lambda p: p["steps"][0].update(needs=["nowhere"]), "unknown step 'nowhere'"),
        (lambda p: p["steps"][1].update(needs=["read"]), "dependency cycle"),
        (lambda p: p["steps"][1]["parameters"].update(out="{nothing}/a"), "cannot expand"),
        (lambda p: p["steps"][1]["parameters"].update(value={"quick": 1}), "keyed by profiles"),
        (lambda p: p["steps"][1]["parameters"].update(value="{study.nothing}"), "cannot expand"),
        (lambda p: p["steps"][1].update(id="read"), "duplicate step ids"),
    ],
)
def test_plan_errors_name_the_problem(project, edit, message):
    path = project / "notebooks" / "pipeline.yml"
    raw = yaml.safe_load(path.read_text())
    edit(raw)
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PlanError, match=message):
        _plan(project)


def test_an_unknown_profile_names_the_tables_rows(project):
    with pytest.raises(PlanError, match=r"unknown profile 'huge'.*'quick'"):
        _plan(project, "huge")


def test_the_books_plan_trains_every_cell_with_every_seed_of_the_profile_table():
    for profile in pipeline.PROFILES:
        table = profiles.PROFILES[profile]
        plan = load_plan(ROOT / "notebooks" / "pipeline.yml", profile, work="/w", root=ROOT)
        ids = [s.id for s in plan.steps]
        trains = [s for s in plan.steps if s.notebook.name == "03_train.md"]
        got = [(s.parameters["model"], s.parameters["encoding"], s.parameters["seed"]) for s in trains]
        assert got == [t[:3] for t in table.runs()]
        assert [s.parameters["batch_size"] for s in trains] == [t.batch_size for t in table.runs()]
        assert [s.parameters["input_scale"] for s in trains] == [t.input_scale for t in table.runs()]
        # no record: this machine's precision, as an empty record's; a cell's own where it sets one
        own = run_store.own_precision(profile)
        assert own in ("fp32", "bf16")
        assert [s.parameters["precision"] for s in trains] == [t.precision or own for t in table.runs()]
        assert [s.run for s in trains] == [t.name for t in table.runs()]
        assert all(isinstance(s.parameters["seed"], int) for s in trains)  # a number, not "1314"
        assert [s.id for s in trains] == [f"03_train-{run_name(*r)}" for r in table.runs()]
        assert [s.parameters["out"] for s in trains] == [
            f"runs/{profile}/{run_name(*r)}" for r in table.runs()
        ]
        for s in trains:
            # the profile names the recipe and the model configuration: one name, passed once
            assert s.parameters["profile"] == profile and "config" not in s.parameters
            assert s.parameters["data"] == f"data/generated/{profile}"
            # trained and evaluated in one step, so a record can take the run as soon as it is done
            assert s.outputs == (Path(f"/w/runs/{profile}/{s.run}/evaluation.json"),)
            assert ids.index("02_data") < ids.index(s.id) < ids.index("04_evaluate")
        evaluate = plan.step("04_evaluate")
        assert set(evaluate.needs) == {"02_data", *(s.id for s in trains)}  # `needs: [03_train]` = all
        assert evaluate.parameters["runs"] == [s.parameters["out"] for s in trains]
        assert plan.about, "every profile says what it means"
        # the decoder study's sizes and the seeds are the profile table's, visible as parameters
        study = plan.step("01_decoders").parameters
        for name, value in vars(table.study).items():
            assert study[name] == list(value) if isinstance(value, tuple) else study[name] == value
        assert study["seed"] == plan.step("02_data").parameters["seed"] == profiles.REPORT_SEED
        # the recorded profiles' folders, then the earlier records kept beside them (labelled superseded)
        records = [os.path.relpath(ROOT / "results" / r, "/w") for r in ("cpu", "gpu", "cpu-2026-12-02")]
        assert plan.step("recorded").parameters["records"] == records
    assert len(profiles.PROFILES["cpu"].seeds) == 8  # the evidence profile replicates every cell


def test_a_profile_is_one_row_of_the_profile_table(monkeypatch):
    """A new profile needs no line in the plan file: every step resolves from its row."""
    from dataclasses import replace

    row = replace(profiles.PROFILES["smoke"], name="tiny", about="A tiny profile.", recorded="tiny")
    monkeypatch.setitem(profiles.PROFILES, "tiny", row)
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "tiny", work=ROOT, root=ROOT)
    assert plan.about == "A tiny profile." and plan.step("summary").parameters["about"] == "A tiny profile."
    assert plan.step("01_decoders").parameters["trials"] == row.study.trials
    assert plan.step("recorded").parameters["records"] == [
        "results/cpu", "results/gpu", "results/tiny", "results/cpu-2026-12-02"
    ]  # fmt: skip
    assert record.folder("/repo", "tiny") == Path("/repo/results/tiny")
    assert [s.id for s in plan.steps if s.id.startswith("03_train-")] == [
        f"03_train-{run_name(*r)}" for r in row.runs()
    ]


def _strings(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def test_no_parameter_holds_the_machines_absolute_folders(tmp_path):
    work = tmp_path / "somewhere" / "work"
    for profile in pipeline.PROFILES:
        plan = load_plan(ROOT / "notebooks" / "pipeline.yml", profile, work=work, root=ROOT)
        for step in plan.steps:
            absolute = [v for v in _strings(step.parameters) if Path(v).is_absolute()]
            assert not absolute, (step.id, absolute)
    # the HUMAN4D root a user passes is theirs to show; everything of the build is relative
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "quick", work=work, root=ROOT)
    assert plan.step("04_evaluate").parameters["data"] == "data/generated/quick"


def test_adding_a_seed_adds_steps_and_leaves_the_others_hashes_alone(monkeypatch):
    from dataclasses import replace

    def hashes(plan):
        out = {}
        for s in plan.steps:
            out[s.id] = step_hash(s, out)
        return out

    before = hashes(load_plan(ROOT / "notebooks" / "pipeline.yml", "quick", work="/w", root=ROOT))
    quick = profiles.PROFILES["quick"]
    cells = tuple(replace(c, seeds=(*c.seeds, 99)) for c in quick.cells)
    monkeypatch.setitem(profiles.PROFILES, "quick", replace(quick, cells=cells))
    after = hashes(load_plan(ROOT / "notebooks" / "pipeline.yml", "quick", work="/w", root=ROOT))
    new = set(after) - set(before)
    assert new == {f"03_train-{c.model}-{c.encoding}-s99" for c in quick.cells}
    trains = [k for k in before if k.startswith("03_train-")]
    assert all(before[k] == after[k] for k in trains)  # the finished trainings stay up to date
    assert before["04_evaluate"] != after["04_evaluate"]  # the evaluation takes the new runs in


def test_data_root_switches_the_data_step_source(tmp_path):
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "full", work="/w", root=ROOT, source=str(tmp_path))
    assert plan.step("02_data").parameters["source"] == str(tmp_path)
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "full", work="/w", root=ROOT)
    assert plan.step("02_data").parameters["source"] == "render"


# ------------------------------------------------------------------------------------------ hashing


def test_hash_follows_source_parameters_and_upstream_only(project):
    plan = _plan(project)
    make, read = plan.step("make"), plan.step("read")
    h_make = step_hash(make, {})
    h_read = step_hash(read, {"make": h_make})
    assert h_read != h_make and len(h_make) == 64
    assert step_hash(make, {}) == h_make  # deterministic
    assert step_hash(read, {"make": "0" * 64}) != h_read  # upstream change propagates
    quick = _plan(project, "quick")
    assert step_hash(quick.step("make"), {}) != h_make  # parameters differ
    (project / "notebooks" / "make.md").write_text(make.notebook.read_text() + "\n<!-- edited -->\n")
    assert step_hash(make, {}) != h_make
    with pytest.raises(PlanError, match="no hash"):
        step_hash(read, {})


# ------------------------------------------------------------------------------------------ execution


def _fake_executor(calls):
    """Stand-in for papermill: records the call, writes the outputs and an empty executed notebook."""

    def execute(step, out_dir, *, cwd, quiet):
        calls.append(step.id)
        for p in step.outputs:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("x")
        nbformat.write(nbformat.v4.new_notebook(), out_dir / f"{step.id}.ipynb")
        return out_dir / f"{step.id}.ipynb"

    return execute


def test_skips_up_to_date_steps_and_reruns_only_what_depends_on_an_edit(project):
    out, calls, lines = project / "out", [], []
    run = lambda **kw: executor.execute_plan(  # noqa: E731
        _plan(project), out, cwd=project / "work", execute=_fake_executor(calls), log=lines.append, **kw
    )
    assert run().executed == ["make", "read"]
    assert run().skipped == ["make", "read"] and calls == ["make", "read"]
    # editing the downstream notebook re-runs it alone; editing the upstream one re-runs both
    read_md = project / "notebooks" / "read.md"
    read_md.write_text(read_md.read_text() + "\n<!-- edited -->\n")
    assert run().executed == ["read"]
    make_md = project / "notebooks" / "make.md"
    make_md.write_text(make_md.read_text() + "\n<!-- edited -->\n")
    assert run().executed == ["make", "read"]
    # a missing declared output or executed notebook invalidates the stamp
    (project / "work" / "smoke" / "b.txt").unlink()
    assert run().executed == ["read"]
    (out / "make.ipynb").unlink()
    assert run().executed == ["make"]  # same inputs, same hash: `read` stays up to date
    assert run(force=True).executed == ["make", "read"]
    # progress: step i of n and the elapsed time on every line
    assert lines[0].startswith("[1/2] make (make.md): executing")
    assert PROGRESS_CLOCK.search(lines[0]), lines[0]
    assert any(line.startswith("[2/2] read (read.md): up to date, skipped") for line in lines)


def test_real_papermill_run_failure_keeps_partial_notebook_and_resumes(project):
    """One real papermill execution per notebook: a failure in `read` keeps `make`'s results."""
    out, lines = project / "out", []
    data = project / "work" / "smoke"
    (project / "notebooks" / "make.md").write_text(
        (project / "notebooks" / "make.md").read_text().replace("value * 2", "value * -2")
    )
    with pytest.raises(executor.StepFailed) as info:
        executor.execute_plan(_plan(project), out, cwd=project / "work", quiet=True, log=lines.append)
    message = str(info.value)
    assert "step 2/2 'read' failed" in message and "read.md" in message
    assert "AssertionError: negative" in message and "cell " in message
    partial = out / "read.failed.ipynb"
    assert info.value.partial == partial and str(partial) in message
    cells = nbformat.read(partial, as_version=4).cells
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in cells)
    errors = [
        o for c in cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert errors and errors[0]["ename"] == "AssertionError"
    assert not (out / "read.ipynb").exists() and not executor.stamp_path(out, "read").exists()
    # the finished step is kept: its stamp, its executed notebook, its output
    assert json.loads(executor.stamp_path(out, "make").read_text())["hash"]
    assert (data / "a.txt").read_text() == "-6"
    executed = nbformat.read(out / "make.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "value = 3" in injected[0].source
    assert "remove-cell" in injected[0].metadata.tags  # hide_parameters: the page shows prose only
    assert "remove-cell" not in cells[-1].metadata.get("tags", [])  # `read` shows its parameters
    # fix the downstream notebook: the rerun resumes at `read`
    read_md = project / "notebooks" / "read.md"
    read_md.write_text(read_md.read_text().replace("assert x >= 0", "assert x <= 0"))
    report = executor.execute_plan(_plan(project), out, cwd=project / "work", quiet=True, log=lines.append)
    assert report.executed == ["read"] and report.skipped == ["make"]
    assert (data / "b.txt").read_text() == "-5"
    assert not partial.exists()


# ------------------------------------------------------------------------------------------ CLI


def test_cli_errors_exit_2_with_one_line(tmp_path, capsys):
    assert pipeline.cli(["--profile", "smoke", "--data-root", str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--data-root" in err and "not a directory" in err
    with pytest.raises(SystemExit) as info:
        pipeline.cli(["--profile", "huge"])
    assert info.value.code == 2


def test_assets_are_copied_from_node_modules_not_referenced_remotely(tmp_path):
    node_modules = ROOT / "node_modules"
    if not node_modules.is_dir():
        with pytest.raises(FileNotFoundError, match="npm ci"):
            book_assets.prepare_assets(tmp_path, node_modules)
        return
    book = tmp_path / "book"
    (book / "widgets").mkdir(parents=True)
    (book / "widgets" / "require-config.js").write_text("// config\n")
    book_assets.prepare_assets(book, node_modules)
    static = book / "_widgets" / "static"
    for _, dst in book_assets.WIDGET_FILES:
        assert (static / dst).stat().st_size > 1000
    assert (static / "mathjax" / "tex-chtml.js").is_file()
    fonts = book / "_widgets" / "extra" / "executed" / "@jupyter-widgets" / "html-manager" / "dist"
    assert any(fonts.glob("*.woff2"))
    before = pipeline.book_digest(book)
    book_assets.prepare_assets(book, node_modules)  # idempotent: nothing changes
    assert pipeline.book_digest(book) == before


def test_clean_paths_go_when_inputs_change_and_stay_for_a_resume(project):
    path = project / "notebooks" / "pipeline.yml"
    raw = yaml.safe_load(path.read_text())
    raw["steps"][1]["clean"] = ["{data}/a.txt", "{data}/partial"]
    path.write_text(yaml.safe_dump(raw))
    out, calls, lines = project / "out", [], []
    data = project / "work" / "smoke"
    execute = _fake_executor(calls)
    executor.execute_plan(_plan(project), out, cwd=project / "work", execute=execute, log=lines.append)
    (data / "partial").mkdir()
    (data / "partial" / "epoch1.pt").write_text("x")

    def crash(step, out_dir, *, cwd, quiet):
        if step.id == "make":
            raise RuntimeError("killed")
        return execute(step, out_dir, cwd=cwd, quiet=quiet)

    # new inputs: the stale files go before the execution, which then crashes
    raw["steps"][1]["parameters"]["value"] = 4
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(executor.StepFailed, match="RuntimeError: killed"):
        executor.execute_plan(_plan(project), out, cwd=project / "work", execute=crash, log=lines.append)
    assert not (data / "a.txt").exists() and not (data / "partial").exists()
    assert any("removed" in line and "partial" in line for line in lines)
    # what the crashed execution left is kept for the resume (same inputs)
    (data / "partial").mkdir()
    (data / "partial" / "epoch1.pt").write_text("x")
    report = executor.execute_plan(
        _plan(project), out, cwd=project / "work", execute=execute, log=lines.append
    )
    assert report.executed == ["make", "read"] and (data / "partial" / "epoch1.pt").exists()
    # a clean path outside the work folder is refused
    raw["steps"][1]["clean"] = ["/elsewhere"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PlanError, match="not inside the work folder"):
        _plan(project)


# ------------------------------------------------------------------------------ a recorded profile


class _FakeBook:
    """Executes the real plan's steps without notebooks: the data step writes a manifest, a training step
    a finished, evaluated run (as 03_train.md leaves it), the others nothing; optionally interrupted."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.executed: list[str] = []
        self.stop_at = stop_at

    def __call__(self, step, out_dir, *, cwd, quiet=False):
        import numpy as np

        p = step.parameters
        if step.id == "02_data":
            data = cwd / p["out"]
            data.mkdir(parents=True, exist_ok=True)
            shards = [{"file": f"{s}-0.npy", "split": s, "views": 4, "sha256": s} for s in ("train", "val")]
            (data / "manifest.json").write_text(json.dumps({"shards": shards}))
        if step.run:
            if (
                self.stop_at is not None
                and sum(s.startswith("03_train-") for s in self.executed) == self.stop_at
            ):
                raise KeyboardInterrupt  # the build is stopped between two trainings
            run = cwd / p["out"]
            write_run(run.parent, p["model"], p["encoding"], p["seed"], profile=p["profile"], name=run.name,
                      batch_size=p["batch_size"], precision=p["precision"], groups=np.array(["a"]),
                      history=[{"epoch": 1, "time_s": 2.0}], predictions=ONE_FRAME_PREDICTIONS,
                      evaluation={"run": {"seed": p["seed"]}, "decoders": {}})  # fmt: skip
        self.executed.append(step.id)
        final = Path(out_dir) / f"{step.id}.ipynb"
        final.write_text("{}")
        return final


def _build(tmp_path, work: str, fake: _FakeBook, **kwargs):
    lines: list[str] = []
    pipeline.run_book(
        "smoke", root=ROOT, book=tmp_path / f"book-{work}", work=tmp_path / work, record=tmp_path / "record",
        build=False, quiet=True, log=lines.append, execute=fake, **kwargs,
    )  # fmt: skip
    return [s.removeprefix("03_train-") for s in fake.executed if s.startswith("03_train-")], lines


def test_a_recorded_profile_trains_only_what_its_record_lacks_and_records_each_run_at_once(
    tmp_path, monkeypatch
):
    """The mechanism of `dark book --profile cpu` on the smoke profile with a temporary record: a build
    stopped between trainings keeps the runs it recorded; the next trains only the rest; a rerun on the
    record (another work folder: no stamps) plans no training; new seeds train only themselves; a run
    whose digest no longer matches is reported stale and retrained, never mixed in."""
    from dataclasses import replace

    from dark.experiment import runs

    names = [t.name for t in profiles.PROFILES["smoke"].runs()]
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path, "w1", _FakeBook(stop_at=2))
    store = tmp_path / "record"
    assert sorted(run_store.recorded_runs(store)) == sorted(names[:2])  # recorded as each finished
    assert record.load(store)["runs"] == names[:2]  # and listed, though the build did not finish
    trained, _ = _build(tmp_path, "w1", _FakeBook())
    assert trained == names[2:]
    rec = record.load(store)
    assert rec["runs"] == names and rec["trained"] == names[2:] and rec["stale"] == []
    assert rec["precision"] == "fp32" and list(record.runs_table(rec).index) == names
    assert record.runs_table(rec)["wall_min"].notna().all()  # each run's step, timed as it was recorded
    # a rerun on the record from a fresh work folder: no training, the analysis reads the record's runs
    fake = _FakeBook()
    trained, lines = _build(tmp_path, "w2", fake)
    assert trained == [] and "04_evaluate" in fake.executed
    assert any(f"{len(names)} of {len(names)} trainings recorded" in line for line in lines)
    recorded = {n: r.path for n, r in run_store.recorded_runs(store).items()}
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "smoke", work=tmp_path / "w2", recorded=recorded)
    assert not [s for s in plan.steps if s.run] and plan.step("04_evaluate").parameters["runs"] == []
    analysed = [(tmp_path / "w2" / p).resolve() for p in plan.step("05_results").parameters["runs"]]
    assert analysed == [(store / "runs" / n).resolve() for n in names]
    # a new seed in the table trains only the new seed's runs
    smoke = profiles.PROFILES["smoke"]
    cells = tuple(replace(c, seeds=(*c.seeds, 5)) for c in smoke.cells)
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke, cells=cells))
    trained, _ = _build(tmp_path, "w2", _FakeBook())
    assert sorted(trained) == sorted(f"{c.model}-{c.encoding}-s5" for c in cells)
    # the training code changes: every recorded run is stale (listed with the reason) and retrained
    # (--max-trainings: the record's runs are analysed once they are recorded; these fake runs have no
    # evaluation to analyse, so the call is only counted here: tests/test_verdicts.py runs it)
    monkeypatch.setattr(runs, "TRAINING_REVISION", runs.TRAINING_REVISION + 1)
    analysed_: list = []
    monkeypatch.setattr(report, "save_analysis", lambda dest, run_dirs: analysed_.append((dest, run_dirs)))
    trained, lines = _build(tmp_path, "w3", _FakeBook(), max_trainings=1)
    assert len(trained) == 1
    stale = [line for line in lines if "STALE" in line]
    assert len(stale) == 2 * len(names) and "training revision" in stale[0]
    rec = record.load(store)
    assert rec["runs"] == trained and len(rec["stale"]) == 2 * len(names)
    assert analysed_ == [(store, [str(store / "runs" / trained[0])])]  # the record's one run, after it


def test_a_build_on_a_record_with_an_altered_run_names_it_and_leaves_it_out(tmp_path, monkeypatch):
    """Issue 30's check, on a temporary record: after a build, one recorded run's evaluation.json gains 10
    points; `dark book --max-trainings 0` on the record names the run and file as altered (build log and
    record.json), lists it no more, and saves the analysis of the other runs only."""
    names = [t.name for t in profiles.PROFILES["smoke"].runs()]
    _build(tmp_path, "w1", _FakeBook())
    store = tmp_path / "record"
    evaluation = store / "runs" / names[1] / "evaluation.json"
    evaluation.write_text(evaluation.read_text().replace("{", '{"dark pckh@0.1 + 10": 10, ', 1))
    analysed: list = []
    monkeypatch.setattr(report, "save_analysis", lambda dest, run_dirs: analysed.append(run_dirs))
    trained, lines = _build(tmp_path, "w2", _FakeBook(), max_trainings=0)
    assert trained == []
    assert [line for line in lines if "ALTERED" in line] == [
        f"record: ALTERED {names[1]}: evaluation.json changed since it was recorded (not its SHA256SUMS) "
        "(not analysed; retrained)"
    ]
    assert any(f"{len(names) - 1} of {len(names)} trainings recorded" in line for line in lines)
    rec = record.load(store)
    assert names[1] not in rec["runs"] and [a["run"] for a in rec["altered"]] == [names[1]]
    assert analysed == [[str(store / "runs" / n) for n in names if n != names[1]]]


def test_a_recorded_profile_built_in_another_work_folder_says_it_records_nothing(tmp_path, monkeypatch):
    """With --work-dir and no --record, a recorded profile's build writes no record, and says so (a
    session once trained a pair that way and believed it recorded); the next build there with --record
    records those trainings instead of retraining them (their precision was null without a record and
    resolved with one, which changed every training step's hash)."""
    from dataclasses import replace

    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], recorded="smoke-x"))
    lines: list[str] = []
    pipeline.run_book(
        "smoke", root=ROOT, book=tmp_path / "book", work=tmp_path / "w", build=False, quiet=True,
        log=lines.append, execute=_FakeBook(),
    )  # fmt: skip
    said = [s for s in lines if s.startswith("record: none written")]
    assert len(said) == 1 and "--record DIR" in said[0] and "smoke-x" in said[0]
    assert not (ROOT / "results" / "smoke-x").exists()
    # the same work folder built again with --record: the finished trainings are up to date (their steps
    # keep their hashes) and are recorded, none is trained again
    fake = _FakeBook()
    pipeline.run_book(
        "smoke", root=ROOT, book=tmp_path / "book", work=tmp_path / "w", record=tmp_path / "rec", build=False,
        quiet=True, log=lines.append, execute=fake,
    )  # fmt: skip
    names = [t.name for t in profiles.PROFILES["smoke"].runs()]
    assert [s for s in fake.executed if s.startswith("03_train-")] == []
    assert sorted(run_store.recorded_runs(tmp_path / "rec")) == sorted(names)
    assert not [line for line in lines if "made from other inputs" in line]


def test_the_record_pages_render_a_record_that_grew_and_only_then(tmp_path, monkeypatch):
    """The recorded chapter and the why page (and the summary, which needs them) carry a digest of what the
    records show: a build that writes its record executes them again with what it just recorded; a rebuild
    that records nothing new leaves them alone; a record that changed elsewhere (a pull) renders again."""
    import shutil
    from dataclasses import replace

    root = tmp_path / "repo"  # a repository whose results/ the builds write
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(ROOT / "book" / "pages", root / "book" / "pages")
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], recorded="smoke-x"))
    store = root / "results" / "smoke-x"

    def build() -> list[str]:
        fake = _FakeBook()
        pipeline.run_book(
            "smoke", root=root, book=tmp_path / "book", work=tmp_path / "w", record=store, build=False,
            quiet=True, log=lambda line: None, execute=fake,
        )  # fmt: skip
        return fake.executed

    first = build()
    assert first.count("recorded") == 2 and first.count("summary") == 2  # before the record, then with it
    assert first.index("recorded", first.index("summary") + 1) > first.index("summary")
    # the next build reads the runs from the record (the analysis runs again once) and records nothing new
    assert "recorded" not in build() and build() == []
    (store / "results").mkdir()
    (store / "results" / "verdicts.json").write_text('{"2": {"verdict": "grown elsewhere"}}')
    # pulled: every page that reads the record is rendered again, once
    assert build() == ["06_why", "07_regime", "recorded", "intro", "discussion", "summary"]


def test_the_records_digest_follows_what_the_pages_show(tmp_path):
    """record.shown_digest: the runs, stale runs, precision and saved verdicts of each record, not the
    timestamps of the build that wrote it; a folder without a record has its own stable digest."""
    folder = tmp_path / "results" / "cpu"
    empty = record.shown_digest([folder])
    assert empty == record.shown_digest([folder]) and len(empty) == 16
    folder.mkdir(parents=True)
    rec = {"schema": 2, "profile": "cpu", "runs": ["a", "b"], "stale": [], "precision": "bf16",
           "created": "2026-12-03T10:00:00Z", "provenance": {"commit": "1"}}  # fmt: skip
    (folder / "record.json").write_text(json.dumps(rec))
    digest = record.shown_digest([folder])
    assert digest != empty
    rewritten = {**rec, "created": "later", "provenance": {"commit": "2"}}
    (folder / "record.json").write_text(json.dumps(rewritten))
    assert record.shown_digest([folder]) == digest  # rewritten with the same runs
    (folder / "record.json").write_text(json.dumps({**rec, "runs": ["a", "b", "c"]}))
    grown = record.shown_digest([folder])
    assert grown != digest
    (folder / "results").mkdir()
    (folder / "results" / "verdicts.json").write_text("{}")
    assert record.shown_digest([folder]) != grown
    plan = load_plan(ROOT / "notebooks" / "pipeline.yml", "smoke", work="/w", root=ROOT)
    shown = record.shown_digest(plan.variables["records"])
    assert plan.step("recorded").parameters["records_digest"] == shown
