"""Checks j (identity leakage: random vs identity-grouped split) and k (permutation test)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, lr_factory
from artifactual.analyses.evaluate import one_label_per_group, oof_scores
from artifactual.analyses.stats import Estimate, bootstrap_weights, permutation_test_auroc, weighted_auroc


@CHECKS.register("identity_leakage")
def identity_leakage(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    if len(np.unique(d.groups)) == d.n:
        return [CheckResult.not_applicable("identity_leakage", "auroc difference",
                                           "no identity has more than one image", d.n)]
    make = lr_factory(d.X, cfg.seed)
    grouped = oof_scores(d.X, d.y, d.groups, make, folds=cfg.folds, seed=cfg.seed)
    rand = np.full(d.n, np.nan)
    for train, test in StratifiedKFold(cfg.folds, shuffle=True, random_state=cfg.seed).split(d.X, d.y):
        rand[test] = make().fit(d.X[train], d.y[train]).predict_score(d.X[test])
    ok = np.isfinite(grouped) & np.isfinite(rand)
    y, g = d.y[ok], d.groups[ok]
    w = np.vstack([np.ones(ok.sum()), bootstrap_weights(int(ok.sum()), cfg.n_boot, np.random.default_rng(cfg.seed), g)])
    diff = weighted_auroc(y, rand[ok], w) - weighted_auroc(y, grouped[ok], w)
    reps = diff[1:][np.isfinite(diff[1:])]
    est = Estimate(float(diff[0]), float(np.percentile(reps, 2.5)), float(np.percentile(reps, 97.5)), int(ok.sum()))
    return [CheckResult.from_estimate(
        "identity_leakage", "auroc(random split) - auroc(identity split)", est,
        f"splitting images at random instead of by person changes AUROC by {fmt(est)}",
        auroc_random_split=float(diff[0] + weighted_auroc(y, grouped[ok], w[:1])[0]),
        auroc_identity_split=float(weighted_auroc(y, grouped[ok], w[:1])[0]))]


@CHECKS.register("permutation_test")
def permutation_test(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Labels permuted over fixed out-of-fold scores (no refitting), between whole identities."""
    scores = oof_scores(d.X, d.y, d.groups, lr_factory(d.X, cfg.seed), folds=cfg.folds, seed=cfg.seed)
    ok = np.isfinite(scores)
    p, null = permutation_test_auroc(d.y[ok], scores[ok], n_perm=cfg.n_perm, seed=cfg.seed,
                                     groups=d.groups[ok] if one_label_per_group(d.y[ok], d.groups[ok]) else None)
    obs = float(weighted_auroc(d.y[ok], scores[ok], np.ones((1, ok.sum())))[0])
    lo, hi = np.percentile(null, [2.5, 97.5])
    return [CheckResult("permutation_test", "auroc vs label-permutation null", obs, float(lo), float(hi), int(ok.sum()),
                        f"observed AUROC {obs:.3f} against a null of {cfg.n_perm} permutations "
                        f"(95% of null within {lo:.3f}-{hi:.3f}); the interval shown is the null's",
                        p_value=p, details={"interval_is": "null distribution 2.5-97.5%"})]

