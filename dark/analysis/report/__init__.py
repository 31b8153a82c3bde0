"""The report's tables next to ours, and a verdict on each claim computed from our runs and their seeds.

Inputs are run directories (one per ``(model, encoding, seed)`` training, :mod:`dark.experiment.runs`): their
``config.json``, ``evaluation.json`` and ``frame_sums.npz``. The flow, one module per step:

- :mod:`~dark.analysis.report.load`: :func:`load_runs` reads run directories into :class:`RunRecord`\\ s,
  :func:`cells` groups them by ``(model, encoding)``;
- :mod:`~dark.analysis.report.analysis`: :func:`analyse` computes every estimate once (cell means, differences
  within runs and between cells, with two-level seeds x test-frames intervals) into an :class:`Analysis`;
- :mod:`~dark.analysis.report.tables`: Tables 2 and 3 of the report next to ours (:func:`table2`,
  :func:`table3`), Table 2 under both scoring protocols (:func:`compare_protocols`), the primary endpoints
  (:func:`primary_display`), the bias probe, one run's decoders, and their display for the book;
- :mod:`~dark.analysis.report.why`: the report's effect sizes decomposed into contributions measured on
  our runs;
- :mod:`~dark.analysis.report.endpoints`: the primary endpoints fixed before any result (:data:`ENDPOINTS`),
  their estimates and verdict words (:func:`endpoint_verdict`);
- :mod:`~dark.analysis.report.claims`: the verdict on each claim from its primary endpoints (:func:`verdicts`,
  :func:`primary_table`), with the secondary evidence (its module docstring states the rule and why);
- :mod:`~dark.analysis.report.counterfactual`: the shift-only counterfactual (the unbiased runs' predictions
  shifted by another encoding's mean bias, re-scored under both protocols);
- :mod:`~dark.analysis.report.joints`: the bias per joint (what a cell's mean bias is made of, and a
  quantiser's shift joint by joint);
- :mod:`~dark.analysis.report.text`: sentences for the pages, the provenance paragraph and the table captions;
- :mod:`~dark.analysis.report.saving`: :func:`save` writes the tables and verdicts, :func:`load_saved`
  reads them, :func:`save_analysis` analyses a record's runs and saves the analysis into the record;
- :mod:`~dark.analysis.report.labels`: display names (models, encodings, decoders) and number formats.

The claim metrics are the report's Table 2 columns, :data:`dark.design.paper.TABLE_METRICS`.
"""

from dark.design.paper import TABLE_METRICS as CLAIM_METRICS  # the name plots.py uses for Table 2's metrics

from .analysis import Analysis, analyse, extra_decoders
from .claims import DECISION_RULE, evidence_display, primary_table, verdict_table, verdicts
from .endpoints import ENDPOINTS, Endpoint, endpoint_verdict
from .labels import decoder_label, display_name, encoding_label
from .load import RunRecord, cells, focus, load_evaluations, load_runs
from .saving import load_saved, regime_verdicts, save, save_analysis
from .tables import (
    bias_table,
    compare_protocols,
    display_table,
    primary_display,
    readings_display,
    run_table,
    styled,
    table2,
    table3,
    to_markdown,
)
from .text import (
    best_decoders,
    caption,
    claim1_along_training,
    provenance,
    report_text,
    value_text,
)

__all__ = [
    "CLAIM_METRICS",
    "DECISION_RULE",
    "ENDPOINTS",
    "Analysis",
    "Endpoint",
    "RunRecord",
    "analyse",
    "best_decoders",
    "bias_table",
    "caption",
    "cells",
    "claim1_along_training",
    "compare_protocols",
    "decoder_label",
    "display_name",
    "display_table",
    "encoding_label",
    "endpoint_verdict",
    "evidence_display",
    "extra_decoders",
    "focus",
    "load_evaluations",
    "load_runs",
    "load_saved",
    "primary_display",
    "primary_table",
    "provenance",
    "readings_display",
    "regime_verdicts",
    "report_text",
    "run_table",
    "save",
    "save_analysis",
    "styled",
    "table2",
    "table3",
    "to_markdown",
    "value_text",
    "verdict_table",
    "verdicts",
]
