"""``dark data``: the command line of :func:`dark.data.synth.render_dataset` and
:func:`dark.data.human4d.link_human4d`; bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys

from dark.data.human4d import link_human4d
from dark.data.synth import PROFILES, render_dataset
from dark.design.profiles import REPORT_SEED


def cli(argv: list[str]) -> int:
    """``dark data``: render the dataset of a profile (or check a HUMAN4D root)."""
    parser = argparse.ArgumentParser(
        prog="dark data",
        description="Render the HUMAN4D-like depth dataset of a profile (the report's split, all four "
        "views), or check a real HUMAN4D root and link a dataset directory to it.",
    )
    parser.add_argument(
        "--profile", choices=tuple(PROFILES), default="quick", help="dataset size (default: quick)"
    )
    parser.add_argument("--out", required=True, help="dataset directory (created; a rerun resumes)")
    parser.add_argument(
        "--seed", type=int, default=REPORT_SEED, help=f"placement and noise seed (default: {REPORT_SEED})"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset of another plan in --out")
    parser.add_argument(
        "--human4d", metavar="ROOT", help="instead of rendering, check a HUMAN4D root and link --out to it"
    )
    args = parser.parse_args(argv)
    try:
        if args.human4d:
            out = link_human4d(args.human4d, args.out)
        else:
            out = render_dataset(
                args.out,
                profile=args.profile,
                seed=args.seed,
                progress=not args.quiet,
                overwrite=args.overwrite,
            )
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"dark data: {err}", file=sys.stderr)
        return 2
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    print(f"{out}: " + ", ".join(f"{k} {v} views" for k, v in counts.items()))
    return 0
