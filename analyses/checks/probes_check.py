"""Check c: non-facial image properties alone predict the label.

All properties together: the ridge probe (analyses.refit) on the standardised property table,
repeated identity-grouped CV (descriptive: luminance and contrast include the face, so the verdict reads
analyses.checks.capture_check instead). Each
property alone (descriptive): its AUROC when its direction is chosen on the training folds and
applied to the test fold, so a property that does not separate the classes scores about 0.5 and
not above it; plus the Kolmogorov-Smirnov distance between the classes' distributions as an effect
size (no p-value: a KS test over images would treat one person's photos as independent). No fixed
outlier thresholds: they miss moderate shifts of a whole distribution.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, probe
from artifactual.analyses.refit import auroc, permutation_sd_interval
from artifactual.analyses.stats import identity_folds, stream, units
from artifactual.replication.models.pixel_logreg import one_blas_thread


class PropertyModel:
    """Standardised properties -> logistic regression (NaNs imputed by the training median).

    >>> X = np.array([[0.0], [1.0], [np.nan], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> m = PropertyModel().fit(X, y)
    >>> m.trainable_params(), bool(m.predict_score(np.array([[5.0]]))[0] > 0.5)
    (2, True)
    """

    def __init__(self) -> None:
        self.pipe = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                                  LogisticRegression(max_iter=2000))

    def fit(self, X, y):
        with one_blas_thread():
            self.pipe.fit(X, y)
        return self

    def predict_score(self, X):
        with one_blas_thread():
            return self.pipe.predict_proba(X)[:, 1]

    def trainable_params(self) -> int:
        return int(self.pipe[-1].coef_.size + 1)


def oriented_auroc(v: np.ndarray, y: np.ndarray, groups: np.ndarray, folds: int, repeats: int, seed: int,
                   interval_draws: int = 0) -> tuple[float, float, float, str]:
    """One property's AUROC with its direction chosen on training folds (repeated identity-grouped CV).

    Returns the mean test-fold AUROC, its interval and the direction most often chosen. A property
    with no signal lands near 0.5, not above it. The interval is the estimate +- 1.96 SD of the same
    computation (one repeat) under ``interval_draws`` identity-label permutations, as every interval
    of the audit (analyses.refit.null_sd_interval); NaN without draws.

    >>> rng = np.random.default_rng(0); y = np.repeat([0, 1], 50)
    >>> est, lo, hi, direction = oriented_auroc(rng.normal(size=100) - 2 * y, y, np.arange(100), 5, 3, 0, 50)
    >>> round(est, 2), direction, lo < est < hi
    (0.94, 'lower', True)
    """
    u = units(y, groups)

    def run(yy: np.ndarray, reps: int) -> tuple[list[float], int]:
        lab = u.majority(yy)
        per_fold, ups = [], 0
        for r in range(reps):
            fold = identity_folds(lab, u.stratum, folds, stream(seed, "folds", r))[u.codes]
            for f in range(folds):
                tr, te = fold != f, fold == f
                up = np.mean(v[tr][yy[tr] == 1]) >= np.mean(v[tr][yy[tr] == 0])
                ups += up
                per_fold.append(auroc(yy[te], v[te] if up else -v[te]))
        return per_fold, ups

    per_fold, ups = run(np.asarray(y).astype(int), repeats)
    est = float(np.nanmean(per_fold))
    lo = hi = float("nan")
    if interval_draws:
        lo, hi = permutation_sd_interval(est, lambda yp: float(np.nanmean(run(yp, 1)[0])), y, groups,
                                         interval_draws, seed)
    return est, lo, hi, "higher" if ups * 2 >= len(per_fold) else "lower"


@CHECKS.register("image_properties")
def image_properties_check(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    props = d.properties
    per = []
    for col in props.columns:
        v = props[col].to_numpy(float)
        ok = np.isfinite(v)
        if ok.sum() < 4 or len(np.unique(d.y[ok])) < 2 or np.nanstd(v) == 0:
            per.append({"property": col, "auroc": None, "direction": None, "n": int(ok.sum())})
            continue
        est, lo, hi, up = oriented_auroc(v[ok], d.y[ok], d.groups[ok], cfg.folds, cfg.repeats, cfg.seed,
                                         cfg.interval_draws)
        a0, a1 = v[ok & (d.y == 0)], v[ok & (d.y == 1)]
        per.append({"property": col, "auroc": est, "ci_low": lo, "ci_high": hi,
                    "direction": f"{up} in class {d.label_values[1]!r}",
                    "ks_distance": float(ks_2samp(a0, a1).statistic), "n": int(ok.sum()),
                    "quantiles_class0": np.percentile(a0, [5, 25, 50, 75, 95]).tolist(),
                    "quantiles_class1": np.percentile(a1, [5, 25, 50, 75, 95]).tolist()})
    r = probe(props.to_numpy(float), d.y, d.groups, cfg)
    best = max((row for row in per if row["auroc"] is not None), key=lambda row: row["auroc"], default=None)
    reading = (f"{len(props.columns)} non-facial properties together predict the label with AUROC "
               f"{fmt(r) if not r.too_small else 'n/a'}"
               + (f"; the strongest alone is {best['property']} ({best['auroc']:.3f}, {best['direction']}, direction "
                  "chosen on training folds)" if best else ""))
    return [CheckResult.from_probe("image_properties", "auroc (all properties, ridge probe)", r, reading,
                                   min_identities=cfg.min_identities, per_property=per)]
