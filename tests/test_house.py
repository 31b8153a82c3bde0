"""The package's shape: rooms in one order with no arrow up, no import circle, short functions, one
profile table.

The import graph is read from the source with ``ast`` (module-level and function-level imports alike,
since a lazy import is still a dependency), so a circle cannot come back unnoticed.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dark import models
from dark.design import profiles

PACKAGE = Path(__file__).resolve().parents[1] / "dark"
#: the longest a function may be without saying why in its docstring ("Long because ...")
MAX_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The ``dark`` modules that module ``name`` imports (``from dark import x`` counts ``dark.x``)."""
    package = (
        name
        if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists()
        else name.rpartition(".")[0]
    )
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


def graph() -> dict[str, set[str]]:
    trees = _modules()
    known = set(trees)
    # a package's __init__ re-exporting its own submodules is not an arrow between ideas
    return {
        n: {t for t in _imports(n, tree, known) if not t.startswith(n + ".")} for n, tree in trees.items()
    }


def _cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (found := visit(n)):
            return found
    return None


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_lazy_and_relative_imports():
    g = graph()
    assert "dark.codecs" in g["dark.experiment.evaluate"]  # module-level import
    assert "dark.files" in g["dark.book.pipeline"]


def test_no_import_circle_in_the_package():
    assert _cycle(graph()) is None, f"import circle: {' -> '.join(_cycle(graph()))}"


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


#: a numbered line of the package docstring's list of rooms: ``3. :mod:`dark.files`, :mod:`dark.x`: ...``
_ROOM_LINE = re.compile(r"^\d+\.\s+((?::mod:`[\w.]+`(?:,\s*)?)+):", re.MULTILINE)


def rooms() -> list[str]:
    """The rooms of the package from the bottom up, as its docstring (``dark/__init__.py``) lists them."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text())) or ""
    return [name for line in _ROOM_LINE.findall(doc) for name in re.findall(r":mod:`([\w.]+)`", line)]


def room_of(module: str, order: list[str]) -> int | None:
    """The floor (index in ``order``) of the room holding ``module``; None for ``dark`` itself, which
    every module may import (it imports nothing)."""
    found = [i for i, room in enumerate(order) if _inside(module, room)]
    return max(found, key=lambda i: len(order[i])) if found else None


def upward(g: dict[str, set[str]], order: list[str]) -> list[tuple[str, str]]:
    """Every import in ``g`` of a module whose room is above the importer's own."""
    return sorted(
        (a, b)
        for a, targets in g.items()
        for b in targets
        if (low := room_of(a, order)) is not None and (high := room_of(b, order)) is not None and high > low
    )


def test_the_upward_finder_finds_a_planted_arrow():
    order = ["dark.codecs", "dark.data", "dark.experiment"]
    g = {"dark.data.x": {"dark.codecs", "dark.experiment.y", "dark"}, "dark.experiment.y": {"dark.data.x"}}
    assert upward(g, order) == [("dark.data.x", "dark.experiment.y")]


def test_the_docstring_lists_every_room_once_and_every_module_has_one():
    order = rooms()
    assert order[:2] == ["dark.codecs", "dark.metrics"] and order[-1] == "dark.__main__", order
    assert len(order) == len(set(order)) >= 12
    homeless = [m for m in graph() if m != "dark" and room_of(m, order) is None]
    assert not homeless, f"modules in no room of the docstring of dark/__init__.py: {homeless}"


def test_no_module_imports_a_room_above_its_own():
    """The rooms' order is the package docstring's; a lazy import is an arrow too (the graph sees it)."""
    bad = upward(graph(), rooms())
    assert not bad, f"imports of a room above the importer's own (dark/__init__.py lists the rooms): {bad}"


#: what training must not load: the analysis and the book above it, the evaluation beside it, and the
#: libraries of tables and figures (a run draws its curves with matplotlib only when it writes them)
NOT_LOADED_BY_TRAINING = ("dark.analysis", "dark.book", "dark.record", "dark.experiment.evaluate", "pandas",
                          "matplotlib")  # fmt: skip


def test_importing_training_loads_no_analysis_book_pandas_or_matplotlib():
    code = "import sys, dark.experiment.train; print(' '.join(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    loaded = out.split()
    assert "dark.experiment.train" in loaded
    found = [m for m in loaded if any(_inside(m, x) for x in NOT_LOADED_BY_TRAINING)]
    assert not found, f"importing dark.experiment.train loads {found}"


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function's code: from its first statement after the docstring to its end."""
    body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
    return node.end_lineno - body[0].lineno + 1


def test_no_long_function_without_a_stated_reason():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _body_lines(node)
                doc = ast.get_docstring(node) or ""
                if n > MAX_LINES and "Long because" not in doc:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, (
        "functions with over 60 lines of code without 'Long because' in the docstring:\n" + "\n".join(long)
    )


def test_every_profile_names_known_model_configurations_and_starts_with_the_reports_seed():
    for name, p in profiles.PROFILES.items():
        assert p.name == name
        assert p.seeds[0] == profiles.REPORT_SEED == 1314
        first: dict[tuple, tuple[int, ...]] = {}  # seeds of each (model, encoding, options), cell by cell
        for cell in p.cells:
            key = (cell.model, cell.encoding, cell.batch_size, cell.input_scale, cell.precision)
            # the report's seed first, unless the cell adds seeds to an earlier one of the same kind
            assert cell.seeds[0] == profiles.REPORT_SEED or key in first, cell
            assert len(set(cell.seeds)) == len(cell.seeds) and not set(cell.seeds) & set(first.get(key, ()))
            first[key] = first.get(key, ()) + cell.seeds
            assert p.model_config in models.CONFIGS[cell.model]
        assert len(p.runs()) == sum(len(c.seeds) for c in p.cells) == len({t.name for t in p.runs()})
    assert len(profiles.PROFILES["full"].seeds) == 3
    assert len(profiles.PROFILES["cpu"].seeds) >= 3


def test_every_profile_encoding_is_in_the_codecs_table():
    from dark.codecs import ENCODINGS

    for p in profiles.PROFILES.values():
        for cell in p.cells:
            assert cell.encoding in ENCODINGS


def test_the_cpu_profile_grows_the_claim_2_record_in_the_issues_order():
    """Issue 21: (a) SH unbiased vs ceil with 8 shared seeds, (b) HRNet unbiased vs ceil with 3, (c) the
    two readings of "w/ quant" with 3 each, (d) random heatmap-grid rounding; the quick recipe, 8 epochs.
    Then issue 28, after them: (1) the SH placebo, (2) SH ceil at batch 24, (3) the SH pair at input scale
    4, (4) in fp32, (5) the HRNet pair on seeds 4-7, (6) the SH pair at input scale 1."""
    cpu = profiles.PROFILES["cpu"]
    eight, three, four = (1314, 2, 3, 4, 5, 6, 7, 8), (1314, 2, 3), (1314, 2, 3, 4)
    cells = [(c.model, c.encoding, c.seeds, c.batch_size, c.input_scale, c.precision) for c in cpu.cells]
    assert cells == [
        ("sh", "unbiased", eight, None, None, None),
        ("sh", "ceil", eight, None, None, None),
        ("hrnet", "unbiased", three, None, None, None),
        ("hrnet", "ceil", three, None, None, None),
        ("sh", "quantized", three, None, None, None),
        ("sh", "quantized-heatmap", three, None, None, None),
        ("sh", "random-heatmap", three, None, None, None),
        ("sh", "placebo", four, None, None, None),
        ("sh", "ceil", eight, 24, None, None),
        ("sh", "unbiased", eight, None, 4, None),
        ("sh", "ceil", eight, None, 4, None),
        ("sh", "unbiased", four, None, None, "fp32"),
        ("sh", "ceil", four, None, None, "fp32"),
        ("hrnet", "unbiased", (4, 5, 6, 7), None, None, None),
        ("hrnet", "ceil", (4, 5, 6, 7), None, None, None),
        ("sh", "unbiased", four, None, 1, None),
        ("sh", "ceil", four, None, 1, None),
    ]
    assert cpu.recipe == profiles.Recipe(epochs=8, batch_size=16, input_scale=2, schedule="cosine")
    assert cpu.model_config == "quick"
    names = [t.name for t in cpu.runs()]
    assert len(names) == 31 + 4 + 8 + 16 + 8 + 8 + 8
    # issue 28's cells: the single cells seed by seed, each pair pair by pair, in the issue's order
    assert names[31:37] == [f"sh-placebo-s{s}" for s in four] + ["sh-ceil-b24-s1314", "sh-ceil-b24-s2"]
    assert names[43:47] == ["sh-unbiased-x4-s1314", "sh-ceil-x4-s1314", "sh-unbiased-x4-s2", "sh-ceil-x4-s2"]
    assert names[59:61] == ["sh-unbiased-fp32-s1314", "sh-ceil-fp32-s1314"]
    assert names[67:69] == ["hrnet-unbiased-s4", "hrnet-ceil-s4"]
    assert names[75:] == [f"sh-{e}-x1-s{s}" for s in four for e in ("unbiased", "ceil")]
    names = names[:31]
    # paired cells train pair by pair: a build stopped part-way leaves complete pairs
    assert names[:4] == ["sh-unbiased-s1314", "sh-ceil-s1314", "sh-unbiased-s2", "sh-ceil-s2"]
    # (b), the HRNet pair, is complete before (c) and (d) start (the order the record grows in)
    assert names[16:22] == [f"hrnet-{e}-s{s}" for s in (1314, 2, 3) for e in ("unbiased", "ceil")]
    assert names[22:25] == [f"sh-{e}-s1314" for e in ("quantized", "quantized-heatmap", "random-heatmap")]
    assert names[-1] == "sh-random-heatmap-s3"
    # the quick, smoke and full profiles keep their trainings
    for name, seeds in (("smoke", (1314,)), ("quick", (1314,)), ("full", three)):
        p = profiles.PROFILES[name]
        cells = [("sh", "quantized"), ("sh", "unbiased"), ("hrnet", "quantized"), ("hrnet", "unbiased")]
        assert sorted(p.runs()) == sorted((m, e, s, None, None, None) for m, e in cells for s in seeds)
        assert [t.model for t in p.runs()] == ["sh"] * 2 * len(seeds) + ["hrnet"] * 2 * len(seeds)


def test_a_cells_batch_size_is_an_option_of_its_runs_name_and_digest():
    from dark.experiment.run_digest import run_digest
    from dark.experiment.runs import RunConfig, run_name

    cell = profiles.Cell("sh", "quantized", (1314, 2), batch_size=24)
    assert [t.name for t in cell.runs()] == ["sh-quantized-b24-s1314", "sh-quantized-b24-s2"]
    assert run_name("sh", "quantized", 2, 24) == "sh-quantized-b24-s2"
    a = RunConfig.resolve("sh", "quantized", "cpu", seed=2, batch_size=24, precision="fp32")
    b = RunConfig.resolve("sh", "quantized", "cpu", seed=2, precision="fp32")
    assert a.batch_size == 24 and b.batch_size == 16
    assert run_digest(a, "data") != run_digest(b, "data")


def test_a_cells_input_scale_and_precision_are_options_of_its_runs_name_and_digest():
    from dark.experiment.run_digest import digest_inputs, run_digest
    from dark.experiment.runs import RunConfig, run_name
    from dark.record.run_store import training_config

    scaled = profiles.Cell("sh", "unbiased", (1314, 2), input_scale=4)
    assert [t.name for t in scaled.runs()] == ["sh-unbiased-x4-s1314", "sh-unbiased-x4-s2"]
    fp32 = profiles.Cell("sh", "ceil", (2,), precision="fp32").runs()[0]
    assert fp32.name == run_name("sh", "ceil", 2, None, None, "fp32") == "sh-ceil-fp32-s2"
    assert run_name("sh", "ceil", 2, 24, 1, "bf16") == "sh-ceil-b24-x1-bf16-s2"
    # the options reach the run's settings, and through them its digest
    base = RunConfig.resolve("sh", "unbiased", "cpu", seed=2, precision="bf16")
    for t, changed in ((scaled.runs()[1], {"input_size", "heatmap_size", "heatmap_stride"}),
                       (fp32._replace(encoding="unbiased"), {"precision"})):  # fmt: skip
        c = training_config("cpu", t, "bf16")
        got = digest_inputs(c, "d")["settings"]
        assert {k for k, v in got.items() if v != digest_inputs(base, "d")["settings"][k]} == changed
        assert run_digest(c, "d") != run_digest(base, "d")
    sizes = {s: RunConfig.resolve("sh", "ceil", "cpu", input_scale=s) for s in (1, 2, 4)}
    assert [(c.input_size, c.heatmap_size, c.heatmap_stride) for c in sizes.values()] == [
        ((160, 320), (40, 80), 4), ((80, 160), (20, 40), 8), ((40, 80), (10, 20), 16)
    ]  # fmt: skip
    assert sizes[2] == RunConfig.resolve("sh", "ceil", "cpu")  # the recipe's: the recorded runs' settings
    with pytest.raises(ValueError, match="input_scale"):
        profiles.Cell("sh", "ceil", (1314,), input_scale=3)
    with pytest.raises(ValueError, match="precision"):
        profiles.Cell("sh", "ceil", (1314,), precision="auto")


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(ValueError, match="quick"):
        profiles.get("nope")


#: the longest a module of the package may be (split by idea long before this)
MAX_MODULE_LINES = 400
#: imports of ``dark`` inside functions allowed package-wide (each says why it is lazy)
MAX_LAZY_IMPORTS = 12


def test_no_module_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by idea): {long}"


def _is_dark_import(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "dark" for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] == "dark"
    return False


def _lazy_lines(tree: ast.Module) -> set[int]:
    """Lines of the imports of ``dark`` (absolute or relative) inside a function of ``tree``."""
    return {
        node.lineno
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for node in ast.walk(fn)
        if _is_dark_import(node)
    }


def _lazy_imports() -> list[str]:
    """``path:line`` of every import of ``dark`` inside a function of the package."""
    return [
        f"{p.relative_to(PACKAGE.parent)}:{line}"
        for p in sorted(PACKAGE.rglob("*.py"))
        for line in sorted(_lazy_lines(ast.parse(p.read_text())))
    ]


def test_the_lazy_import_finder_sees_relative_and_absolute_imports():
    src = "import dark\ndef f():\n    from . import a\n    import dark.b\n    import os\n    from os import x"
    assert _lazy_lines(ast.parse(src)) == {3, 4}


def test_few_imports_of_dark_inside_functions():
    lazy = _lazy_imports()
    assert len(lazy) <= MAX_LAZY_IMPORTS, f"{len(lazy)} imports of dark inside functions: {lazy}"


def test_the_reports_seed_is_typed_once():
    """1314 (the report's seed) appears in code only as ``dark.design.profiles.REPORT_SEED``."""
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), root / "notebooks" / "pipeline.yml", *(root / "benchmarks").glob("*.py")]
    typed = [
        f"{p.relative_to(root)}:{i}"
        for p in files
        if p != PACKAGE / "design" / "profiles.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if "1314" in line
    ]
    assert not typed, f"the report's seed typed outside dark/design/profiles.py: {typed}"


def test_the_results_chapter_is_assembled_once():
    """The results page and the recorded chapter show the same chapter through one assembler
    (:func:`dark.analysis.chapter.sections`), and neither draws one of its figures itself."""
    root = PACKAGE.parent
    pages = [root / "notebooks" / "05_results.md", root / "book" / "pages" / "recorded.md"]
    chapter_calls = ("seed_strip", "bias_variance", "joint_bias(", "decoders_along_training", "table2_dots")
    for page in pages:
        text = page.read_text()
        assert "chapter.sections(" in text, page.name
        assert not [c for c in chapter_calls if c in text], f"{page.name} draws the chapter's figures itself"
