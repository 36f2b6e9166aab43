"""The verdict: ``source_confound``, ``no_confound_detected`` or ``inconclusive``, by explicit rules.

The question is narrow: could the classifier's success be explained by WHERE the photos came
from rather than by the faces? The rules (also in the README):

1. ``no_confound_detected`` when the source cannot carry the label: the data have one source,
   or the label-source association is weak (upper end of Cramér's V interval < 0.3).
2. ``source_confound`` when all three hold:
   (a) the label is largely determined by the source (Cramér's V >= 0.5, Holm-adjusted p < 0.05);
   (b) the label is learnable from the images at all (``label_learnable``: Holm p < 0.05);
   (c) the images carry the source outside the face: at least one of ``image_properties``,
       ``face_removed`` and ``blur_ablation`` has Holm p < 0.05 AND its interval's low end >= 0.7.
3. ``inconclusive`` otherwise (for example a strong association but no image evidence, or a
   moderate association with V between 0.3 and 0.5).

Every p-value these rules read is in ONE confirmatory family, Holm-adjusted together (and only
those: controls and descriptive checks are outside it). Every one is a permutation test that moves
labels between whole identities; the probe tests refit every fold under every permutation
(analyses.refit). A check below the minimum number of identities per class is ``too_small`` and
never counts. Leave-one-source-out is reported, not read: the next verdict will read it.

Thresholds: 0.3 / 0.5 are the conventional "moderate" / "strong" bounds for Cramér's V with two
classes; 0.7 is the usual floor of "acceptable" discrimination for AUROC. The known-answer tests
(tests/test_verdict.py) check that these rules flag a planted source artifact, pass a real signal
present in every source, and stay quiet on noise and random labels; ``make calibrate`` measures
each confirmatory test's false-positive rate.
"""

from __future__ import annotations


from artifactual.analyses.checks import CheckResult

V_WEAK, V_STRONG, AUROC_FLOOR, ALPHA = 0.3, 0.5, 0.7, 0.05
LEARNABLE = "label_learnable"
IMAGE_EVIDENCE = ("image_properties", "face_removed", "blur_ablation")
#: The confirmatory family: the checks whose p-values the rules read, Holm-adjusted together.
CONFIRMATORY = ("label_source_association", LEARNABLE, *IMAGE_EVIDENCE)


def _p(c: CheckResult) -> float | None:
    return c.p_holm if c.p_holm is not None else c.p_value


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def decide(checks: list[CheckResult], n_sources: int) -> tuple[str, list[str]]:
    """Apply the rules to Holm-adjusted checks.

    >>> from artifactual.analyses.checks import CheckResult as C
    >>> rows = [C("label_source_association", "v", 1.0, 1.0, 1.0, 80, "", 0.001, 0.004, role="confirmatory"),
    ...         C("label_learnable", "auroc", 0.99, 0.95, 1.0, 80, "", 0.001, 0.004, role="confirmatory"),
    ...         C("blur_ablation", "auroc", 0.9, 0.75, 1.0, 80, "", 0.001, 0.004, role="confirmatory")]
    >>> decide(rows, 2)[0]
    'source_confound'
    >>> rows[2].ci_low = 0.6  # the blur still reads the label, but not surely above the 0.7 floor
    >>> decide(rows, 2)[0]
    'inconclusive'
    """
    by = {c.name: c for c in checks}
    v = by.get("label_source_association")
    if n_sources < 2:
        return "no_confound_detected", ["the data have one source, so the source cannot carry the label"]
    if v is None:
        return "inconclusive", ["the label-source association was not measured"]
    if v.ci_high < V_WEAK:
        return "no_confound_detected", [
            f"the label is nearly independent of the source (Cramér's V {v.estimate:.3f}, 95% CI upper end "
            f"{v.ci_high:.3f} < {V_WEAK})"]
    reasons = []
    p = _p(v)
    strong = v.estimate >= V_STRONG and p is not None and p < ALPHA
    if strong:
        reasons.append(f"(a) the label is largely determined by the source: Cramér's V {v.estimate:.3f} "
                       f"[{v.ci_low:.3f}, {v.ci_high:.3f}], Holm p {_fmt_p(p)}")
    lrn = by.get(LEARNABLE)
    learnable = lrn is not None and lrn.counts_for_verdict() and _p(lrn) < ALPHA
    if learnable:
        reasons.append(f"(b) the label is learnable from the images: probe AUROC {lrn.estimate:.3f} "
                       f"[{lrn.ci_low:.3f}, {lrn.ci_high:.3f}], refit permutation Holm p {_fmt_p(_p(lrn))}")
    evidence = [f"{name}: AUROC {by[name].estimate:.3f} [{by[name].ci_low:.3f}, {by[name].ci_high:.3f}], "
                f"Holm p {_fmt_p(_p(by[name]))}"
                for name in IMAGE_EVIDENCE if name in by and by[name].counts_for_verdict()
                and _p(by[name]) < ALPHA and by[name].ci_low >= AUROC_FLOOR]
    if evidence:
        reasons.append("(c) the images carry the source outside the face: " + "; ".join(evidence))
    if strong and learnable and evidence:
        return "source_confound", reasons
    small = [c.name for c in checks if c.name in CONFIRMATORY and c.status == "too_small"]
    missing = [k for k, ok in (("(a) strong label-source association", strong), ("(b) a learnable label", learnable),
                               ("(c) non-facial image evidence", bool(evidence))) if not ok]
    return "inconclusive", reasons + ["not shown: " + ", ".join(missing)] + (
        [f"too few identities per class for: {', '.join(small)}"] if small else [])
