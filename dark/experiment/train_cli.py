"""``dark train --data DIR --model sh|hrnet --encoding NAME --out RUN_DIR [--profile quick] ...``.

The command line of :func:`dark.experiment.train.train`, flag for argument: ``--profile`` (default
:data:`dark.experiment.runs.DEFAULT_PROFILE`, as the Python API's), ``--seed`` (default the report's,
:data:`dark.design.profiles.REPORT_SEED`) and ``--encoding`` reach the run's
:class:`dark.experiment.runs.RunConfig`, and from it the codec that makes the targets, unchanged. Bad input is
one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from dark.design.profiles import REPORT_SEED
from dark.experiment.runs import DEFAULT_PROFILE, LR
from dark.experiment.train import train

__all__ = ["cli"]


def cli(argv: list[str]) -> int:
    """``dark train``: parse ``argv``, train, print the run directory; exit code 2 on bad input."""
    parser = argparse.ArgumentParser(
        prog="dark train", description="Train a Stacked Hourglass or HRNet model."
    )
    parser.add_argument("--data", required=True, help="dataset directory (dark data) or HUMAN4D root")
    parser.add_argument("--model", required=True, help="sh | hrnet")
    parser.add_argument(
        "--encoding", required=True, help="a name of dark.codecs.ENCODINGS (unbiased, ceil, ...)"
    )
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument(
        "--profile", default=DEFAULT_PROFILE, help=f"smoke | quick | cpu | full (default: {DEFAULT_PROFILE})"
    )
    parser.add_argument("--precision", help="auto | fp32 | bf16 (default: the profile's)")
    parser.add_argument("--epochs", type=int, help="default: the profile's (30 in full)")
    parser.add_argument(
        "--batch-size", type=int, help="global batch size (default: the profile's, 32 in full)"
    )
    parser.add_argument(
        "--input-scale", type=int, help="downsample the 160x320 input by 1, 2 or 4 (default: the profile's)"
    )
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--seed", type=int, default=REPORT_SEED, help=f"default: the report's, {REPORT_SEED}")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--threads", type=int, help="CPU threads (default: torch's)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    args = parser.parse_args(argv)
    try:
        run = train(
            args.data, args.out, model=args.model, encoding=args.encoding, profile=args.profile,
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
            resume=args.resume, quiet=args.quiet, threads=args.threads, precision=args.precision,
            input_scale=args.input_scale,
        )  # fmt: skip
    except (ValueError, FileNotFoundError) as error:  # CorruptCheckpoint is a ValueError
        print(f"dark train: error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(run)
    return 0
