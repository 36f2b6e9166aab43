"""Intervals and tests used by every check: vectorised bootstrap, permutation tests, Holm.

Why by hand: fairlearn's MetricFrame bootstrap took 40 s where a vectorised one took 0.12 s on
2 metrics x 5 groups x 1,000 replicates. The trick here: sort scores once; each bootstrap
replicate is then just a weight vector (multinomial counts of images, or of identities for a
cluster bootstrap), and weighted AUROC / average precision are cumulative sums over the sorted
order, computed for all replicates at once. Point estimates equal scikit-learn's
``roc_auc_score`` and ``average_precision_score`` (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association

N_BOOT = 1000
N_PERM = 1000


@dataclass(frozen=True)
class Estimate:
    """A metric with its n, 95% interval and (for tests) a p-value."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float | None = None

    def as_dict(self) -> dict[str, float | int | None]:
        return {"estimate": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n,
                "p_value": self.p_value}


def _levels(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order that sorts ``score`` ascending, and the start index of each run of tied scores."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return order, starts


def weighted_auroc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUROC for each row of weights ``w`` (B, n); ties count one half (as scikit-learn)."""
    y = np.asarray(y).astype(bool)
    order, starts = _levels(np.asarray(score, float))
    w = np.atleast_2d(w)[:, order]
    ys = y[order]
    pos = np.add.reduceat(w * ys, starts, axis=1)
    neg = np.add.reduceat(w * ~ys, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    tot_p, tot_n = pos.sum(1), neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (below + 0.5 * neg)).sum(1) / (tot_p * tot_n)


def weighted_average_precision(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's step-wise definition) for each row of weights ``w``."""
    y = np.asarray(y).astype(bool)
    order, starts = _levels(-np.asarray(score, float))  # descending scores
    w = np.atleast_2d(w)[:, order]
    ys = y[order]
    pos = np.add.reduceat(w * ys, starts, axis=1)
    neg = np.add.reduceat(w * ~ys, starts, axis=1)
    tp, fp = np.cumsum(pos, 1), np.cumsum(neg, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        return (pos * precision).sum(1) / pos.sum(1)


def bootstrap_weights(n: int, n_boot: int, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """(n_boot, n) multinomial resampling weights; with ``groups``, whole groups are resampled."""
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    codes, uniq = pd.factorize(pd.Series(groups).astype(str))
    k = len(uniq)
    counts = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float)
    return counts[:, codes]


def bootstrap_p_two_sided(replicates: np.ndarray) -> float:
    """Two-sided p-value that a difference is zero, from its bootstrap replicates.

    Twice the smaller share of replicates at or beyond 0, with the add-one rule so it is never 0;
    undefined replicates (NaN) are dropped. SciPy's ``bootstrap`` gives intervals, not this.

    >>> round(bootstrap_p_two_sided(np.r_[np.full(999, 0.1), -0.1]), 4)  # 2 x (1 + 1) / 1001
    0.004
    """
    d = np.asarray(replicates, float)
    d = d[np.isfinite(d)]
    tail = min(np.sum(d <= 0), np.sum(d >= 0))
    return float(min(1.0, 2 * (1 + tail) / (1 + len(d))))


def bootstrap_metric(
    y: np.ndarray, score: np.ndarray, metric: str = "auroc", n_boot: int = N_BOOT, seed: int = 0,
    groups: np.ndarray | None = None,
) -> Estimate:
    """Point estimate and 95% percentile bootstrap interval of AUROC or average precision.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(200), np.ones(200)]
    >>> e = bootstrap_metric(y, y + rng.normal(0, 1, 400))
    >>> round(e.estimate, 2), e.ci_low < e.estimate < e.ci_high, e.n
    (0.74, True, 400)
    """
    fn = {"auroc": weighted_auroc, "average_precision": weighted_average_precision}[metric]
    y = np.asarray(y)
    point = float(fn(y, score, np.ones((1, len(y))))[0])
    w = bootstrap_weights(len(y), n_boot, np.random.default_rng(seed), groups)
    reps = fn(y, score, w)
    reps = reps[np.isfinite(reps)]  # a replicate with one class only has no AUROC
    lo, hi = np.percentile(reps, [2.5, 97.5]) if len(reps) else (np.nan, np.nan)
    return Estimate(point, float(lo), float(hi), int(len(y)))


def permutation_test_auroc(
    y: np.ndarray, score: np.ndarray, n_perm: int = N_PERM, seed: int = 0, groups: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """One-sided p-value that AUROC > 0.5 by permuting labels over fixed out-of-fold scores.

    Models are not refitted per permutation (the issue's rule: permute over out-of-fold scores).
    With ``groups`` (identities), labels are permuted between whole groups, which keeps the
    null honest when one person has many images; labels must then be constant within a group.
    Returns the p-value ``(1 + #{null >= observed}) / (1 + n_perm)`` and the null AUROCs.
    """
    y = np.asarray(y).astype(int)
    score = np.asarray(score, float)
    rng = np.random.default_rng(seed)
    obs = weighted_auroc(y, score, np.ones((1, len(y))))[0]
    if groups is None:
        perms = np.stack([rng.permutation(y) for _ in range(n_perm)])
    else:
        codes, uniq = pd.factorize(pd.Series(groups).astype(str))
        glab = pd.Series(y).groupby(codes).agg(["min", "max"])
        if (glab["min"] != glab["max"]).any():
            raise ValueError("group permutation needs one label per group; some identities carry both labels")
        g_y = glab["min"].to_numpy()
        perms = np.stack([rng.permutation(g_y)[codes] for _ in range(n_perm)])
    null = _auroc_many_labels(perms, score)
    p = (1 + np.sum(null >= obs - 1e-12)) / (1 + n_perm)
    return float(p), null


def _auroc_many_labels(labels: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUROC for each row of a (P, n) label matrix against one score vector (Mann-Whitney via ranks)."""
    ranks = pd.Series(score).rank(method="average").to_numpy()
    n_pos = labels.sum(1)
    n_neg = labels.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        return (labels @ ranks - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None entries are passed through).

    Written here because SciPy offers only Benjamini-Hochberg, and statsmodels would be a
    heavy dependency for six lines.

    >>> holm([0.01, 0.04, None, 0.03])
    [0.03, 0.06, None, 0.06]
    """
    idx = [i for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    m = len(idx)
    out: list[float | None] = list(p_values)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        out[i] = round(running, 12)
    return out


def cramers_v(a: Sequence, b: Sequence, n_boot: int = N_BOOT, seed: int = 0) -> Estimate:
    """Cramér's V between two categorical columns with a bootstrap interval and a chi-square p-value.

    Returns V = 0 with p = 1 when either column has a single level (no association is possible).
    The bootstrap is vectorised: each replicate's contingency table is its weights times a one-hot
    matrix of the cells.
    """
    ca, la = pd.factorize(pd.Series(np.asarray(a)).astype(str))
    cb, lb = pd.factorize(pd.Series(np.asarray(b)).astype(str))
    n, ka, kb = len(ca), len(la), len(lb)
    if ka < 2 or kb < 2:
        return Estimate(0.0, 0.0, 0.0, n, 1.0)
    table = np.bincount(ca * kb + cb, minlength=ka * kb).reshape(ka, kb)
    v = float(association(table, method="cramer"))
    p = float(chi2_contingency(table, correction=False).pvalue)
    w = bootstrap_weights(n, n_boot, np.random.default_rng(seed))
    onehot = np.zeros((n, ka * kb))
    onehot[np.arange(n), ca * kb + cb] = 1.0
    reps = _cramers_v_many((w @ onehot).reshape(n_boot, ka, kb))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return Estimate(v, float(lo), float(hi), n, p)


def _cramers_v_many(tables: np.ndarray) -> np.ndarray:
    """Cramér's V of each (ka, kb) table in a stack; rows/columns that are empty in a replicate are dropped."""
    out = np.empty(len(tables))
    for i, t in enumerate(tables):
        t = t[t.sum(1) > 0][:, t.sum(0) > 0]
        if min(t.shape) < 2:
            out[i] = 0.0
            continue
        n = t.sum()
        expected = t.sum(1, keepdims=True) * t.sum(0, keepdims=True) / n
        chi2 = ((t - expected) ** 2 / expected).sum()
        out[i] = np.sqrt(chi2 / (n * (min(t.shape) - 1)))
    return out
