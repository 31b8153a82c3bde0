"""The ``dark`` command: one sub-command per stage of the pipeline.

Each stage lives in its own module, which exposes ``cli(argv: list[str]) -> int`` with its own
argparse parser; this module only dispatches, importing the stage lazily so that
``dark --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

from dark import __version__

#: sub-command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("dark.data.data_cli", "render the HUMAN4D-like dataset (or check a HUMAN4D root)"),
    "train": ("dark.experiment.train_cli", "train a Stacked Hourglass or HRNet model"),
    "evaluate": ("dark.experiment.evaluate_cli", "decode a run's test heatmaps with every decoder"),
    "book": ("dark.book.pipeline", "execute the notebooks with papermill and build the book"),
    "record": (
        "dark.record.record_cli",
        "check a record's runs against their sha256 (--rehash: hash them once)",
    ),
}


def _usage() -> str:
    lines = ["usage: dark COMMAND [ARGS...]", "", "commands:"]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run `dark COMMAND --help` for the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``) to a sub-command; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(_usage())
        return 0
    if argv[0] == "--version":
        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"dark: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.cli(rest) or 0)
