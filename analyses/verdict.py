"""The verdict: how much of the headline the photo source explains, by explicit rules.

The rules read four confirmatory tests, Holm-adjusted together as ONE family (controls and
descriptive checks are outside it), and the decomposition of the headline (analyses.decomposition),
whose quantities carry 95% intervals. Every test moves labels between whole identities and refits
(analyses.refit). E, "source-specific evidence", means ``capture_properties`` or
``face_removed_dilated`` (analyses.checks.capture_check: nothing of the face is left in either) has
Holm p < 0.05. ``W`` is the headline model's AUROC inside sources, ``gap`` = headline minus ``W``.

0. ``too_small``: ``label_learnable`` has fewer identities per class than the minimum.
   ``inconclusive`` with "degenerate evidence": ``label_learnable`` (or the within-source part) is
   degenerate: every preprocessed image is the same, so every probe and model scores chance by
   construction, with intervals of width 0. Such numbers are no evidence either way; no rule reads them.
   (A degenerate row never counts anywhere: :meth:`CheckResult.counts_for_verdict` wants status ok.)
1. One declared source: E from ``capture_properties`` -> ``hidden_capture_difference`` (the one
   "source" may be several: its capture predicts the label); otherwise ``no_confound_detected``.
2. The label is not learnable from the images (``label_learnable`` Holm p >= 0.05, and the
   decomposition's headline interval, where measured, reaches 0.5): nothing to explain ->
   ``no_confound_detected``; ``inconclusive`` if E holds all the same. (The headline model on
   pixels can see a capture the probe's 32 principal components miss: either shows a headline.)
3. No source holds ``min_identities`` identities of each class, so ``W`` cannot be measured and the
   label cannot be told apart from the source: E -> ``source_confound``; otherwise ``inconclusive``
   (the design confounds trait and source, but no source-specific trace was found in the images).
4. ``W`` measured:
   - ``W``'s interval reaches 0.5 (no signal inside sources shown) and the gap's interval lies above
     0: the headline falls to chance once the source is held fixed -> ``source_confound``; with no
     gap shown either -> ``inconclusive``;
   - ``W``'s interval lies above 0.5 (a real within-source signal) and the gap's interval lies above
     0 -> ``partial_confound``, with the explained share (gap / (headline - 0.5)) and its interval;
   - otherwise (the headline does not exceed what sources hold inside them) -> ``no_confound_detected``.

No effect-size threshold is used: the only constant is alpha = 0.05, and interval ends are read
against chance (0.5) and no gap (0). The earlier verdict's 0.3 / 0.5 bounds on Cramér's V and 0.7
floor on AUROC were conventions that no simulation had chosen; ``make calibrate`` now measures these
rules' confusion matrix on a grid of known truths (trait x artifact x association x sources) and
the paper reports it. The balanced, harmonised and capture-swap quantities are reported beside the
verdict but not read by it: harmonisation and a new capture also degrade the image, so a real trait
can fall with them (they corroborate, they do not decide).
"""

from __future__ import annotations

from typing import Any

from artifactual.analyses.checks import CheckResult
from artifactual.analyses.formatting import fmt_estimate, fmt_p

ALPHA = 0.05
LEARNABLE = "label_learnable"
ASSOCIATION = "label_source_association"
SOURCE_SPECIFIC = ("capture_properties", "face_removed_dilated")
#: The confirmatory family: the checks whose p-values the rules read, Holm-adjusted together.
CONFIRMATORY = (ASSOCIATION, LEARNABLE, *SOURCE_SPECIFIC)
VERDICTS = ("source_confound", "partial_confound", "no_confound_detected", "hidden_capture_difference",
            "inconclusive", "too_small")


def _p(c: CheckResult) -> float | None:
    return c.p_holm if c.p_holm is not None else c.p_value


def _ci(q: dict[str, Any]) -> str:
    return fmt_estimate(q["estimate"], q["ci"][0], q["ci"][1])


def _row(c: CheckResult) -> str:
    return f"{c.name} AUROC {fmt_estimate(c.estimate, c.ci_low, c.ci_high)}, Holm p {fmt_p(_p(c))}"


def _degenerate(lrn: CheckResult | None, parts: dict[str, Any]) -> str | None:
    """Why the whole data set holds nothing to learn from: ``label_learnable`` (the probe on every preprocessed
    image) or the within-source part (the headline model on them) said so. None otherwise.

    >>> _degenerate(CheckResult.degenerate("label_learnable", "auroc", "every image is identical after "
    ...                                    "preprocessing", 80, role="confirmatory"), {})
    'every image is identical after preprocessing, so there is nothing to learn from'
    >>> _degenerate(None, {"within_source": {"status": "ok"}}) is None
    True
    """
    if lrn is not None and lrn.status == "degenerate":
        return lrn.reading.removeprefix("degenerate: ")
    ws = parts.get("within_source") or {}
    if ws.get("status") == "degenerate":
        return str(ws.get("reason", "")).removeprefix("degenerate: ")
    return None


def decide(checks: list[CheckResult], n_sources: int, decomposition: dict[str, Any] | None = None
           ) -> tuple[str, list[str]]:
    """Apply the rules to Holm-adjusted checks and the decomposition's ``table`` (see the module docstring).

    >>> from artifactual.analyses.checks import CheckResult as C
    >>> rows = [C("label_source_association", "v", 1.0, 1.0, 1.0, 80, "", 0.001, 0.004, role="confirmatory"),
    ...         C("label_learnable", "auroc", 0.99, 0.95, 1.0, 80, "", 0.001, 0.004, role="confirmatory"),
    ...         C("capture_properties", "auroc", 0.9, 0.75, 1.0, 80, "", 0.001, 0.004, role="confirmatory")]
    >>> decide(rows, 2)[0]  # no source holds both classes, and the capture predicts the label
    'source_confound'
    >>> table = {"within_source": {"estimate": 0.8, "ci": [0.7, 0.9]}, "gap": {"estimate": 0.1, "ci": [0.05, 0.15]},
    ...          "explained_share": {"estimate": 0.3, "ci": [0.15, 0.45]}}
    >>> decide(rows, 2, {"table": table})[0]
    'partial_confound'
    >>> table["gap"]["ci"] = [-0.02, 0.05]
    >>> decide(rows, 2, {"table": table})[0]
    'no_confound_detected'
    """
    by = {c.name: c for c in checks}
    table = (decomposition or {}).get("table", {})

    def sig(name: str) -> bool:
        c = by.get(name)
        return c is not None and c.counts_for_verdict() and _p(c) < ALPHA

    lrn = by.get(LEARNABLE)
    if lrn is not None and lrn.status == "too_small":
        return "too_small", [f"too few identities per class to learn the label: {lrn.reading}"]
    flat = _degenerate(lrn, (decomposition or {}).get("parts", {}))
    if flat:
        return "inconclusive", [
            f"degenerate evidence: {flat}. Every check that reads the images would score chance by construction, "
            "so none of them is evidence for or against the source; check the manifest's paths and the "
            "preprocessing settings (a face crop or mask that leaves every image the same)"]
    evidence = [_row(by[n]) for n in SOURCE_SPECIFIC if sig(n)]
    e_text = "source-specific evidence predicts the label (" + "; ".join(evidence) + ")"
    no_e = ("no source-specific evidence: " + ", ".join(
        f"{n} " + (fmt_p(_p(by[n])) if n in by and by[n].counts_for_verdict() else by[n].status if n in by else "not run")
        for n in SOURCE_SPECIFIC))
    if n_sources < 2:
        if sig("capture_properties"):
            return "hidden_capture_difference", [
                "one source was declared, but capture properties with no face in them predict the label ("
                + _row(by["capture_properties"]) + "): the images may come from several captures, which the audit "
                "cannot separate; declare the real sources (camera, archive, year, event) and audit again"] + (
                [f"for scale: the images themselves give {_row(lrn)}"] if lrn is not None and lrn.counts_for_verdict()
                else [])
        return "no_confound_detected", ["one source was declared and its capture properties do not predict the label ("
                                        + no_e + ")"]
    H = table.get("headline")
    if not sig(LEARNABLE) and not (H and H["ci"][0] > 0.5):
        why = (f"the label is not learnable from the images ({_row(lrn) if lrn and lrn.counts_for_verdict() else 'not measured'})"
               ": there is no headline for the source to explain")
        return ("inconclusive", [why, e_text + ", which contradicts it"]) if evidence else ("no_confound_detected", [why])
    reasons = ["the label is learnable from the images: " + (_row(lrn) if sig(LEARNABLE) else
                                                               f"headline model AUROC {_ci(H)}")]
    W = table.get("within_source")
    if W is None:
        reasons.append("no source holds enough identities of both classes: inside a source the classes cannot be "
                       "compared, so the label cannot be told apart from the source")
        if evidence:
            return "source_confound", reasons + [e_text]
        return "inconclusive", reasons + [no_e + "; the design confounds trait and source, and the images show no "
                                          "trace of which one the classifier reads"]
    reasons.append(f"inside sources the headline model scores AUROC {_ci(W)} (headline {_ci(table['headline'])})"
                   if "headline" in table else f"inside sources the headline model scores AUROC {_ci(W)}")
    gap, share = table["gap"], table["explained_share"]
    if W["ci"][0] <= 0.5:
        if gap["ci"][0] > 0:
            return "source_confound", reasons + [
                f"the headline falls to chance once the source is held fixed: it exceeds the within-source AUROC by "
                f"{_ci(gap)}, and no signal inside sources is shown"] + ([e_text] if evidence else [])
        return "inconclusive", reasons + [f"no signal inside sources is shown, and neither is a gap to the headline "
                                          f"({_ci(gap)}): the headline is not explained either way"]
    if gap["ci"][0] > 0:
        return "partial_confound", reasons + [
            f"a real signal exists inside sources, but the headline exceeds it by {_ci(gap)}: the source explains "
            f"{share['estimate']:.0%} [{share['ci'][0]:.0%}, {share['ci'][1]:.0%}] of the headline's AUROC above 0.5"]
    return "no_confound_detected", reasons + [
        f"the headline does not exceed what the model reads inside sources (gap {_ci(gap)})"] + (
        [e_text + ", but the headline model does not gain from it"] if evidence else [])
