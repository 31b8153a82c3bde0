"""The package as a whole: lint-clean, the console script dispatches, the skeleton constants agree."""

import subprocess
import sys
from pathlib import Path

import pytest

from dark import cli
from dark.design import skeleton

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "dark", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_cli_unknown_command_exits_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_console_script_runs(args):
    result = subprocess.run([sys.executable, "-m", "dark", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_skeleton_heatmap_joints_match_the_report():
    assert len(skeleton.JOINTS_33) == 33
    assert len(skeleton.HEATMAP_JOINTS) == 18 == len(set(skeleton.HEATMAP_JOINTS))
    assert skeleton.JOINTS_18[skeleton.HEAD_SEGMENT_18[0]] == "Neck"
    assert skeleton.JOINTS_18[skeleton.HEAD_SEGMENT_18[1]] == "HeadEnd"
    assert skeleton.JOINTS_18[:4] == ("Hips", "Spine1", "Neck", "HeadEnd")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_lock_pins_cpu_torch_and_satisfies_pyproject_ranges():
    import tomllib
    from packaging.requirements import Requirement

    pins = _lock()
    assert pins["torch"] == "2.13.0"  # the CPU build on the project machines; never a floating torch
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    for text in wanted:
        req = Requirement(text)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is in pyproject.toml but not pinned in requirements-lock.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"lock pins {name}=={pins[name]}, not {req}"
        )


def test_conda_environment_uses_the_same_lock():
    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert f"pytorch={_lock()['torch']}=cuda*" in conda
    assert pip == ["-r requirements-lock.txt"]
