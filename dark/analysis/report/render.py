"""The one renderer of verdicts: every sentence and table of the book that states a verdict is written here,
from one saved ``verdicts.json`` (:func:`dark.analysis.report.save`, read back by
:func:`dark.analysis.report.load_saved`).

Every verdict is written inside ``<span class="dark-verdict" data-verdict="KEY">`` (:func:`key` names an
endpoint ``claim/model/protocol/comparison``, a claim ``claim/N``, a claim for one model
``claim/N/MODEL``), so a test can read every page of the built book and check each stated verdict against
``verdicts.json``. Outputs are HTML strings for ``IPython.display.HTML`` (tables) or Markdown with inline HTML
(sentences).

- :func:`glance`: the first screen: per claim its verdict, each model's headline estimate with its interval,
  the report's value and the regime; then :func:`scope_table` (what the verdicts rest on).
- :func:`endpoints_table`: every primary endpoint with its 95% interval, its family test (Holm), the report's
  effect, the MDE, the clip-and-placement sensitivity, the validation replication and its verdict.
- :func:`claim_sentence`: one sentence per claim for the prose pages.
- :func:`pipeline_check`: a build's own endpoints when its runs decide nothing (one short training per cell):
  estimates without a verdict word.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from dark.design import paper

from .labels import interval_text
from .tables import endpoint_label, short_label

__all__ = [
    "PIPELINE_CHECK",
    "claim_sentence",
    "claims_of",
    "endpoints_table",
    "glance",
    "key",
    "pipeline_check",
    "regime_sentences",
    "scope_table",
    "verdict_span",
]

#: how a build's own results are labelled when its runs cannot decide a claim
PIPELINE_CHECK = (
    "A check of the pipeline, not evidence: one short training per cell decides nothing. The verdicts are "
    "the recorded run's."
)
#: each claim in a few words, for tables
CLAIM_SHORT: dict[int, str] = {
    1: "DARK decoding beats ArgMax and Standard",
    2: "Unbiased targets beat quantised ones",
}
#: the endpoint each model's cell of the first screen shows (standard protocol)
HEADLINE: dict[int, str] = {1: "dark - standard", 2: "unbiased - ceil"}


def key(
    claim: int | str, model: str | None = None, protocol: str | None = None, comparison: str | None = None
) -> str:
    """The ``data-verdict`` key of a claim, a claim for one model, or an endpoint.

    >>> key(1), key(2, "sh"), key(1, "sh", "standard", "dark - standard")
    ('claim/1', 'claim/2/sh', 'claim/1/sh/standard/dark - standard')
    """
    return "/".join(str(x) for x in ("claim", claim, model, protocol, comparison) if x is not None)


def verdict_span(text: str, verdict_key: str) -> str:
    """``text`` marked as the verdict called ``verdict_key`` (escaped; the key in ``data-verdict``)."""
    return f'<span class="dark-verdict" data-verdict="{html.escape(verdict_key)}">{html.escape(text)}</span>'


def claims_of(saved: Mapping) -> dict[int, Mapping]:
    """The claims of a ``verdicts.json`` (keys ``1``, ``2`` or ``"1"``, ``"2"``), by number."""
    return {int(k): v for k, v in saved.items() if str(k).isdigit() and isinstance(v, Mapping)}


def _model(m: str) -> str:
    return paper.MODEL_NAMES.get(m, m)


def _reduced(m: str, saved: Mapping) -> str:
    """A model's column name: the report's name, marked "reduced" when the record trained a smaller
    configuration than the report's (any but ``full``)."""
    config = saved.get("scope", {}).get("models", {}).get(m, {}).get("config")
    return f"{_model(m)} (reduced)" if config and config != "full" else _model(m)


def _settings(kwargs: Mapping) -> str:
    """``{"stacks": 2, "features": 64}`` -> ``"stacks 2, features 64"``."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in kwargs.items())


def _num(x, digits: int = 1, sign: str = "") -> str:
    return "–" if x is None else f"{x:{sign}.{digits}f}"


#: the tables' look: compact, the caption under the table (what to read in it)
STYLE = (
    "<style>.dark-table{font-size:0.85em;margin-bottom:1em}.dark-table caption{caption-side:bottom;"
    "text-align:left;font-size:0.9em;padding-top:0.3em}.dark-table td,.dark-table th{vertical-align:top;"
    "padding:0.2em 0.5em}</style>"
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], caption: str = "") -> str:
    """A plain HTML table (cells are already HTML) with an optional caption, under :data:`STYLE`."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'{STYLE}<table class="dark-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _estimate(r: Mapping, digits: int = 1) -> str:
    if r.get("estimate") is None:
        return "–"
    return interval_text(r["estimate"], r["low"], r["high"], digits)


def _pairs(r: Mapping) -> str:
    n = r.get("n_pairs")
    if n is None:
        return " vs ".join(map(str, r.get("n_seeds", []))) or "?"
    return f"{n} pair{'s' * (n != 1)}" if r.get("claim") == 2 else f"{n} seed{'s' * (n != 1)}"


def _identity(claim: int, r: Mapping, digits: int) -> list[str]:
    """An endpoint row's first cells: claim, model, protocol, endpoint, estimate [95% CI], pairs or seeds."""
    model, protocol = _model(r["model"]), short_label(r["protocol"])
    return [str(claim), model, protocol, endpoint_label(r), _estimate(r, digits), _pairs(r)]


def glance(saved: Mapping, digits: int = 1) -> str:
    """The at-a-glance table: per claim its verdict, each model's verdict and headline estimate (standard
    protocol, 95% interval over test clips and seeds, with its pairs or seeds), the report's value, and the
    regime; followed by :func:`scope_table`."""
    claims = claims_of(saved)
    models = list(dict.fromkeys(r["model"] for v in claims.values() for r in v.get("primary", [])))
    rows = []
    for c, v in claims.items():
        cells = []
        for m in models:
            r = next(
                (
                    r
                    for r in v.get("primary", [])
                    if (r["model"], r["protocol"], r["comparison"]) == (m, "standard", HEADLINE[c])
                ),
                None,
            )
            if r is None or r.get("estimate") is None:
                cells.append("no runs")
                continue
            mv = v.get("by_model", {}).get(m, "?")
            cells.append(
                f"{verdict_span(mv, key(c, m))}<br>{endpoint_label(r)}: {_estimate(r, digits)} ({_pairs(r)})"
            )
        report = " / ".join(
            f"{_model(m)} {_num(paper.REPORT_EFFECTS.get((c, m, HEADLINE[c])), digits, '+')}" for m in models
        )
        claim_cell = f"{c}. {CLAIM_SHORT.get(c, v.get('claim', ''))}"
        verdict = f"<b>{verdict_span(v['verdict'], key(c))}</b>"
        rows.append([claim_cell, verdict, *cells, report, html.escape(v.get("regime_text", "?"))])
    header = ["Claim", "Verdict", *(_reduced(m, saved) for m in models), "Report (its effect)", "Our regime"]
    caption = (
        "The verdicts of the recorded run. Each claim's endpoints (both models, both scoring protocols) form "
        "one family, corrected for multiplicity (Holm); intervals are 95%, over test clips and training "
        "seeds. "
        "A model's cell shows its verdict and its headline endpoint under the standard protocol."
    )
    return _table(header, rows, caption) + scope_table(saved)


def _hw(v) -> str:
    return (
        " x ".join(map(str, v))
        if isinstance(v, list | tuple) and v and not isinstance(v[0], list)
        else "mixed"
    )


def scope_table(saved: Mapping) -> str:
    """What the verdicts rest on, against the report: models, input and heatmaps, epochs, data, precision,
    hardware, compute, and the absolute accuracy of the unbiased cells beside Table 2."""
    s = saved.get("scope")
    if not s:
        return ""
    reg, rep = s["regime"], s["report"]
    models = "; ".join(
        f"{_model(m)}: {d.get('config')} configuration ({_settings(d.get('kwargs', {}))}), "
        f"{d.get('parameters') or 0:,} parameters (report: {d.get('report')})"
        for m, d in s["models"].items()
    )
    hours = s["wall_s"] / 3600
    absolute = "; ".join(
        f"{_model(a['model'])} {ABS_LABELS.get(a['metric'], a['metric'])} {_num(a['ours'])} "
        f"(report {_num(a['report'], 2)})"
        for a in s.get("absolute", [])
    )
    rows = [
        ["Models", html.escape(models)],
        [
            "Input / heatmaps (H x W)",
            f"{_hw(reg['input'])} / {_hw(reg['heatmap'])} (report: "
            f"{_hw(rep['input'])} / {_hw(rep['heatmap'])})",
        ],
        ["Epochs, batch", f"{reg['epochs']}, {reg['batch']} (report: {rep['epochs']}, {rep['batch']})"],
        ["Data", f"{html.escape(str(reg['data']))} (report: {html.escape(str(rep['data']))})"],
        ["Precision", f"{reg['precision']} (report: {rep['precision']})"],
        ["Hardware", f"{html.escape(', '.join(s['machines']))} (report: {rep['hardware']})"],
        [
            "Compute",
            f"{s['runs']} trainings, {hours:.1f} h of training and evaluation in all (report: about "
            f"{rep['hours_per_model']:.0f} h per model)",
        ],
        ["Absolute accuracy, w/o quant + DARK", html.escape(absolute) or "–"],
    ]
    return _table(["Scope", "This record (the report)"], rows, "What the verdicts rest on.")


#: the absolute-accuracy metrics of the scope table, in words
ABS_LABELS = {
    "pckh_axis@0.1": "PCKh@0.1 (report's per-axis metric)",
    "pckh@0.1": "PCKh@0.1 (Euclidean)",
    "rmse": "RMSE (px)",
}


def endpoints_table(saved: Mapping, claim: int | None = None, digits: int = 2) -> str:
    """Every primary endpoint (of ``claim``, or all): model, protocol, endpoint, estimate [95% CI] over
    clips and seeds, pairs or seeds, Holm-adjusted p in its family, the report's effect, the MDE, the
    interval with placements as the unit (sensitivity), the validation motions' estimate (replication),
    and the verdict."""
    rows = []
    for c, v in claims_of(saved).items():
        if claim is not None and c != claim:
            continue
        for r in v.get("primary", []):
            if r.get("estimate") is None:
                continue
            pl, rep = r.get("placements") or {}, r.get("replication") or {}
            rep_text = (
                "–"
                if not rep
                else interval_text(rep["estimate"], rep["low"], rep["high"], digits)
                if rep.get("low") is not None
                else f"{rep['estimate']:.{digits}f}"
            )
            rows.append(
                [
                    *_identity(c, r, digits),
                    _num(r.get("p_holm"), 3),
                    _num(r.get("report_effect"), digits, "+"),
                    _num(r.get("mde"), digits),
                    interval_text(r["estimate"], pl["low"], pl["high"], digits) if pl else "–",
                    _signs(r.get("clip_signs")),
                    rep_text,
                    verdict_span(r["verdict"], key(c, r["model"], r["protocol"], r["comparison"])),
                ]
            )
    header = [
        "Claim",
        "Model",
        "Protocol",
        "Endpoint",
        "Estimate [95% CI]",
        "n",
        "Holm p",
        "Report",
        "MDE",
        "Per placement",
        "Clips the claimed way",
        "Validation",
        "Verdict",
    ]
    caption = (
        "The primary endpoints. Estimate: points of PCKh@0.1, 95% interval over test clips and seeds. "
        "Holm p: the p-value adjusted within the claim's family. MDE: the smallest effect the design "
        "detects with 80% power. Per placement: the interval if placements of a clip were independent "
        "(a sensitivity check). Clips the claimed way: in how many test clips the difference has the "
        "claimed sign, averaged over the trainings, with the exact sign test's p (secondary, no verdict: "
        "it treats these trainings as fixed). "
        "Validation: the same endpoint on the validation motions, interval over seeds only."
    )
    return _table(header, rows, caption)


def _signs(s: Mapping | None) -> str:
    return "–" if not s else f"{s['favour']} of {s['clips']} (p {s['p']:.3f})"


def regime_sentences(saved: Mapping, comparable_only: bool = False) -> str:
    """One line per other regime of the record (``verdicts.json``'s ``regimes``) and claim: its verdict,
    each model's, the regime; keys prefixed ``regime/<i>/``. Claims without runs in a regime are left out;
    empty when no other regime has an evaluated claim. ``comparable_only``: only the regimes at the report's
    heatmap size (:func:`dark.analysis.report.regime.comparable`)."""
    lines = []
    for i, reg in enumerate(saved.get("regimes", [])):
        if comparable_only and not reg.get("comparable"):
            continue
        for c, v in sorted(reg["claims"].items()):
            if str(v["verdict"]).startswith("not evaluated"):  # no endpoint of this claim has runs there
                continue
            by_model = ", ".join(
                f"{_model(m)}: {verdict_span(w, f'regime/{i}/' + key(c, m))}"
                for m, w in v["by_model"].items()
                if not str(w).startswith("not evaluated")  # a model without runs in this regime
            )
            lines.append(
                f"- At {html.escape(reg['regime_text'])}, claim {c}: "
                f"**{verdict_span(v['verdict'], f'regime/{i}/' + key(c))}** ({by_model})."
            )
    return "\n".join(lines)


def claim_sentence(saved: Mapping, claim: int) -> str:
    """One sentence (Markdown with inline HTML) stating a claim's verdict, its models' verdicts and its
    regime."""
    v = claims_of(saved).get(claim)
    if v is None:
        return f"Claim {claim} was not evaluated."
    by_model = ", ".join(
        f"{_model(m)}: {verdict_span(w, key(claim, m))}" for m, w in v.get("by_model", {}).items()
    )
    return (
        f"Claim {claim} ({CLAIM_SHORT.get(claim, '')}): **{verdict_span(v['verdict'], key(claim))}** "
        f"({by_model}), at {html.escape(v.get('regime_text', '?'))}; {html.escape(v.get('family', ''))}."
    )


def pipeline_check(saved: Mapping, digits: int = 2, label: str = PIPELINE_CHECK) -> str:
    """A build's own primary endpoints (or a superseded record's) without a verdict word, under ``label``
    (:data:`PIPELINE_CHECK`)."""
    rows = []
    for c, v in claims_of(saved).items():
        for r in v.get("primary", []):
            if r.get("estimate") is None:
                continue
            rows.append(_identity(c, r, digits))
    if not rows:
        return f"<p>{label} No endpoint was evaluated.</p>"
    return f"<p><b>{label}</b></p>" + _table(
        ["Claim", "Model", "Protocol", "Endpoint", "Estimate [95% CI]", "n"],
        rows,
        "The endpoints' estimates, without verdicts.",
    )
