"""``summary.md``: the audit's evidence in words and tables, from ``summary.json`` alone."""

from __future__ import annotations

import re
from typing import Any

from artifactual.analyses.formatting import fmt_interval as _ci
from artifactual.analyses.formatting import fmt_num as _num
from artifactual.analyses.formatting import fmt_p as _p


#: What the estimate column says for a check without a number (its reading says why).
_STATUS_WORDS = {"too_small": "too small", "not_applicable": "not applicable", "degenerate": "degenerate",
                 "failed": "failed"}


def _one_line(text: Any) -> str:
    """``text`` on one line: every run of whitespace (newlines included) becomes one space.

    >>> _one_line("failed: bad argument\\n>  - layout   incompatible\\n")
    'failed: bad argument > - layout incompatible'
    """
    return re.sub(r"\s+", " ", str(text)).strip()


def _cell(text: Any) -> str:
    """``text`` as one Markdown table cell: on one line, and a ``|`` in it escaped so it cannot start a new cell.

    >>> _cell("studio | north\\nwing")
    'studio \\\\| north wing'
    """
    return _one_line(text).replace("|", "\\|")


def _after_status(reason: Any, status: Any) -> str:
    """A part's reason without a repeat of its status (``failed: failed: ...`` reads as a stutter).

    >>> _after_status("failed: no memory", "failed"), _after_status("one class", "not_applicable")
    ('no memory', 'one class')
    """
    text = str(reason)
    return text[len(f"{status}:"):].lstrip() if status and text.startswith(f"{status}:") else text


def summary_markdown(s: dict[str, Any]) -> str:
    """The report in Markdown: verdict, design, headline models, checks and provenance.

    Examples
    --------
    A made-up summary with one model and one check (the keys ``collect_summary`` writes):

    >>> model = {"name": "pixel_logreg", "protocol": "hold-out", "n": 1200, "auroc": 0.987, "auroc_ci": [0.979, 0.993],
    ...          "average_precision": 0.981, "average_precision_ci": [0.97, 0.99], "permutation_p": 0.0002,
    ...          "trainable_params": 1025, "confusion": {"matrix": [[580, 20], [30, 570]], "n": 1200,
    ...          "tpr": {"estimate": 0.95, "ci_low": 0.93, "ci_high": 0.966},
    ...          "tnr": {"estimate": 0.967, "ci_low": 0.95, "ci_high": 0.979}}}
    >>> check = {"name": "source_only", "metric": "AUROC", "estimate": 0.99, "ci_low": 0.98, "ci_high": None,
    ...          "p_value": 0.0004, "p_holm": 0.0123, "n": 3000, "reading": "source predicts the label",
    ...          "role": "confirmatory", "status": "ok"}
    >>> s = {"name": "demo", "data": "two made-up sources", "label": "label", "classes": {"1": "A", "0": "B"},
    ...      "never_about_real_people": "nothing here is about a real person", "verdict": "source_confound",
    ...      "verdict_reasons": ["source alone predicts the label"],
    ...      "design": {"sources": [{"source": "studio", "class": "A", "n": 1500}], "n": 3000, "identities": 2400},
    ...      "preprocessing": {"status_counts": {"ok": 3000}}, "headline": {"models": [model]},
    ...      "multiplicity": "Holm", "checks": [check], "provenance": {"manifest_hash": "0123", "git_commit": "abcd"},
    ...      "run_dir": "runs/demo"}
    >>> for line in summary_markdown(s).splitlines():  # doctest: +NORMALIZE_WHITESPACE
    ...     if line.startswith(("## Verdict", "| studio", "| pixel_logreg", "- pixel_logreg", "| source_only")):
    ...         print(line)
    ## Verdict: `source_confound`
    | studio | A | 1,500 |
    | pixel_logreg | hold-out | 1,200 | 0.987 [0.979, 0.993] | 0.981 [0.970, 0.990] | < 0.001 | 1,025 |
    - pixel_logreg: [[580, 20], [30, 570]]; true-positive rate 0.950 [0.930, 0.966], true-negative rate 0.967
      [0.950, 0.979] (n 1,200)
    | source_only | confirmatory | AUROC | 0.990 — | < 0.001 | 0.012 | 3,000 | source predicts the label |
    """
    h = s["headline"]
    lines = [
        f"# artifactual audit: {s['name']}",
        "",
        f"Data: {s.get('data') or 'user dataset'}. Label `{s['label']}`: class 1 = {s['classes']['1']}, "
        f"class 0 = {s['classes']['0']}. {s['never_about_real_people'].capitalize()}.",
        "",
        f"## Verdict: `{s['verdict']}`",
        "",
        *[f"- {_one_line(r)}" for r in s["verdict_reasons"]],
        "",
        *_decomposition_lines(s.get("decomposition")),
        "## Design",
        "",
        "| source | class | n |",
        "|---|---|---:|",
        *[f"| {_cell(r['source'])} | {_cell(r['class'])} | {r['n']:,} |" for r in s["design"]["sources"]],
        "",
        f"{s['design']['n']:,} images of {s['design']['identities']:,} identities after preprocessing "
        f"(outcomes: {s['preprocessing'].get('status_counts')})."
        + (f" Classes were rebalanced after preprocessing, as seed 000 did, by dropping whole identities of the larger "
           f"class: {s['preprocessing']['rebalanced_after_preprocessing']['from']:,} -> "
           f"{s['preprocessing']['rebalanced_after_preprocessing']['to']:,} images."
           if s["preprocessing"].get("rebalanced_after_preprocessing") else ""),
        "",
        *_detection_lines(s),
        "## Headline (identity-grouped held-out data)",
        "",
        "| model | protocol | n | AUROC [95% CI] | average precision [95% CI] | p | trainable params |",
        "|---|---|---:|---|---|---|---:|",
    ]
    for m in h["models"]:
        p = (_p(m["permutation_p"]) if m.get("permutation_p") is not None else
             f"{_p(m.get('screening_permutation_p'))} (screening)")
        protocol = m["protocol"] + (f" ({m['note']})" if m.get("note") else "")
        lines.append(f"| {_cell(m['name'])} | {_cell(protocol)} | {m['n']:,} | "
                     f"{_num(m['auroc'])} {_ci(*m['auroc_ci'])} | {_num(m['average_precision'])} "
                     f"{_ci(*m['average_precision_ci'])} | {p} | {m['trainable_params']:,} |")
    lines += ["", "Intervals: " + "; ".join(f"{m['name']}: {m['interval']}" for m in h["models"] if m.get("interval"))
              + ". A screening p permutes labels over fixed out-of-fold scores and is read by no rule."]
    lines += ["", "Confusion matrices at threshold 0.5 (rows: true class 0, 1; columns: predicted 0, 1):", ""]
    for m in h["models"]:
        c = m["confusion"]
        (tn, fp), (fn, tp) = c["matrix"]
        lines.append(f"- {m['name']}: [[{tn:,}, {fp:,}], [{fn:,}, {tp:,}]]; true-positive rate "
                     f"{_num(c['tpr']['estimate'])} {_ci(c['tpr']['ci_low'], c['tpr']['ci_high'])}, true-negative rate "
                     f"{_num(c['tnr']['estimate'])} {_ci(c['tnr']['ci_low'], c['tnr']['ci_high'])} (n {c['n']:,})")
    if h.get("paper_auroc") is not None:
        lines += ["", f"The paper reported AUROC {h['paper_auroc']} and average precision {h['paper_average_precision']} "
                      f"(seed 000, Figure 5)."]
    mult = s["multiplicity"]
    family = (f"{mult['correction']} over the {mult['family']} family ({', '.join(mult['members']) or 'empty'}); "
              f"{mult['note']}" if isinstance(mult, dict) else str(mult))
    lines += ["", "## Audit battery", "",
              f"p-values: {family}.", "",
              "| check | role | metric | estimate [95% CI] | p | p (Holm) | n | reading |",
              "|---|---|---|---|---|---|---:|---|"]
    for c in s["checks"]:
        role = c.get("role", "")
        if role == "control" and c.get("expected"):
            role += f" (expected: {c['expected']}; {'held' if c.get('held') else 'did NOT hold'})"
        status = c.get("status", "ok")
        est = (f"{_num(c['estimate'])} {_ci(c['ci_low'], c['ci_high'])}" if status == "ok" else
               _STATUS_WORDS.get(status, status))
        lines.append(f"| {_cell(c['name'])} | {_cell(role)} | {_cell(c['metric'])} | {_cell(est)} | "
                     f"{_p(c['p_value'])} | {_p(c['p_holm'])} | {c['n']:,} | {_cell(c['reading'])} |")
    prov = s["provenance"]
    lines += ["", f"Manifest hash `{prov['manifest_hash']}`, git commit `{prov['git_commit']}`, run folder "
                  f"`{s['run_dir']}`.", ""]
    return "\n".join(lines)


def _detection_lines(s: dict[str, Any]) -> list[str]:
    rates = s["preprocessing"].get("detection_rates") or []
    if not rates:
        return []
    out = ["Haar face detection by source (images without a face are dropped, as in seed 000; unequal rates",
           "are a confound of their own):", "", "| source | n | faces | rate [95% CI] |", "|---|---:|---:|---|"]
    out += [f"| {_cell(r['source'])} | {r['n']:,} | {r['n_face']:,} | {_num(r['rate'])} {_ci(r['ci_low'], r['ci_high'])} |"
            for r in rates]
    return out + [""]


_ROWS = (("headline", "headline model, identity-grouped CV (folds stratified by source)"),
         ("within_source", "the same scores, pairs from one source only"),
         ("gap", "headline minus within-source"),
         ("explained_share", "share of the headline's AUROC above 0.5 that the source explains"),
         ("balanced", "retrained at the data's association, tested on a source-balanced set"),
         ("inflation_at_observed_association", "same-association minus balanced test AUROC"),
         ("harmonised", "retrained and tested at the common capture floor"),
         ("counterfactual_flip_rate", "predictions that flip when a class is given the other's capture"),
         ("label_from_source_alone", "the label from the source alone (each source's class rate)"),
         ("capture_properties", "the label from capture properties with no face in them"),
         ("face_removed_dilated", "the label from the photo with face, hair, ears and jaw blacked out"))
_WITHIN_CLASS = "source_predictability_within_class_"


def _decomposition_lines(dec: dict[str, Any] | None) -> list[str]:
    """The section "How much of the headline is source?": the decomposition table and why a part is missing.

    >>> dec = {"table": {"within_source": {"estimate": 0.8, "ci": [0.7, 0.9], "n": 200}},
    ...        "parts": {"capture_swap": {"status": "not_applicable", "reason": "one class held out"}}}
    >>> print("\\n".join(_decomposition_lines(dec)[3:6]))
    |---|---|---:|---|
    | within_source | 0.800 [0.700, 0.900] | 200 | the same scores, pairs from one source only |
    <BLANKLINE>
    """
    if not dec:
        return []
    table, parts = dec.get("table", {}), dec.get("parts", {})
    out = ["## How much of the headline is source?", "", "| quantity | estimate [95% CI] | n | what it is |",
           "|---|---|---:|---|"]
    within_class = [(k, f"the source told apart inside class {k[len(_WITHIN_CLASS):]!r}") for k in table
                    if k.startswith(_WITHIN_CLASS)]
    for key, what in (*_ROWS, *within_class):
        q = table.get(key)
        if q:
            extra = (f" (basis: {q['basis']})" if q.get("basis") else "") + (
                f" (every image given class {str(q['target_capture'])!r}'s capture; control "
                f"{_num(q['control']['estimate'])})"
                if key == "counterfactual_flip_rate" else "")
            n = q.get("n")
            out.append(f"| {_cell(key)} | {_num(q['estimate'])} {_ci(*q['ci'])} | {'—' if n is None else f'{n:,}'} | "
                       f"{_cell(what + extra)} |")
    out.append("")
    missing = [_one_line(f"- {name}: {p.get('status')}: {_after_status(p.get('reason'), p.get('status'))}")
               for name, p in parts.items() if p.get("status") != "ok"]
    if missing:
        out += ["Parts not computed:", "", *missing, ""]
    cc = parts.get("controlled_confounding", {})
    if cc.get("status") == "ok":
        out += ["Controlled confounding (training sets at P(label | source); AUROC on balanced / same / reversed test "
                "sets; inflation = same - balanced):", "",
                "| P(label \\| source) | balanced | same | reversed | inflation |", "|---:|---|---|---|---|"]
        for r in cc["levels"]:
            out.append(f"| {r['association']:.1f} | " + " | ".join(
                f"{_num(r[k]['estimate'])} {_ci(*r[k]['ci'])}" for k in ("balanced", "same", "reversed", "inflation"))
                + " |")
        out.append("")
    return out
