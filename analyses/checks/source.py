"""Checks about the photo source: a (source predictability), b (label-source association),
g (leave-one-source-out), h (within-source random-label control)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, image_auroc, lr_factory
from artifactual.analyses.evaluate import auroc_estimate, oof_scores
from artifactual.analyses.stats import Estimate, cramers_v


def _pairwise_source_auroc(d: AuditData, mask: np.ndarray, cfg: AuditConfig, name: str) -> CheckResult:
    """Worst pairwise source-vs-source AUROC among the sources in ``mask`` (a source readable from
    every other one is an artifact carrier; the worst pair is the conservative summary)."""
    sources = sorted(set(d.source[mask]))
    rows = []
    for s1, s2 in itertools.combinations(sources, 2):
        m = mask & np.isin(d.source, [s1, s2])
        yy = (d.source[m] == s2).astype(int)
        est, _ = image_auroc(d.X[m], yy, d.groups[m], cfg.seed, cfg.folds)
        rows.append((f"{s1} vs {s2}", est))
    pair, worst = min(rows, key=lambda r: r[1].estimate)
    reading = (f"the photo source is readable from the preprocessed image: {pair} AUROC {fmt(worst)}"
               if worst.ci_low > 0.6 else f"sources are hard to tell apart ({pair} AUROC {fmt(worst)})")
    return CheckResult.from_estimate(name, "auroc (worst source pair)", worst, reading,
                                     pairs={p: e.as_dict() for p, e in rows})


@CHECKS.register("source_predictability")
def source_predictability(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    out = []
    if len(set(d.source)) < 2:
        return [CheckResult.not_applicable("source_predictability", "auroc", "one source only", d.n)]
    out.append(_pairwise_source_auroc(d, np.ones(d.n, bool), cfg, "source_predictability"))
    for c in (0, 1):
        m = d.y == c
        name = f"source_predictability_within_class_{d.label_values[c]}"
        if len(set(d.source[m])) < 2:
            out.append(CheckResult.not_applicable(name, "auroc", f"class {d.label_values[c]} has one source", int(m.sum())))
        else:
            out.append(_pairwise_source_auroc(d, m, cfg, name))
    return out


@CHECKS.register("label_source_association")
def label_source_association(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    v = cramers_v(d.source, d.y, n_boot=cfg.n_boot, seed=cfg.seed)
    if len(set(d.source)) < 2:
        reading = "one source: the source cannot carry the label"
    else:
        reading = (f"the label is {'almost entirely' if v.estimate > 0.8 else 'largely' if v.estimate > 0.5 else 'weakly'}"
                   f" determined by the source (Cramér's V {fmt(v)})")
    rows = [CheckResult.from_estimate("label_source_association", "cramers_v", v, reading)]
    # AUROC of the label from the source alone: each image scored by the class-1 rate of its
    # source among the training folds (identity-grouped), so no image scores itself.
    if len(set(d.source)) >= 2:
        src = pd.Series(d.source)
        scores = np.full(d.n, np.nan)
        from artifactual.analyses.evaluate import grouped_folds

        cv = grouped_folds(d.y, d.groups, cfg.folds, cfg.seed)
        for train, test in cv.split(d.X, d.y, d.groups):
            rate = pd.Series(d.y[train]).groupby(src.iloc[train].to_numpy()).mean()
            scores[test] = src.iloc[test].map(rate).fillna(d.y[train].mean()).to_numpy()
        est = auroc_estimate(d.y, scores, d.groups, cfg.seed, test=True)
        rows.append(CheckResult.from_estimate(
            "label_from_source_alone", "auroc", est,
            f"knowing only where a photo came from predicts the label with AUROC {fmt(est)}"))
    return rows


@CHECKS.register("leave_one_source_out")
def leave_one_source_out(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Train on one source per class, test on the other sources: a face signal should transfer."""
    a = sorted(set(d.source[d.y == 1]))
    b = sorted(set(d.source[d.y == 0]))
    if len(a) < 2 or len(b) < 2:
        return [CheckResult.not_applicable("leave_one_source_out", "auroc",
                                           "needs at least two sources in each class", d.n)]
    matrix = []
    for sa, sb in itertools.product(a, b):
        train = ((d.y == 1) & (d.source == sa)) | ((d.y == 0) & (d.source == sb))
        test = ((d.y == 1) & (d.source != sa)) | ((d.y == 0) & (d.source != sb))
        if len(np.unique(d.y[test])) < 2 or len(np.unique(d.y[train])) < 2:
            continue
        model = lr_factory(d.X, cfg.seed)().fit(d.X[train], d.y[train])
        scores = np.full(d.n, np.nan)
        scores[test] = model.predict_score(d.X[test])
        est = auroc_estimate(d.y[test], scores[test], d.groups[test], cfg.seed, test=True)
        matrix.append({"train": f"A:{sa} + B:{sb}", "test": "A:" + "+".join(sorted(set(d.source[test & (d.y == 1)])))
                       + " / B:" + "+".join(sorted(set(d.source[test & (d.y == 0)]))), **est.as_dict()})
    if not matrix:
        return [CheckResult.not_applicable("leave_one_source_out", "auroc", "no train/test pair has both classes", d.n)]
    worst = min(matrix, key=lambda r: r["estimate"])
    est = Estimate(worst["estimate"], worst["ci_low"], worst["ci_high"], worst["n"], worst["p_value"])
    reading = (f"trained on {worst['train']}, the classifier scores {fmt(est)} on the other sources: "
               + ("it does not transfer, so it learned the sources" if est.ci_high < 0.7 else
                  "it transfers across sources"))
    return [CheckResult.from_estimate("leave_one_source_out", "auroc (worst train/test pair)", est, reading,
                                      matrix=matrix)]


@CHECKS.register("within_source_random_labels")
def within_source_random_labels(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Random labels inside the largest source: the AUROC the pipeline reaches with no signal."""
    counts = pd.Series(d.source).value_counts()
    src = counts.index[0]
    m = d.source == src
    groups = d.groups[m]
    uniq = np.unique(groups)
    if len(uniq) < 10:
        return [CheckResult.not_applicable("within_source_random_labels", "auroc",
                                           f"source {src} has fewer than 10 identities", int(m.sum()))]
    rng = np.random.default_rng(cfg.seed)
    null, first = [], None
    for r in range(cfg.null_repeats):
        lab = dict(zip(uniq, rng.permutation(np.arange(len(uniq)) % 2)))
        yy = np.array([lab[g] for g in groups])
        scores = oof_scores(d.X[m], yy, groups, lr_factory(d.X, cfg.seed), folds=3, seed=cfg.seed + r)
        est = auroc_estimate(yy, scores, groups, cfg.seed, test=(r == 0))
        first = first or est
        null.append(est.estimate)
    lo, hi = np.percentile(null, [2.5, 97.5])
    reading = (f"random labels inside {src} give AUROC {fmt(first)}; over {cfg.null_repeats} random labellings "
               f"the AUROC ranges {lo:.3f}-{hi:.3f}: the pipeline finds no signal where there is none"
               if hi < 0.65 else f"random labels inside {src} reach AUROC up to {hi:.3f}: the pipeline overfits")
    return [CheckResult.from_estimate("within_source_random_labels", "auroc", first, reading, source=src,
                                      null_auroc=[float(v) for v in null], null_2_5=float(lo), null_97_5=float(hi))]
