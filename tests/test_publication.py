"""The report as a publication: provenance records, the summary page, the deviations table, the
citation metadata, the publishing workflow, the README's commands, and the PDF of the smoke book.

The PDF test needs Debian's chromium and poppler-utils (``.ci/run`` installs both); it is skipped for
their absence only where the CI variable is unset.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dark import provenance
from dark.analysis import deviations

ROOT = Path(__file__).resolve().parents[1]


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


# ------------------------------------------------------------------------------------------- provenance


def test_record_names_this_checkout_and_the_data_digest(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "manifest.json").write_bytes(b'{"samples": 3}\n')
    started = time.time() - 2.0
    before = _git("rev-parse", "HEAD", cwd=ROOT)
    record = provenance.collect("smoke", str(data), started)
    elapsed = time.time() - started  # an upper bound on what collect() can have measured
    assert record["commit"] in {before, _git("rev-parse", "HEAD", cwd=ROOT)}  # others may commit meanwhile
    assert record["data_manifest_sha256"] == hashlib.sha256(b'{"samples": 3}\n').hexdigest()
    assert 2.0 <= record["wall_s"] <= round(elapsed, 1) + 0.1  # rounded to 0.1 s
    date = datetime.datetime.strptime(record["date"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    assert abs(date.timestamp() - time.time()) < 60
    assert record["versions"]["dark"] == "0.1.0"
    import numpy
    import torch

    assert record["versions"]["numpy"] == numpy.__version__
    assert record["versions"]["torch"] == torch.__version__
    assert record["profile"] == "smoke"
    assert provenance.manifest_digest(tmp_path / "nothing") == "unknown"


def test_dirty_flag_and_a_missing_git(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    (repo / "a.txt").write_text("one\n")
    _git("add", "a.txt", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=repo)
    commit = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "untracked.txt").write_text("build output\n")
    assert provenance.git_state(repo) == (commit, False)  # untracked files do not count
    (repo / "a.txt").write_text("two\n")
    assert provenance.git_state(repo) == (commit, True)
    assert provenance.git_state(tmp_path / "not-a-repo") == ("unknown", "unknown")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no git executable at all
    assert provenance.git_state(repo) == ("unknown", "unknown")


def test_missing_packages_and_the_cpu_line(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "PACKAGES", {"no-such-distribution-xyz": "x", "numpy": "numpy"})
    assert provenance.versions()["x"] == "not installed"
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000 @ 1.0GHz\nflags\t: fpu\n")
    cores = len(os.sched_getaffinity(0))
    assert provenance.cpu_description(info) == f"Test CPU 9000 @ 1.0GHz, {cores} cores"


def test_footer_cells_run_in_a_namespace_and_write_the_record(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the cells carry relative paths, resolved in the kernel's cwd
    first, last = provenance.footer_cells("smoke", None, "build/provenance/02_data.json")
    namespace: dict = {}
    exec(first, namespace)
    namespace["_dark_started"] -= 5.0  # the page "took" five seconds
    exec(last, namespace)
    elapsed = time.time() - namespace["_dark_started"]
    record = json.loads((tmp_path / "build" / "provenance" / "02_data.json").read_text())
    assert record["profile"] == "smoke" and 5.0 <= record["wall_s"] <= round(elapsed, 1) + 0.1
    shown = provenance.line(record)
    assert record["commit"][:12] in shown and f"{record['wall_s']:.1f} s" in shown
    assert shown.startswith('<p class="dark-provenance">') and str(tmp_path) not in shown


def test_summarize_says_which_pages_ran_at_which_commits(tmp_path):
    for page, commit, dirty in [
        ("intro", "a" * 40, False),
        ("02_data", "a" * 40, True),
        ("05_results", "b" * 40, False),
    ]:
        (tmp_path / f"{page}.json").write_text(json.dumps({"commit": commit, "dirty": dirty}))
    (tmp_path / "broken.json").write_text("{")
    s = provenance.summarize(tmp_path)
    assert s["commits"] == {"a" * 40: ["02_data", "intro"], "b" * 40: ["05_results"]}
    assert s["mixed"] is True and s["dirty"] == ["02_data"]
    (tmp_path / "05_results.json").unlink()
    assert provenance.summarize(tmp_path)["mixed"] is False
    assert provenance.summarize(tmp_path / "absent") == {
        "pages": {},
        "commits": {},
        "mixed": False,
        "dirty": [],
    }


# ------------------------------------------------------------------------------------------- summary page


def _fake_build(tmp_path: Path) -> dict:
    """verdicts.json as dark.analysis.report.save writes it, one run's evaluation.json, two provenance
    records."""
    results, run, prov = tmp_path / "results", tmp_path / "runs" / "sh-unbiased-s1314", tmp_path / "prov"
    for d in (results, run, prov):
        d.mkdir(parents=True)
    claim = {"by_metric": {"pckh@0.1": "reproduced", "pckh@0.5": "reproduced", "rmse": "reproduced"}}
    verdicts = {
        "1": {
            **claim,
            "claim": "DARK decodes best",
            "verdict": "reproduced",
            "counts": {"better": 7, "unclear": 2, "worse": 0},
        },
        "2": {
            **claim,
            "claim": "unbiased targets",
            "verdict": "not reproduced",
            "counts": {"better": 1, "unclear": 3, "worse": 5},
            "covers": "test frames only (one training per cell)",
            "primary": [
                {"claim": 2, "model": "sh", "protocol": "report", "comparison": "unbiased - ceil",
                 "metric": "pckh_axis@0.1", "estimate": 1.25, "low": -0.5, "high": 3.0, "n_seeds": [1, 1],
                 "paired": False, "report_effect": 5.63, "mde": 2.45, "verdict": "smaller than reported",
                 "training_variance": False},
            ],
        },
        "provenance": "Profile smoke.",
    }  # fmt: skip
    (results / "verdicts.json").write_text(json.dumps(verdicts))

    def m(value):
        return {"value": value, "low": value - 0.01, "high": value + 0.01}

    ev = {
        "run": {
            "model": "sh",
            "encoding": "unbiased",
            "seed": 1314,
            "profile": "smoke",
            "best_epoch": 1,
            "epochs": 1,
        },
        "data": {"samples": 48, "frames": 12},
        "decoders": {
            "dark": {"metrics": {"pckh@0.1": m(43.21), "rmse": m(3.217)}},
            "standard": {"metrics": {"pckh@0.1": m(31.09), "rmse": m(4.555)}},
            "dark_report": {"metrics": {"pckh@0.1": m(40.00), "rmse": m(3.500)}},
        },
    }
    (run / "evaluation.json").write_text(json.dumps(ev))
    (prov / "intro.json").write_text(json.dumps({"commit": "c" * 40, "dirty": False, "wall_s": 1.0}))
    (prov / "03_train-sh-unbiased-s1314.json").write_text(
        json.dumps({"commit": "d" * 40, "dirty": False, "wall_s": 90.0})
    )
    return {
        "profile": "smoke",
        "about": "Tiny.",
        "results": str(results),
        "provenance": str(prov),
        "runs": [str(run)],
    }


def _outputs(nb) -> str:
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", f"{o.get('ename')}: {o.get('evalue')}"
            data = o.get("data", {})
            texts.append(data.get("text/markdown", "") + data.get("text/html", "") + o.get("text", ""))
    return "\n".join(texts)


@pytest.mark.slow
def test_summary_page_quotes_the_build(tmp_path):
    import jupytext
    import papermill

    params = _fake_build(tmp_path)
    nb = papermill.execute_notebook(
        jupytext.read(ROOT / "book" / "pages" / "summary.md"),
        str(tmp_path / "summary.ipynb"),
        parameters=params,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT),
    )
    text = _outputs(nb)
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for section in (
        "Scope of reproducibility",
        "Methodology",
        "Results",
        "What was easy",
        "What was difficult",
        "Communication with original authors",
    ):
        assert any(f"## {section}" in h for h in headings), section
    assert "**smoke profile**" in text and "48 test samples" in text
    assert "**Claim 2.** Its 9 secondary comparisons" in text and "7 the claimed way" in text
    # percent and px, from evaluation.json (a folded table)
    assert "<td>43.21</td><td>31.09</td><td>3.22</td><td>4.55</td>" in re.sub(r"\s+", "", text)
    assert "RMSE -0.28 px, PCKh@0.1 +3.21 pts" in text  # dark - dark_report, from the same run
    assert "1.5 minutes" in text  # the training page's 90 s of wall time
    # the build's primary endpoint as a pipeline check, without a verdict; the recorded run before it
    assert "<td>SH_4S</td><td>report's code</td><td>w/o quant - ceil, DARK per-axis PCKh@0.1</td>" in text
    assert "<td>1.25 [-0.50, 3.00]</td>" in text and "A check of the pipeline, not evidence" in text
    assert text.index("**The recorded run.**") < text.index("**This build.**")
    assert "cpu profile" in text[: text.index("**This build.**")]
    assert "more than one commit" in text and "`cccccccccccc`: intro" in text


def test_method_states_the_primary_endpoints_and_protocols_of_the_code():
    """book/method.md is prose (not executed): its list of primary endpoints and the protocols' names
    must be those fixed in the code."""
    import re

    from dark.analysis.report import ENDPOINTS
    from dark.design.protocols import PROTOCOLS

    text = (ROOT / "book" / "method.md").read_text()
    block = text.split("<!-- endpoints")[1].split("<!-- /endpoints -->")[0]
    stated = set(re.findall(r"^- claim (\d): `([^`]+)`", block, re.M))
    assert stated == {(str(e.claim), e.comparison) for e in ENDPOINTS}
    assert text.index("## Primary endpoints") < text.index("executed/05_results")  # before any result
    for p in PROTOCOLS.values():
        for name in (*p.metrics, *p.decoders.values(), p.primary_metric):
            assert f"`{name}`" in text, (p.name, name)


def test_summary_is_first_after_the_title_and_the_toc_has_the_new_pages():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    chapters = toc["parts"][0]["chapters"]
    assert toc["root"] == "executed/intro" and chapters[0] == {"file": "executed/summary"}
    files = [c.get("file") for part in toc["parts"] for c in part["chapters"]]
    assert {"codecs", "executed/recorded"} <= set(files)
    training = next(c for c in chapters if c.get("file") == "training")
    assert training["sections"] == [{"glob": "executed/03_train-*"}]


# ------------------------------------------------------------------------------------------- deviations


def test_every_report_option_exists_where_the_table_says():
    from dark import codecs
    from dark.models import CONFIGS

    report = CONFIGS["sh"]["report"]
    assert (report["depth"], report["bottleneck"], report["upsample"], report["output"]) == (
        2,
        "full",
        "bilinear",
        "sigmoid",
    )
    from dark import metrics

    tables = {"decoder": codecs.DECODERS, "encoding": codecs.ENCODINGS, "metric": metrics.ALL_METRIC_NAMES}
    for choice in deviations.CHOICES:
        if choice.effect is None or choice.effect[0] not in tables:
            continue
        kind, ours, theirs = choice.effect
        names = tables[kind]
        assert ours in names and theirs in names, (choice.key, kind, ours, theirs)
        # the option names the decoder by its label (what a reader reads), other tables by name
        shown = codecs.DECODER_LABELS[theirs] if kind == "decoder" else f"`{theirs}`"
        assert shown in choice.option, (choice.key, choice.option)
    # issue 18's items each have a row; the HRNet row states the configuration's [1, 1, 1]
    # (docs/report-code.md, item 6)
    keys = {c.key for c in deviations.CHOICES}
    assert {"pckh_axis", "visibility", "standard_rule", "batch_size", "checkpoint", "max_epochs"} <= keys
    hrnet = next(c for c in deviations.CHOICES if c.key == "hrnet_layout")
    assert "[1, 1, 1]" in hrnet.report and "3, 4, 4 modules" not in hrnet.report


def test_deviation_effects_are_ours_minus_theirs_averaged_over_runs():
    def ev(model, encoding, dark_rmse, report_rmse, dark_p, report_p):
        d = {
            "dark": {"metrics": {"rmse": {"value": dark_rmse}, "pckh@0.1": {"value": dark_p}}},
            "dark_report": {"metrics": {"rmse": {"value": report_rmse}, "pckh@0.1": {"value": report_p}}},
        }
        return {"run": {"model": model, "encoding": encoding}, "decoders": d}

    runs = [ev("sh", "quantized", 2.0, 2.4, 50.0, 46.0), ev("sh", "ceil", 3.0, 3.2, 40.0, 38.0)]
    t = deviations.table(runs)
    blur = t.loc["Blur before DARK's Taylor step", "effect in this build"]
    # (2.0 - 2.4 + 3.0 - 3.2) / 2 = -0.30 px; (4 + 2) / 2 = 3.00 points (PCKh is stored in percent)
    assert blur.startswith("RMSE -0.30 px, PCKh@0.1 +3.00 pts") and "2 runs" in blur
    rounding = t.loc["Quantised targets: rounding", "effect in this build"]
    # quantized - ceil under DARK: 2.0 - 3.0 = -1.00 px; 50 - 40 = +10.00 points
    assert rounding.startswith("RMSE -1.00 px, PCKh@0.1 +10.00 pts") and "1 run)" in rounding
    assert "not measured" in t.loc["Standard decoder", "effect in this build"]
    assert len(t) == len(deviations.CHOICES) and not t.index.duplicated().any()
    assert "not measured (runs evaluated before" in t.loc["Evaluated checkpoint", "effect in this build"]
    assert "do not say how long" in t.loc["Training length", "effect in this build"]  # no run says its epochs


def test_deviation_effects_of_the_metric_checkpoint_and_training_length():
    def ev(eucl, axis, rules, epochs=8):
        d = {"dark": {"metrics": {"pckh@0.5": {"value": eucl}, "pckh_axis@0.5": {"value": axis}}}}
        return {"run": {"model": "sh", "encoding": "unbiased", "epochs": epochs, "epochs_by_rule": rules},
                "decoders": d}  # fmt: skip

    runs = [
        ev(80.0, 60.0, {"last": 8, "ours": 8, "report": 6}),
        ev(82.0, 61.0, {"last": 8, "ours": 5, "report": 8}),
    ]
    t = deviations.table(runs, measured={"batch_size": "+1.00 [0.10, 1.90]"})
    metric = t.loc["PCKh", "effect in this build"]
    assert metric.startswith("DARK pckh@0.5 81.00, pckh_axis@0.5 60.50: +20.50 pts") and "2 runs" in metric
    ckpt = t.loc["Evaluated checkpoint", "effect in this build"]
    assert "last 8, 8; ours 8, 5; the report's rule 6, 8 (1 of 2 runs" in ckpt
    assert "these runs trained 8 epochs" in t.loc["Training length", "effect in this build"]
    assert t.loc["Batch size (Stacked Hourglass w/ quant)", "effect in this build"] == "+1.00 [0.10, 1.90]"
    assert "not separated" in t.loc["Which joints are scored", "effect in this build"]


# ------------------------------------------------------------------------------------------- citation

CFF_REQUIRED = {"cff-version", "message", "title", "authors"}


def cff_problems(cff: dict) -> list[str]:
    """The Citation File Format 1.2.0 rules this file relies on, checked without cffconvert."""
    problems = [f"missing {k}" for k in sorted(CFF_REQUIRED - set(cff))]
    if cff.get("cff-version") != "1.2.0":
        problems.append("cff-version must be 1.2.0")
    for who in cff.get("authors") or [None]:
        if not isinstance(who, dict) or not (who.get("name") or who.get("family-names")):
            problems.append(f"author without a name: {who!r}")
    if "date-released" in cff and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"])):
        problems.append("date-released is not YYYY-MM-DD")
    for ref in cff.get("references", []):
        for key in ("type", "title", "authors"):
            if key not in ref:
                problems.append(f"reference {ref.get('title')!r} lacks {key}")
    return problems


def test_citation_cff_is_valid():
    text = (ROOT / "CITATION.cff").read_text()
    cff = yaml.safe_load(text)
    assert cff_problems(cff) == []
    assert cff_problems({k: v for k, v in cff.items() if k != "authors"}) == [
        "missing authors",
        "author without a name: None",
    ]
    bib = (ROOT / "book" / "references.bib").read_text()
    dois = {r.get("doi") for r in cff["references"]}
    assert "10.1109/CVPR42600.2020.00712" in dois and "10.1109/CVPR42600.2020.00712" in bib  # DARK
    assert "2110.10289" in json.dumps(cff["references"]) and "2110.10289" in bib  # the reproduced report
    try:
        from cffconvert import Citation
    except ImportError:  # the independent check above always runs; cffconvert when installed
        return
    Citation(text).validate()


def test_book_says_how_to_cite_with_the_three_references():
    rerun = (ROOT / "book" / "rerun.md").read_text()
    how = rerun[rerun.index("## How to cite") :]
    bib = (ROOT / "book" / "references.bib").read_text()
    for key in ("dark2026reproduced", "zhang2020dark", "chatzitofis2021reproduction"):
        assert f"{{cite}}`{key}`" in how and f"{{{key}," in bib


# ------------------------------------------------------------------------------------------- publishing


def test_pages_workflow_builds_with_the_readme_command_and_deploys_the_html():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = wf.get("on", wf.get(True))  # PyYAML reads the bare key `on` as True
    assert "push" in triggers and "workflow_dispatch" in triggers
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build = wf["jobs"]["build"]["steps"]
    runs = [s["run"].split("#")[0].strip() for s in build if "run" in s]
    readme = (ROOT / "README.md").read_text()
    assert runs == ["make book"] and "make book" in _bash_commands(readme)
    upload = next(s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "book/_build/html"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in deploy["steps"])
    assert "Source: GitHub Actions" in readme and ".github/workflows/book.yml" in readme


def test_download_button_serves_the_executed_notebook():
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())["sphinx"]["config"]
    assert config["html_theme_options"]["use_download_button"] is True
    assert config["html_copy_source"] is True and config["html_sourcelink_suffix"] == ""


# ------------------------------------------------------------------------------------------- the README


def _bash_commands(markdown: str) -> list[str]:
    """Every command of the fenced bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        for cmd in block.replace("\\\n", " ").splitlines():
            cmd = re.sub(r"\s+#.*$", "", cmd).strip()
            if cmd and not cmd.startswith("#"):
                commands.append(" ".join(cmd.split()))
    return commands


def _parameters(notebook: Path) -> set[str]:
    source = notebook.read_text()
    cell = re.search(r"```\{code-cell\}[^\n]*\n:tags: \[parameters[^\n]*\n(.*?)```", source, flags=re.S)
    return set(re.findall(r"^(\w+)\s*=", cell.group(1), flags=re.M))


def _targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), flags=re.M))


@pytest.mark.parametrize("page", ["README.md", "book/rerun.md"])
def test_printed_commands_match_the_code(page, tmp_path):
    """make targets exist; `dark` flags are in the sub-command's --help; papermill's -p names are
    parameters of the notebook jupytext converted; the conversion itself runs."""
    from dark.models import CONFIGS

    commands = _bash_commands((ROOT / page).read_text())
    assert commands
    converted: dict[str, Path] = {}
    for cmd in commands:
        for part in cmd.split("&&"):
            argv = shlex.split(part)
            tool = Path(argv[0]).name
            if tool == "make":
                assert set(a for a in argv[1:] if "=" not in a) <= _targets(), cmd
            elif tool == "dark":
                sub = argv[1]
                help_text = subprocess.run(
                    [sys.executable, "-m", "dark", sub, "--help"], capture_output=True, text=True, cwd=ROOT
                ).stdout
                for flag in re.findall(r"--[\w-]+", part):
                    assert flag in help_text, f"{cmd}: dark {sub} has no {flag}"
            elif tool == "jupytext":
                src, out = argv[argv.index("--to") + 2], argv[argv.index("-o") + 1]
                target = tmp_path / Path(out).name
                subprocess.run(
                    [Path(sys.executable).with_name("jupytext"), "--to", "ipynb", src, "-o", target],
                    cwd=ROOT,
                    check=True,
                    capture_output=True,
                )
                assert target.stat().st_size > 1000
                converted[out] = ROOT / src
            elif tool == "papermill":
                notebook = converted[argv[1]]
                names = [argv[i + 1] for i, a in enumerate(argv) if a == "-p"]
                assert set(names) <= _parameters(notebook), f"{cmd}: unknown parameters"
                values = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-p"}
                assert values.get("config", "quick") in CONFIGS["sh"], cmd
                assert values.get("config") != "full", f"{cmd}: examples use smoke or quick, not full"


# ------------------------------------------------------------------------------------------- the PDF

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"
#: issue 29's bound: the book prints as a paper of at most 40 A4 pages (its long tables are folded under
#: their figures on the page, and a folded table is not printed)
MAX_PAGES = 40
#: printed by headless Chromium, never by a browser's page
WEB_CHROME = ("Skip to main content", "Search this book", "Ctrl+K", "Toggle navigation", "Back to top")
WEB_WORDS = re.compile(r"\bSearch\b|\bCtrl\b")
#: TeX that MathJax did not typeset: a command, a \( \) \[ \] delimiter, or $ stuck to math
RAW_TEX = re.compile(
    r"\\(frac|sqrt|left|right|mu|sigma|nabla|log|exp|hat|mathrm|text|operatorname|quad|qquad|lVert|rVert|"
    r"cdot|le|ge|pi|Delta|alpha|beta)\b|\\[()\[\]]|\$\$|\$[^\s$]|[^\s$]\$"
)


def _poppler(tool: str, *args) -> str:
    exe = Path(PDFTOTEXT).with_name(tool)
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def smoke_pdf(smoke_book) -> Path:
    """``make pdf-build`` of the smoke book, once for this module's PDF tests."""
    missing = [p for p in (CHROMIUM, PDFTOTEXT) if not Path(p).exists()]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"{missing} not installed (apt-get install chromium poppler-utils); CI must have them")
    bin_dir = Path(sys.executable).parent
    (smoke_book.book / "_build" / "head-before-pdf").write_text(_git("rev-parse", "HEAD", cwd=ROOT))
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "pdf-build",
            f"BOOK={smoke_book.book}",
            f"BIN={bin_dir}",
            f"CHROMIUM={CHROMIUM}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pdf = smoke_book.book / "_build" / "pdf" / "dark.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    return pdf


@pytest.mark.slow
@pytest.mark.browser
def test_pdf_of_the_smoke_book_has_the_verdicts_and_table_2(smoke_pdf):
    text = _poppler("pdftotext", "-layout", smoke_pdf, "-")
    assert "Table 2" in text
    # the book states the record's verdicts (the smoke build's own are a pipeline check)
    verdicts = json.loads((ROOT / "results" / "cpu" / "results" / "verdicts.json").read_text())
    flat = " ".join(text.split())
    for claim in ("1", "2"):
        assert verdicts[claim]["verdict"] in flat, f"claim {claim}'s verdict is not in the PDF"
    assert "Reproducibility summary" in flat and "verdict" in flat


def test_title_page_is_computed_from_the_checkout_and_the_records(tmp_path):
    from dark.book import pdf

    book = tmp_path / "book"
    (book / "executed").mkdir(parents=True)
    (book / "_config.yml").write_text('title: "A title"\nauthor: "someone"\n')
    (book / "executed" / "PROFILE").write_text("smoke\n")
    page = pdf.title_page(book, today=datetime.date(2026, 1, 2))
    commit, _ = provenance.git_state(ROOT)
    record = json.loads((ROOT / "results" / "cpu" / "record.json").read_text())
    assert "A title" in page and "someone" in page and commit in page and "2026-01-02" in page
    assert f"<code>results/cpu</code>: {len(record['runs'])} trainings (cpu profile)" in page
    assert "Chatzitofis et al., ML Reproducibility Challenge 2020" in page
    assert "Zhang et al., CVPR 2020" in page
    assert "executed with the <b>smoke</b> profile" in page
    # a record superseded by another is not the book's
    results = tmp_path / "repo" / "results"
    for name, extra in (("new", {}), ("old", {"superseded_by": "new"})):
        (results / name).mkdir(parents=True)
        prov = {"commit": "f" * 40, "date": "2026-01-01T00"}
        rec = {"profile": "cpu", "runs": ["a", "b"], "provenance": prov}
        (results / name / "record.json").write_text(json.dumps({**rec, **extra}))
    assert pdf.records(tmp_path / "repo") == [
        {"folder": "results/new", "profile": "cpu", "trainings": 2, "commit": "f" * 40, "date": "2026-01-01"}
    ]


def _figures(html_page: Path) -> int:
    """The figures of a built page: the ``<img>`` of its article (cell outputs and figures, ``_images/``, and
    captioned figures inline as ``data:image/png``)."""
    page = html_page.read_text()
    article = page[page.index("<article") : page.index("</article>")]
    return len(re.findall(r"<img\b[^>]*\bsrc=\"(?:[^\"]*_images/|data:image/)", article))


def _code_lines(executed: Path) -> set[str]:
    """Lines (of 25 characters or more) of the code cells of the executed notebooks (the result pages hide
    their code; the print stylesheet drops any shown)."""
    import nbformat

    lines = set()
    for path in executed.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            tags = cell.get("metadata", {}).get("tags", [])
            if cell.cell_type == "code" and "remove-cell" not in tags:  # shown or hidden: none is printed
                lines |= {" ".join(ln.split()) for ln in cell.source.splitlines() if len(ln.strip()) >= 25}
    return lines


@pytest.mark.slow
@pytest.mark.browser
def test_pdf_reads_like_a_paper(smoke_book, smoke_pdf):
    """Every figure of the HTML book is an image of the PDF, the equations are typeset, no web chrome or
    code, pages numbered and within the width, and a title page with the commit and the record."""
    from dark.book.pipeline import toc_documents

    # figures: as many images (their soft masks aside) as the pages the PDF holds have figures
    rows = _poppler("pdfimages", "-list", smoke_pdf).splitlines()[2:]
    images = [r.split() for r in rows if r.split()[2] == "image"]
    figures = sum(_figures(smoke_book.html / f"{doc}.html") for doc in toc_documents(smoke_book.book))
    assert figures >= 20 and len(images) == figures, (len(images), figures)
    assert all(int(r[3]) > 50 and int(r[4]) > 50 for r in images)  # no rasterised shadows or rules

    text = _poppler("pdftotext", "-layout", smoke_pdf, "-")
    pages = text.split("\f")[:-1]  # pdftotext ends every page with a form feed
    info = _poppler("pdfinfo", smoke_pdf)
    assert len(pages) == int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 5 <= len(pages) <= MAX_PAGES, len(pages)
    # page numbers: every page's last line is its number
    for number, page in enumerate(pages, 1):
        assert page.split()[-1] == str(number), (number, page[-200:])
    # no raw TeX, no web chrome, no code cells
    flat = " ".join(text.split())
    tex = [m.group(0) for m in RAW_TEX.finditer(flat)]
    assert not tex, f"untypeset TeX: {tex[:5]}"
    for chrome in WEB_CHROME:
        assert chrome not in flat, chrome
    assert not WEB_WORDS.search(flat), WEB_WORDS.search(flat)
    code = _code_lines(smoke_book.book / "executed")
    assert len(code) >= 20 and not [line for line in code if line in flat], "code cells are printed"

    # nothing runs off the page: every word within the right margin (13 mm)
    boxes = _poppler("pdftotext", "-bbox", smoke_pdf, "-")
    for number, page in enumerate(boxes.split("<page ")[1:], 1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        right = max((float(x) for x in re.findall(r'xMax="([\d.]+)"', page)), default=0.0)
        assert right <= width - 13 / 25.4 * 72 + 2, f"page {number}: text at {right:.0f} of {width:.0f} pt"

    # the title page: title, the reproduced report and DARK, the date, the commit, the record
    first = " ".join(pages[0].split())
    title = yaml.safe_load((smoke_book.book / "_config.yml").read_text())["title"]
    assert first.startswith(title)
    for words in ("Chatzitofis et al.", "ML Reproducibility Challenge 2020", "Zhang et al., CVPR 2020"):
        assert words in first, words
    commits = {
        _git("rev-parse", "HEAD", cwd=ROOT),
        (smoke_book.book / "_build" / "head-before-pdf").read_text(),
    }
    assert any(c in first for c in commits), first
    assert re.search(r"Date \d{4}-\d{2}-\d{2}", first)
    record = json.loads((ROOT / "results" / "cpu" / "record.json").read_text())
    assert f"results/cpu: {len(record['runs'])} trainings" in first, first
    assert "smoke profile" in first and "Reproducibility summary" not in first  # the book starts on page 2


# ------------------------------------------------------------------------------------------- the smoke book


@pytest.mark.slow
def test_every_executed_page_ends_with_its_provenance(smoke_book):
    for step in smoke_book.plan.steps:
        page = (smoke_book.html / "executed" / f"{step.id}.html").read_text()
        assert page.count('class="dark-provenance"') == 1, f"{step.id} has no provenance line"
        tail = page[page.index('class="dark-provenance"') :]
        assert "Executed " in tail and "profile smoke" in tail


@pytest.mark.slow
def test_summary_page_of_the_smoke_book(smoke_book):
    page = (smoke_book.html / "executed" / "summary.html").read_text()
    verdicts = json.loads((ROOT / "results" / "cpu" / "results" / "verdicts.json").read_text())
    assert "smoke profile" in page and "Scope of reproducibility" in page
    for claim in ("1", "2"):  # the record's every primary endpoint, by its verdict
        for row in verdicts[claim]["primary"]:
            assert row["verdict"] in html.unescape(page), (claim, row["verdict"])
    assert "A check of the pipeline, not evidence" in page  # the smoke build's own decide nothing
    assert "05_results.html" in page and "../method.html" in page  # it links the chapters


@pytest.mark.slow
def test_download_is_the_executed_notebook(smoke_book):
    import nbformat

    step = next(s for s in smoke_book.plan.steps if s.id == "05_results")
    served = smoke_book.html / "_sources" / "executed" / f"{step.id}.ipynb"
    assert served.read_bytes() == (smoke_book.book / "executed" / f"{step.id}.ipynb").read_bytes()
    nb = nbformat.read(served, as_version=4)
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code")  # executed, not the source
    page = (smoke_book.html / "executed" / f"{step.id}.html").read_text()
    assert f"_sources/executed/{step.id}.ipynb" in page
