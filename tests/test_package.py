"""The package as a whole: lint-clean, the console script dispatches, the skeleton constants agree."""

import subprocess
import sys
from pathlib import Path

import pytest

from dark import cli, skeleton

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
