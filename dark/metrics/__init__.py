"""Keypoint metrics of the report (RMSE, mean error, PCKh, signed bias) and their confidence intervals.

One table drives every computation (:mod:`dark.metrics.table`): each :class:`Metric` is
``finish(numerator / denominator)`` of two per-element :class:`Sum` s over :class:`Frames`, so its
direct value, per-joint values, per-epoch validation score and per-frame sums all come from its entry.

- :mod:`~dark.metrics.frames`: the checked inputs ``pred``, ``gt`` ``(N, K, 2)`` input px, ``visible``
  ``(N, K)`` bool, ``head_size`` ``(N,)`` input px, plus any extra named input a metric needs;
- :mod:`~dark.metrics.axis`: the report's per-axis PCKh (:func:`pckh_per_axis`) and field-of-view masks
  (:func:`fov_mask`), the elements of the table's ``pckh_axis@<alpha>``;
- :mod:`~dark.metrics.table`: the metric table (:data:`ALL_METRICS`, :func:`metric`);
- :mod:`~dark.metrics.scores`: values of one prediction (:func:`rmse`, :func:`pckh`, :func:`per_joint`,
  :func:`decoder_scores`, ...);
- :mod:`~dark.metrics.sums`: the per-frame sums every metric is a ratio of (:func:`frame_sums`,
  :func:`from_sums`);
- :mod:`~dark.metrics.bootstrap`: frame-bootstrap intervals of one set of predictions (:func:`summarize`);
- :mod:`~dark.metrics.combination`: a linear combination of metrics within each run, over the runs
  (:func:`within_run_combination`), or over one or two cells of runs (:func:`cells_combination`);
- :mod:`~dark.metrics.intervals`: two-level (seeds x test clusters) intervals of trained cells, paired
  by seed where cells share seeds, and the design's minimum detectable effect (:func:`cell_estimates`,
  :func:`paired_difference_estimates`, :func:`mde`, :data:`INTERVALS`).

The second room of the house (the order is :mod:`dark`'s docstring): above the codecs, it imports
nothing else of ``dark``.
"""

from dark.metrics.axis import REPORT_HEAD, REPORT_INPUT_SIZE, fov_mask, pckh_per_axis
from dark.metrics.bootstrap import Interval, summarize
from dark.metrics.combination import cells_combination, within_run_combination
from dark.metrics.frames import Frames, joint_errors
from dark.metrics.intervals import (
    INTERVALS,
    Estimate,
    cell_difference_estimates,
    cell_estimates,
    mde,
    paired_difference_estimates,
    within_run_difference_estimates,
)
from dark.metrics.multiplicity import holm, holm_levels, interval_at, p_value
from dark.metrics.scores import (
    bias,
    decoder_scores,
    mean_error,
    median_bias,
    pckh,
    pckh_curve,
    per_joint,
    rmse,
    score,
    scores,
)
from dark.metrics.sums import frame_sum_columns, frame_sums, from_sums
from dark.metrics.table import (
    ALL_METRIC_NAMES,
    ALL_METRICS,
    BIAS_METRICS,
    FAMILIES,
    METRICS,
    PER_EPOCH_METRICS,
    Metric,
    Sum,
    higher_is_better,
    metric,
)

__all__ = [
    "ALL_METRICS",
    "ALL_METRIC_NAMES",
    "BIAS_METRICS",
    "FAMILIES",
    "INTERVALS",
    "METRICS",
    "PER_EPOCH_METRICS",
    "REPORT_HEAD",
    "REPORT_INPUT_SIZE",
    "Estimate",
    "Frames",
    "Interval",
    "Metric",
    "Sum",
    "bias",
    "cell_difference_estimates",
    "cell_estimates",
    "cells_combination",
    "decoder_scores",
    "fov_mask",
    "frame_sum_columns",
    "frame_sums",
    "from_sums",
    "higher_is_better",
    "holm",
    "holm_levels",
    "interval_at",
    "joint_errors",
    "mde",
    "mean_error",
    "median_bias",
    "metric",
    "p_value",
    "paired_difference_estimates",
    "pckh",
    "pckh_curve",
    "pckh_per_axis",
    "per_joint",
    "rmse",
    "score",
    "scores",
    "summarize",
    "within_run_combination",
    "within_run_difference_estimates",
]
