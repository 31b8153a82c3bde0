"""``dark evaluate``: the command line of :func:`dark.experiment.evaluate.evaluate`.

``dark evaluate --run RUN_DIR --data DIR`` evaluates one trained run with every decoder and prints each
decoder's PCKh@0.1, PCKh@0.5 and RMSE; bad input is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dark.experiment import runs
from dark.experiment.evaluate import evaluate
from dark.experiment.predict import checkpoint_file
from dark.experiment.runs import EVALUATION


def cli(argv: list[str]) -> int:
    """``dark evaluate --run RUN_DIR --data DIR [--device auto] [--batch-size 64] [--quiet]``."""
    p = argparse.ArgumentParser(
        prog="dark evaluate",
        description="Evaluate a trained run: predict the test heatmaps once, decode them with "
        "every decoder, score them.",
    )
    p.add_argument("--run", required=True, help=f"run directory (config.json, {checkpoint_file()})")
    p.add_argument("--data", required=True, help="dataset directory (rendered) or HUMAN4D root")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:i] (default auto)")
    p.add_argument("--batch-size", type=int, default=64, help="images per forward pass (default 64)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--force", action="store_true", help="predict again even if cached heatmaps match")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    run, data = Path(a.run), Path(a.data)
    for path, what in ((run / runs.CONFIG, "run config"), (run / checkpoint_file(), "checkpoint")):
        if not path.is_file():
            print(f"dark evaluate: {what} {path} not found", file=sys.stderr)
            return 2
    if not data.exists():
        print(f"dark evaluate: data {data} not found", file=sys.stderr)
        return 2
    if a.batch_size < 1 or a.resamples < 1:
        print("dark evaluate: --batch-size and --resamples must be >= 1", file=sys.stderr)
        return 2
    try:
        result = evaluate(run, data, device=a.device, batch_size=a.batch_size, n_resamples=a.resamples,
                          seed=a.seed, progress=not a.quiet, force=a.force)  # fmt: skip
    except (ValueError, FileNotFoundError) as e:
        print(f"dark evaluate: {e}", file=sys.stderr)
        return 2
    if not a.quiet:
        for d, r in result["decoders"].items():
            m = r["metrics"]
            v = {k: iv["value"] for k, iv in m.items()}
            print(
                f"{d:>13}  PCKh@0.1 {v['pckh@0.1']:6.2f}  PCKh@0.5 {v['pckh@0.5']:6.2f}  RMSE {v['rmse']:.3f}"
            )
    print(f"wrote {run / EVALUATION}")
    return 0
