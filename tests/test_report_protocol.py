"""The scoring protocols (:mod:`dark.protocols`): the standard one and the report's own code (issue 18)."""

from __future__ import annotations

from dark import paper
from dark.protocols import PROTOCOLS, Protocol


def test_both_protocols_fill_every_row_of_table_2():
    assert set(PROTOCOLS) == {"standard", "report"}
    for name, p in PROTOCOLS.items():
        assert isinstance(p, Protocol) and p.name == name
        assert set(p.decoders) == set(paper.PAPER_DECODERS)
        assert p.primary_metric in p.metrics and len(p.metrics) == 3
    assert PROTOCOLS["standard"].metrics == paper.TABLE_METRICS
    assert PROTOCOLS["report"].decoders["standard"] == "standard_report"
    assert PROTOCOLS["report"].decoders["dark"] == "dark_report"


def test_every_name_of_a_protocol_exists():
    from dark import codecs, metrics

    for p in PROTOCOLS.values():
        for m in p.metrics:
            assert metrics.metric(m).name == m and m in metrics.ALL_METRIC_NAMES
        assert set(p.decoders.values()) <= set(codecs.DECODERS)
        assert set(p.metrics) <= set(metrics.PER_EPOCH_METRICS)  # validation scores both protocols
