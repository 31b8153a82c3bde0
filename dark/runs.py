"""A run directory: the files one training and its evaluation leave, and how to read them.

One run is one ``(model, encoding, seed)`` training, in ``RUNS/<model>-<encoding>-s<seed>/``
(:func:`run_name`). Everything that reads or writes a run's files goes through the names here.

Files (all written atomically through :func:`dark.files.atomic_write`):

- ``config.json``: the resolved configuration, written first;
- ``metrics.jsonl``: one JSON line per finished epoch (validation scores of every decoder included);
- ``last.pt`` / ``best.pt``: resume state / weights of the best validation epoch; ``curves.png``;
- ``heatmaps_test.npy`` + ``heatmaps_test.json``: the cached test heatmaps and their key;
- ``evaluation.json``, ``evaluation.csv``: every decoder's test scores with intervals over frames;
- ``frame_sums.npz``: per test frame and decoder, the sums every metric is a ratio of
  (:func:`dark.metrics.frame_sums`): what the two-level (seeds x frames) intervals resample;
- ``predictions_test.npz``: every decoder's test coordinates (input px).
"""

from __future__ import annotations

CONFIG = "config.json"
METRICS = "metrics.jsonl"
LAST = "last.pt"
BEST = "best.pt"
CURVES = "curves.png"
HEATMAPS = "heatmaps_test.npy"
HEATMAPS_KEY = "heatmaps_test.json"
EVALUATION = "evaluation.json"
EVALUATION_CSV = "evaluation.csv"
FRAME_SUMS = "frame_sums.npz"
PREDICTIONS = "predictions_test.npz"


def run_name(model: str, encoding: str, seed: int) -> str:
    """The directory name of one training.

    >>> run_name("sh", "ceil", 1314)
    'sh-ceil-s1314'
    """
    return f"{model}-{encoding}-s{int(seed)}"
