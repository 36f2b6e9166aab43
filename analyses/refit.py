"""The audit's probe and the statistics the verdict reads: repeated identity-grouped cross-validation,
an interval that carries the fitting variance, and a refit permutation test.

Why this module exists. Permuting labels over one fixed set of out-of-fold scores is not a valid
test: scores pooled from several fold models are not exchangeable, and on pure-noise images it
rejected at 0.095-0.113 instead of 0.05. A valid test reruns the whole procedure under every
permutation (Ojala & Garriga 2010, test 1). Doing that 1,000 times per check is affordable only
if one refit is cheap, so the probe is a linear model whose refit is a few small matrix products:

- **features**: images -> greyscale pixels at most 32x32 -> standardised -> PCA, whitened, to at
  most 32 components (``max_components``); a table of properties -> median-imputed, standardised.
  These steps never look at a label, so they are fitted once on all images: under a label
  permutation they are the same, and they cannot leak a label into a test fold.
- **probe**: ridge regression of the 0/1 label on the features (a least-squares linear
  discriminant). Each fold's fit is one k x k solve; the training Gram matrix is the total minus
  the test fold's. scikit-learn refits a model object per call, 100-1000x slower at this size.
- **folds**: identity-grouped and label-stratified (every image of a person in one fold; each fold
  gets its share of each class's identities, within each stratum when strata are given), redrawn
  for every repeat and for every permutation exactly as for the observed labels.

The statistic is the mean per-fold AUROC over ``repeats`` x ``folds`` test folds. Its interval is
the corrected repeated cross-validation t interval (Nadeau & Bengio 2003; Bouckaert & Frank 2004):
the spread of per-fold AUROCs, inflated by ``1/J + n_test/n_train`` for the overlap of training sets,
with J - 1 degrees of freedom. Per-fold AUROCs are computed on disjoint people, so their spread
already carries the clustering of images within a person, and refitting in every fold carries the
fitting variance that a bootstrap over one set of scores misses. Its coverage is measured, not
assumed: ``make calibrate`` (analyses/calibration.py).

The p-value is from the refit permutation test: labels move between whole identities (within
strata when given), the folds are redrawn and every fold is refitted; Besag & Clifford's (1991)
sequential rule stops once ``exceedances`` permuted statistics reach the observed one (then
p = h / l), else after ``max_perm`` permutations (then p = (1 + g) / (1 + max_perm)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy import stats as sps

from artifactual.analyses.stats import Units, identity_folds, permuted_labels, stream, units
from artifactual.replication.models.pixel_logreg import one_blas_thread, pixels_to_features


@dataclass(frozen=True)
class ProbeConfig:
    """Settings of the probe, its repeated cross-validation and its permutation test."""

    folds: int = 5
    repeats: int = 5  # R x K folds for the estimate and its interval
    test_repeats: int = 1  # folds per permutation: the test's statistic is the first repeat's mean fold AUROC
    max_components: int = 32
    pixel_side: int = 32
    ridge: float = 0.05  # penalty as a share of the training images (features are whitened: Z'Z ~ n I)
    max_perm: int = 1000
    exceedances: int = 10  # Besag & Clifford's h
    interval_draws: int = 100  # permuted refits behind the interval's SD (null_sd_interval)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.folds < 2 or self.repeats < 1 or self.test_repeats < 1:
            raise ValueError(f"folds must be >= 2 and repeats >= 1, got folds={self.folds}, repeats={self.repeats}")
        if self.max_perm < 1 or self.exceedances < 1:
            raise ValueError(f"max_perm and exceedances must be >= 1, got {self.max_perm}, {self.exceedances}")


# ---- features ---------------------------------------------------------------------------------

def probe_features(X: np.ndarray, cfg: ProbeConfig = ProbeConfig(), n_identities: int | None = None) -> np.ndarray:
    """Label-free features for the probe: (n, k) whitened principal components, or standardised columns.

    ``X`` is images (n, H, W[, 3]) on the 0-255 scale, or a feature table (n, p) whose NaNs are
    replaced by the column median. Components: at most ``max_components``, and at most a quarter of
    ``n_identities`` (fewer people than dimensions would let the probe memorise them).

    >>> Z = probe_features(np.random.default_rng(0).integers(0, 255, (50, 8, 8)).astype(np.uint8))
    >>> Z.shape, bool(np.allclose(Z.std(0), 1))
    ((50, 12), True)
    """
    X = np.asarray(X)
    n = len(X)
    cap = max(2, (n_identities or n) // 4)
    if X.ndim == 2:
        F = np.asarray(X, np.float64)
        finite = np.isfinite(F)
        # column medians of the finite values (a column with none gets 0, then has no spread)
        med = np.array([np.median(c[f]) if f.any() else 0.0 for c, f in zip(F.T, finite.T)])
        F = np.where(finite, F, med[None, :])
        if F.shape[1] <= min(cfg.max_components, cap):
            sd = F.std(0)
            return (F - F.mean(0)) / np.where(sd > 0, sd, 1.0)
    else:
        F = pixels_to_features(X, min(cfg.pixel_side, X.shape[1]))
    sd = F.std(0)
    F = (F - F.mean(0)) / np.where(sd > 0, sd, 1.0)
    k = int(min(cfg.max_components, cap, *F.shape))
    with one_blas_thread():
        # PCA by the SVD of the centred matrix (numpy's LAPACK): exact, and at most 1,024 columns here
        _, s, vt = np.linalg.svd(F, full_matrices=False)
    Z = F @ vt[:k].T
    sd = Z.std(0)
    return Z / np.where(sd > 0, sd, 1.0)


# ---- the probe under cross-validation ---------------------------------------------------------

class _Probe:
    """Precomputed sums that make one cross-validated refit a handful of k x k solves."""

    def __init__(self, Z: np.ndarray, u: Units, cfg: ProbeConfig) -> None:
        self.Z, self.u, self.cfg = np.asarray(Z, np.float64), u, cfg
        n, k = self.Z.shape
        # (n_id, n) sparse one-hot of identities: sums over each person's images in one product
        self.member = sparse.csr_matrix((np.ones(n), (u.codes, np.arange(n))), shape=(u.n_id, n))
        self.id_gram = self.member @ np.einsum("ni,nj->nij", self.Z, self.Z).reshape(n, k * k)
        self.id_sum = self.member @ self.Z
        self.id_count = u.sizes.astype(float)

    def fold_aurocs(self, y: np.ndarray, fold_of_id: np.ndarray) -> np.ndarray:
        """Per-fold test AUROC of the ridge probe trained on the other folds (NaN: a fold lacks a class)."""
        score, fold_img = self.scores(y, fold_of_id)
        return np.array([auroc(y[fold_img == f], score[fold_img == f]) for f in range(self.cfg.folds)])

    def scores(self, y: np.ndarray, fold_of_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-fold scores of every image (each from the fit without its fold) and each image's fold."""
        K, k = self.cfg.folds, self.Z.shape[1]
        onehot = np.zeros((K, self.u.n_id))
        onehot[fold_of_id, np.arange(self.u.n_id)] = 1.0
        fold_img = fold_of_id[self.u.codes]
        G_f = (onehot @ self.id_gram).reshape(K, k, k)
        s_f, c_f = onehot @ self.id_sum, onehot @ self.id_count
        t_f = onehot @ (self.member @ (self.Z * y[:, None]))
        ysum_f = onehot @ (self.member @ y.astype(float))
        G_tr, s_tr, c_tr = G_f.sum(0) - G_f, s_f.sum(0) - s_f, c_f.sum() - c_f
        t_tr, ysum_tr = t_f.sum(0) - t_f, ysum_f.sum() - ysum_f
        m = s_tr / c_tr[:, None]
        ybar = ysum_tr / c_tr
        A = G_tr - c_tr[:, None, None] * m[:, :, None] * m[:, None, :]
        A += (self.cfg.ridge * c_tr)[:, None, None] * np.eye(k)[None]
        b = t_tr - c_tr[:, None] * m * ybar[:, None]
        beta = np.linalg.solve(A, b[:, :, None])[:, :, 0]  # (K, k)
        return ybar[fold_img] + np.einsum("nk,nk->n", self.Z - m[fold_img], beta[fold_img]), fold_img

    def repeated(self, y: np.ndarray, repeats: int, seed: int, label: np.ndarray | None = None) -> np.ndarray:
        """(repeats, folds) per-fold AUROCs, folds redrawn per repeat from ``stream(seed, "folds", r)``."""
        lab = self.u.label if label is None else label
        return np.stack([self.fold_aurocs(y, identity_folds(lab, self.u.stratum, self.cfg.folds,
                                                            stream(seed, "folds", r)))
                         for r in range(repeats)])


def auroc(y: np.ndarray, score: np.ndarray) -> float:
    """AUROC by the Mann-Whitney U statistic (ties count one half); NaN without both classes.

    >>> auroc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y).astype(bool)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    score = np.asarray(score, float)
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    if np.any(score[order][1:] == score[order][:-1]):
        ranks = sps.rankdata(score)  # ties: average ranks
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def corrected_cv_interval(per_fold: np.ndarray, folds: int, level: float = 0.95,
                          bounds: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float, float]:
    """Mean of per-fold metrics and its corrected repeated-CV t interval (Nadeau & Bengio 2003).

    Variance ``(1/J + n_test/n_train) s^2`` with ``n_test/n_train = 1/(folds - 1)`` and J the number
    of folds with a value; t with J - 1 degrees of freedom; clipped to ``bounds`` (AUROC's range by default).
    Descriptive only: in make calibrate it covered 0.84-0.94 (see :func:`null_sd_interval`).

    >>> m, lo, hi = corrected_cv_interval(np.array([0.6, 0.7, 0.8, 0.7, 0.7]), folds=5)
    >>> round(m, 3), round(lo, 3), round(hi, 3)
    (0.7, 0.568, 0.832)
    """
    v = np.asarray(per_fold, float).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if len(v) < 2:
        return mean, float("nan"), float("nan")
    var = (1.0 / len(v) + 1.0 / (folds - 1)) * v.var(ddof=1)
    half = float(sps.t.ppf(0.5 + level / 2, len(v) - 1) * np.sqrt(var))
    return mean, max(bounds[0], mean - half), min(bounds[1], mean + half)


def null_sd_interval(estimate: float, null: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """``estimate`` +- z x the SD of the statistic refitted under identity-label permutation, within [0, 1].

    Why this interval: a bootstrap over one set of out-of-fold scores misses the fitting variance
    (it covered 0.5 in 82-85% of null datasets), and the corrected repeated-CV t interval
    (:func:`corrected_cv_interval`) covered 0.84-0.94 in ours, because folds of a few dozen people
    are more correlated than its n_test/n_train rule assumes. Permuted refits reproduce every
    source of variance of the procedure: people, images within people, partitions and fitting.
    They do so exactly at AUROC 0.5, and AUROC's sampling variance is largest near 0.5 (Hanley &
    McNeil 1982), so away from it the interval errs wide, not narrow. Coverage in null and
    signal designs is measured by ``make calibrate``.

    >>> [round(v, 3) for v in null_sd_interval(0.8, np.array([0.4, 0.5, 0.6, 0.5]))]
    [0.64, 0.96]
    """
    sd = float(np.std(np.asarray(null, float), ddof=1))
    half = float(sps.norm.ppf(0.5 + level / 2)) * sd
    return round(max(0.0, estimate - half), 12), round(min(1.0, estimate + half), 12)


def permutation_sd_interval(estimate: float, statistic, y: np.ndarray, groups: np.ndarray, draws: int,
                            seed: int) -> tuple[float, float]:
    """:func:`null_sd_interval` for any statistic of the labels: ``statistic(permuted_y)`` recomputed
    (folds and all) under ``draws`` identity-label permutations.

    For the descriptive checks that are not the probe (a property alone, the source's class rate),
    so that every interval the audit reports is built the same way.

    >>> y = np.repeat([0, 1], 20)
    >>> lo, hi = permutation_sd_interval(0.9, lambda yp: float(yp[:10].mean()), y, np.arange(40), 50, 0)
    >>> 0.6 < lo < 0.9 < hi <= 1.0
    True
    """
    y = np.asarray(y).astype(int)
    u = units(y, groups)
    rng = stream(seed, "permutations")
    return null_sd_interval(estimate, np.array([statistic(permuted_labels(u, y, rng)) for _ in range(draws)]))


@dataclass
class ProbeResult:
    """A probe's cross-validated AUROC with its interval and, when tested, its refit permutation p."""

    estimate: float
    ci_low: float
    ci_high: float
    n: int
    identities: dict[int, int]
    per_fold: list[float]
    p_value: float | None = None
    permutations: int | None = None
    null: list[float] = field(default_factory=list)
    too_small: bool = False

    def details(self) -> dict[str, Any]:
        """What the interval and the test are, for the summary."""
        d: dict[str, Any] = {"identities_per_class": {str(k): v for k, v in self.identities.items()},
                             "folds_x_repeats": len(self.per_fold)}
        if self.null:
            d.update(interval=f"estimate +- 1.96 SD of {len(self.null)} refits under identity-label permutation",
                     null_sd=float(np.std(self.null, ddof=1)))
        if self.p_value is not None:
            d.update(permutations=self.permutations, test="refit permutation test between identities (Ojala & "
                     "Garriga 2010, test 1), Besag-Clifford sequential stop")
        return d


def probe_auroc(X: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: ProbeConfig = ProbeConfig(),
                test: bool = False, strata: np.ndarray | None = None, min_identities: int = 0,
                features: np.ndarray | None = None) -> ProbeResult:
    """Repeated identity-grouped CV AUROC of the ridge probe on ``X``, its interval and (``test``) refit p.

    ``strata`` (e.g. the source) stratify folds and restrict permutations to within each stratum:
    the null is then "no signal inside a stratum". Below ``min_identities`` per class nothing is
    fitted and the result says ``too_small``. ``features`` replaces :func:`probe_features` (when
    several checks share them).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 60); X = rng.normal(size=(120, 5)); X[:, 0] += 1.5 * y
    >>> r = probe_auroc(X, y, np.arange(120), ProbeConfig(max_perm=200), test=True)
    >>> round(r.estimate, 2), r.ci_low > 0.65, r.p_value < 0.01, r.permutations
    (0.85, True, True, 200)
    >>> probe_auroc(X, y, np.arange(120), min_identities=100).too_small
    True
    """
    y = np.asarray(y).astype(int)
    u = units(y, groups, strata)
    per_class = u.per_class()
    if min(per_class.values()) < max(min_identities, 2):
        return ProbeResult(float("nan"), float("nan"), float("nan"), len(y), per_class, [], too_small=True)
    with one_blas_thread():
        Z = probe_features(X, cfg, u.n_id) if features is None else features
        probe = _Probe(Z, u, cfg)
        per_fold = probe.repeated(y, cfg.repeats, cfg.seed)
        rng = stream(cfg.seed, "permutations")

        def draw() -> float:
            yp = permuted_labels(u, y, rng)
            lab = u.majority(yp)
            return float(np.nanmean(probe.repeated(yp, cfg.test_repeats, cfg.seed, lab)))

        p = used = None
        null: list[float] = []
        if test:
            p, used, null = sequential_p(float(np.nanmean(per_fold[:cfg.test_repeats])), draw, cfg.max_perm,
                                         cfg.exceedances)
        if strata is not None:
            # the test's null keeps the source signal (labels move only within a stratum), so its spread is
            # not the estimate's; the interval's SD comes from permutations across strata (no signal at all)
            u, null = units(y, groups), []
        # the interval's SD needs interval_draws refits whether or not the sequential test stopped early;
        # the extra draws come after the test's and do not change its p-value
        null += [draw() for _ in range(max(0, cfg.interval_draws - len(null)))]
    est = float(np.nanmean(per_fold))
    lo, hi = null_sd_interval(est, np.array(null))
    return ProbeResult(est, lo, hi, len(y), per_class, per_fold.ravel().tolist(), p, used, null)


def sequential_p(observed: float, draw, max_perm: int, h: int) -> tuple[float, int, list[float]]:
    """Besag & Clifford's (1991) sequential Monte Carlo p-value for "statistic >= observed".

    ``draw()`` returns one statistic under the null. Stops at the h-th null value >= observed
    (p = h / l after l draws), else after ``max_perm`` draws with g such values (p = (1 + g) / (1 + max_perm)).

    >>> it = iter(np.linspace(0, 1, 1000))
    >>> p, used, _ = sequential_p(0.5, lambda: next(it), 1000, 10)  # draws reach 0.5 from draw 501 on
    >>> used, round(p, 4)
    (510, 0.0196)
    """
    null, g = [], 0
    for i in range(1, max_perm + 1):
        v = draw()
        null.append(v)
        g += v >= observed - 1e-12
        if g >= h:
            return h / i, i, null
    return (1 + g) / (1 + max_perm), max_perm, null
