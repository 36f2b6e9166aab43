"""The verdict: ``source_confound``, ``no_confound_detected`` or ``inconclusive``, by explicit rules.

The question is narrow: could the classifier's success be explained by WHERE the photos came
from rather than by the faces? The rules (also in the README):

1. ``no_confound_detected`` when the source cannot carry the label: the data have one source,
   or the label-source association is weak (upper end of Cramér's V interval < 0.3).
2. ``source_confound`` when all three hold:
   (a) the label is largely determined by the source (Cramér's V >= 0.5, Holm-adjusted p < 0.05);
   (b) the classifier really separates the classes (headline AUROC interval above 0.5);
   (c) the images carry the source outside the face: at least one of
       - non-facial image properties predict the label (AUROC interval low end >= 0.7),
       - the photo with the face blacked out predicts it (interval low end >= 0.7),
       - a blur that erases facial morphology keeps it (interval low end >= 0.7),
       - training on one source per class does not transfer (worst LOSO interval high end < 0.7).
3. ``inconclusive`` otherwise (for example a strong association but no image evidence, or a
   moderate association with V between 0.3 and 0.5).

Thresholds: 0.3 / 0.5 are the conventional "moderate" / "strong" bounds for Cramér's V with two
classes; 0.7 is the usual floor of "acceptable" discrimination for AUROC. The known-answer tests
(tests/test_verdict.py) check that these rules flag a planted source artifact, pass a real signal
present in every source, and stay quiet on noise and random labels.
"""

from __future__ import annotations

from typing import Any

from artifactual.analyses.checks import CheckResult

V_WEAK, V_STRONG, AUROC_FLOOR = 0.3, 0.5, 0.7
IMAGE_EVIDENCE = ("image_properties", "face_removed", "blur_ablation")


def decide(checks: list[CheckResult], headline: dict[str, Any], n_sources: int) -> tuple[str, list[str]]:
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
    p = v.p_holm if v.p_holm is not None else v.p_value
    strong = v.estimate >= V_STRONG and p is not None and p < 0.05
    if strong:
        reasons.append(f"(a) the label is largely determined by the source: Cramér's V {v.estimate:.3f} "
                       f"[{v.ci_low:.3f}, {v.ci_high:.3f}], Holm p {'< 0.001' if p < 0.001 else f'{p:.3f}'}")
    lo = headline.get("auroc_ci", [float("nan")])[0]
    learnable = lo > 0.5
    if learnable:
        reasons.append(f"(b) the classifier separates the classes: AUROC {headline['auroc']:.3f}, CI low end {lo:.3f}")
    evidence = [f"{name}: AUROC {by[name].estimate:.3f} [{by[name].ci_low:.3f}, {by[name].ci_high:.3f}]"
                for name in IMAGE_EVIDENCE if name in by and by[name].ci_low >= AUROC_FLOOR]
    loso = by.get("leave_one_source_out")
    if loso is not None and loso.ci_high == loso.ci_high and loso.ci_high < AUROC_FLOOR:
        evidence.append(f"leave-one-source-out: worst transfer AUROC {loso.estimate:.3f} "
                        f"[{loso.ci_low:.3f}, {loso.ci_high:.3f}]")
    if evidence:
        reasons.append("(c) the images carry the source outside the face: " + "; ".join(evidence))
    if strong and learnable and evidence:
        return "source_confound", reasons
    missing = [k for k, ok in (("(a) strong label-source association", strong), ("(b) a learnable label", learnable),
                               ("(c) non-facial image evidence", bool(evidence))) if not ok]
    return "inconclusive", reasons + ["not shown: " + ", ".join(missing)]
