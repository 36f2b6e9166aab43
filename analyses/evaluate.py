"""Identity-grouped evaluation of the headline models: repeated CV or a hold-out, metrics, curves.

Every image of a person stays on one side of every split. Cross-validated metrics carry the
interval of analyses.refit (refits under identity-label permutation, which include the fitting
variance); hold-out metrics and curves resample the held-out identities.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from artifactual.analyses.refit import null_sd_interval
from artifactual.analyses.stats import (Estimate, bootstrap_metric, bootstrap_weights, identity_folds, permutation_test_auroc,
                                        permuted_labels, stream, units, weighted_auroc, weighted_average_precision)
from artifactual.replication.models import MODELS
from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig

FPR_GRID = np.linspace(0, 1, 101)


class FastStratifiedGroupKFold(StratifiedGroupKFold):
    """scikit-learn's StratifiedGroupKFold, with its per-group fold search vectorised.

    The greedy search scores every fold for every group with a separate ``np.std`` call, which
    took 65 of the battery's 168 s on 6,286 images (most UTKFace images are their own group).
    Written by hand because scikit-learn has no faster equivalent: the same class counts are
    formed and compared in the same order with the same tie rule, so the folds are identical
    (tests/analyses/test_stats.py checks this against scikit-learn on many random designs).
    """

    def _find_best_fold(self, y_counts_per_fold, y_cnt, group_y_counts):
        k = self.n_splits
        cand = np.broadcast_to(y_counts_per_fold, (k, *y_counts_per_fold.shape)).copy()
        cand[np.arange(k), np.arange(k)] += group_y_counts
        evals = np.mean(np.std(cand / y_cnt.reshape(1, 1, -1), axis=1), axis=1)
        sizes = y_counts_per_fold.sum(axis=1)  # as scikit-learn: the fold without the group
        best_fold, min_eval, min_samples = None, np.inf, np.inf
        for i in range(k):  # scikit-learn's sequential comparison, np.isclose's tolerances
            e, n = float(evals[i]), float(sizes[i])
            if e < min_eval or (abs(e - min_eval) <= 1e-8 + 1e-5 * abs(min_eval) and n < min_samples):
                best_fold, min_eval, min_samples = i, e, n
        return best_fold


def grouped_folds(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> StratifiedGroupKFold:
    """Stratified, identity-grouped, shuffled folds (as many as the data allow, at most ``folds``)."""
    return FastStratifiedGroupKFold(n_splits=n_folds_possible(y, groups, folds), shuffle=True, random_state=seed)


def n_folds_possible(y: np.ndarray, groups: np.ndarray, wanted: int = 5) -> int:
    """As many folds as both classes have identities for (at most ``wanted``, at least 2)."""
    per_class = [len(np.unique(groups[y == c])) for c in np.unique(y)]
    return max(2, min([wanted, *per_class]))


def oof_scores(X: np.ndarray, y: np.ndarray, groups: np.ndarray, make_model: Callable[[], Any] | None = None,
               folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold class-1 scores for every image, identity-grouped and stratified.

    Raises ValueError naming the problem when the labels have one class.
    """
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError(f"labels have a single class ({np.unique(y).tolist()}): nothing to separate")
    make_model = make_model or (lambda: PixelLogReg(PixelLogRegConfig(), seed=seed))
    cv = grouped_folds(y, groups, folds, seed)
    scores = np.full(len(y), np.nan)
    for train, test in cv.split(X, y, groups):
        if len(np.unique(y[train])) < 2:
            continue  # a fold without both classes cannot train; its images stay unscored
        scores[test] = make_model().fit(X[train], y[train]).predict_score(X[test])
    return scores


def auroc_estimate(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, seed: int = 0,
                   metric: str = "auroc", test: bool = False) -> Estimate:
    """Metric of (out-of-fold) scores with an identity-bootstrap interval; p-value by permutation if asked."""
    ok = np.isfinite(scores)
    y, scores = np.asarray(y)[ok].astype(int), np.asarray(scores)[ok]
    g = None if groups is None else np.asarray(groups)[ok]
    if len(np.unique(y)) < 2:
        return Estimate(float("nan"), float("nan"), float("nan"), int(len(y)))
    est = bootstrap_metric(y, scores, metric=metric, seed=seed, groups=g)
    if not test:
        return est
    p, _ = permutation_test_auroc(y, scores, seed=seed, groups=g if one_label_per_group(y, g) else None)
    return Estimate(est.estimate, est.ci_low, est.ci_high, est.n, p)


def one_label_per_group(y: np.ndarray, groups: np.ndarray | None) -> bool:
    """True when every group (identity) carries one label, so labels can be permuted between groups."""
    if groups is None:
        return False
    import pandas as pd

    return bool((pd.Series(y).groupby(pd.Series(groups).astype(str).to_numpy()).nunique() <= 1).all())


def curves_with_bands(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, n_boot: int = 200,
                      seed: int = 0) -> dict[str, Any]:
    """ROC and PR curves on fixed grids with pointwise 95% bootstrap bands (identity resampling)."""
    ok = np.isfinite(scores)
    y, scores = np.asarray(y)[ok].astype(int), np.asarray(scores)[ok]
    g = None if groups is None else np.asarray(groups)[ok]
    w = bootstrap_weights(len(y), n_boot, stream(seed, "bootstrap"), g)
    recall_grid = np.linspace(0, 1, 101)

    def roc_at(weights):
        fpr, tpr, _ = roc_curve(y, scores, sample_weight=weights)
        return np.interp(FPR_GRID, fpr, tpr)

    def pr_at(weights):
        prec, rec, _ = precision_recall_curve(y, scores, sample_weight=weights)
        return np.interp(recall_grid, rec[::-1], prec[::-1])

    reps_roc, reps_pr = [], []
    for row in w:
        keep = row > 0
        if len(np.unique(y[keep])) < 2:
            continue
        reps_roc.append(roc_at(row))
        reps_pr.append(pr_at(row))
    return {
        "roc": {"fpr": FPR_GRID.tolist(), "tpr": roc_at(None).tolist(),
                "tpr_low": np.percentile(reps_roc, 2.5, axis=0).tolist(),
                "tpr_high": np.percentile(reps_roc, 97.5, axis=0).tolist()},
        "pr": {"recall": recall_grid.tolist(), "precision": pr_at(None).tolist(),
               "precision_low": np.percentile(reps_pr, 2.5, axis=0).tolist(),
               "precision_high": np.percentile(reps_pr, 97.5, axis=0).tolist(),
               "prevalence": float(y.mean())},
    }


def confusion_with_intervals(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None, seed: int = 0,
                             threshold: float = 0.5, n_boot: int = 1000) -> dict[str, Any]:
    """Confusion matrix at ``threshold`` and the true-positive / true-negative rates with 95% intervals."""
    ok = np.isfinite(scores)
    y, pred = np.asarray(y)[ok].astype(int), (np.asarray(scores)[ok] >= threshold).astype(int)
    g = None if groups is None else np.asarray(groups)[ok]
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    w = bootstrap_weights(len(y), n_boot, stream(seed, "bootstrap"), g)
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr_b = (w * (y == 1) * (pred == 1)).sum(1) / (w * (y == 1)).sum(1)
        tnr_b = (w * (y == 0) * (pred == 0)).sum(1) / (w * (y == 0)).sum(1)
    out = {"threshold": threshold, "matrix": [[int(tn), int(fp)], [int(fn), int(tp)]], "n": int(len(y))}
    for name, point, reps in (("tpr", tp / max(1, tp + fn), tpr_b), ("tnr", tn / max(1, tn + fp), tnr_b)):
        reps = reps[np.isfinite(reps)]
        out[name] = {"estimate": float(point), "ci_low": float(np.percentile(reps, 2.5)),
                     "ci_high": float(np.percentile(reps, 97.5))}
    return out


def holdout_scores(X: np.ndarray, y: np.ndarray, groups: np.ndarray, make_model: Callable[[], Any],
                   test_size: float = 0.25, seed: int = 0) -> tuple[np.ndarray, Any]:
    """Scores on one identity-grouped held-out split (NaN for training images) and the fitted model."""
    split = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(split.split(X, y, groups))
    model = make_model()
    model.fit(X[train], y[train], **fit_groups(model, np.asarray(groups)[train]))
    scores = np.full(len(y), np.nan)
    scores[test] = model.predict_score(X[test])
    return scores, model


def fit_groups(model, groups: np.ndarray) -> dict[str, Any]:
    """``{"groups": groups}`` for models whose ``fit`` splits off its own validation set (the torch
    models), so that split is by identity; ``{}`` for models that take no groups."""
    import inspect

    return {"groups": groups} if "groups" in inspect.signature(model.fit).parameters else {}


def repeated_cv_scores(X: np.ndarray, y: np.ndarray, groups: np.ndarray, make_model: Callable[[], Any],
                       folds: int = 5, repeats: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Out-of-fold scores of ``repeats`` identity-grouped, label-stratified K-fold runs.

    Returns one ``(scores, fold_of_image)`` per repeat; folds are drawn by
    :func:`~artifactual.analyses.stats.identity_folds` from ``stream(seed, "folds", r)``.

    >>> from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig
    >>> rng = np.random.default_rng(0); y = np.repeat([0, 1], 20); X = rng.integers(0, 255, (40, 8, 8)).astype(np.uint8)
    >>> runs = repeated_cv_scores(X, y, np.arange(40), lambda: PixelLogReg(PixelLogRegConfig(side=8)), 4, 2)
    >>> len(runs), runs[0][0].shape, sorted(np.bincount(runs[0][1]).tolist())
    (2, (40,), [10, 10, 10, 10])
    """
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError(f"labels have a single class ({np.unique(y).tolist()}): nothing to separate")
    u = units(y, groups)
    out = []
    for r in range(repeats):
        fold = identity_folds(u.label, u.stratum, folds, stream(seed, "folds", r))[u.codes]
        scores = np.full(len(y), np.nan)
        for f in range(folds):
            train, test = fold != f, fold == f
            if len(np.unique(y[train])) == 2 and test.any():
                scores[test] = make_model().fit(X[train], y[train]).predict_score(X[test])
        out.append((scores, fold))
    return out


def fold_metrics(y: np.ndarray, runs: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-fold AUROC and average precision of :func:`repeated_cv_scores` runs (NaN: a fold lacks a class)."""
    out: dict[str, list[float]] = {"auroc": [], "average_precision": []}
    for scores, fold in runs:
        for f in np.unique(fold):
            m = (fold == f) & np.isfinite(scores)
            ones = np.ones((1, int(m.sum())))
            ok = len(np.unique(y[m])) == 2
            out["auroc"].append(float(weighted_auroc(y[m], scores[m], ones)[0]) if ok else np.nan)
            out["average_precision"].append(float(weighted_average_precision(y[m], scores[m], ones)[0]) if ok else np.nan)
    return {k: np.array(v) for k, v in out.items()}


class _OnFeatures:
    """A model fitted and scored on rows of features its family's ``prepare`` already made (see :func:`prepared`)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, F: np.ndarray, y: np.ndarray) -> "_OnFeatures":
        self.model.fit(F, y, prepared=True)
        return self

    def predict_score(self, F: np.ndarray) -> np.ndarray:
        return self.model.predict_score(F, prepared=True)

    def trainable_params(self) -> int:
        return int(self.model.trainable_params())


def prepared(X: np.ndarray, make_model: Callable[[], Any]) -> tuple[np.ndarray, Callable[[], Any]]:
    """``X`` through the model family's per-image feature step once, and a factory of models that take its
    rows; unchanged for a family without one (``prepare``). The step is label-free and per image, so every
    fold's fit sees exactly the features it computed for itself before (pixel_logreg: bit for bit, tested).

    >>> from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig
    >>> F, make = prepared(np.zeros((3, 16, 16), np.uint8), lambda: PixelLogReg(PixelLogRegConfig(side=8)))
    >>> F.shape, make().trainable_params()
    ((3, 64), 65)
    """
    proto = make_model()
    if not callable(getattr(proto, "prepare", None)):
        return X, make_model
    return proto.prepare(X), lambda: _OnFeatures(make_model())


def refit_null_draws(X: np.ndarray, y: np.ndarray, groups: np.ndarray, make_model: Callable[[], Any], folds: int,
                     draws: int, seed: int) -> dict[str, np.ndarray]:
    """Mean fold AUROC and AP of ``draws`` whole cross-validations refitted under identity-label permutations."""
    u = units(y, groups)
    rng = stream(seed, "permutations")
    out: dict[str, list[float]] = {"auroc": [], "average_precision": []}
    for i in range(draws):
        yp = permuted_labels(u, np.asarray(y).astype(int), rng)
        m = fold_metrics(yp, repeated_cv_scores(X, yp, groups, make_model, folds, 1, seed + 100_003 * (i + 1)))
        for k in out:
            out[k].append(float(np.nanmean(m[k])))
    return {k: np.array(v) for k, v in out.items()}


def headline_model(name: str, X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int = 0,
                   protocol: str = "cv", make_model: Callable[[], Any] | None = None, repeats: int = 5,
                   interval_draws: int = 20, folds: int = 5) -> dict[str, Any]:
    """AUROC, AP, confusion matrix and curves (all with 95% intervals) for one registered model.

    ``cv``: ``repeats`` x ``folds`` identity-grouped CV; the estimate is the mean test-fold metric and
    its interval is estimate +- 1.96 SD of ``interval_draws`` whole cross-validations refitted under
    identity-label permutations (:func:`~artifactual.analyses.refit.null_sd_interval`); curves and the
    confusion matrix come from the first repeat's out-of-fold scores. ``holdout``: one identity-grouped
    75/25 split; intervals resample the held-out identities (valid for this one trained model, whose
    test identities are independent of its training), and the p-value permutes the held-out
    identities' labels over its scores (valid for one model on a hold-out). The CV models' p-value
    (``screening_permutation_p``) permutes labels over fixed out-of-fold scores: a screening number
    only, which no rule reads (it rejects about twice as often as it should under the null).
    """
    make_model = make_model or (lambda: MODELS.get(name)(seed=seed))
    y = np.asarray(y).astype(int)
    if protocol == "cv":
        X, make_model = prepared(X, make_model)  # 125 fits on the same images: their features once
        runs = repeated_cv_scores(X, y, groups, make_model, folds, repeats, seed)
        per_fold = fold_metrics(y, runs)
        null = refit_null_draws(X, y, groups, make_model, folds, interval_draws, seed)
        scores, fitted = runs[0][0], make_model()
        split = f"identity-grouped {folds}-fold CV repeated {repeats} times"
        metrics = {}
        for k in ("auroc", "average_precision"):
            est = float(np.nanmean(per_fold[k]))
            metrics[k] = (est, *null_sd_interval(est, null[k]))
        ok = np.isfinite(scores)
        p, _ = permutation_test_auroc(y[ok], scores[ok], seed=seed,
                                      groups=groups[ok] if one_label_per_group(y[ok], groups[ok]) else None)
        tests = {"screening_permutation_p": p,
                 "screening_note": "labels permuted over fixed out-of-fold scores: screening only, read by no rule",
                 "interval": f"estimate +- 1.96 SD of {interval_draws} cross-validations refitted under "
                             "identity-label permutation"}
    else:
        scores, fitted = holdout_scores(X, y, groups, make_model, seed=seed)
        split = "one identity-grouped 75/25 hold-out split"
        a = auroc_estimate(y, scores, groups, seed, test=True)
        ap = auroc_estimate(y, scores, groups, seed, metric="average_precision")
        metrics = {"auroc": (a.estimate, a.ci_low, a.ci_high), "average_precision": (ap.estimate, ap.ci_low, ap.ci_high)}
        tests = {"permutation_p": a.p_value,
                 "interval": "identity bootstrap of the held-out scores (this trained model)"}
    n = int(np.isfinite(scores).sum())
    return {
        "name": name, "protocol": split, "n": n, "trainable_params": int(fitted.trainable_params()),
        "auroc": metrics["auroc"][0], "auroc_ci": list(metrics["auroc"][1:]),
        "average_precision": metrics["average_precision"][0],
        "average_precision_ci": list(metrics["average_precision"][1:]), **tests,
        "confusion": confusion_with_intervals(y, scores, groups, seed),
        "curves": curves_with_bands(y, scores, groups, seed=seed),
        "_scores": scores,
    }
