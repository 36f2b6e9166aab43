"""Check c: non-facial image properties alone predict the label.

Each property's AUROC (oriented so that 0.5 is chance and 1 is perfect, whichever direction the
property runs), all properties together (identity-grouped logistic regression), and the full
distributions by class compared with a two-sample Kolmogorov-Smirnov test, Holm-corrected
across properties. No fixed outlier thresholds: they miss moderate shifts of a whole distribution.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt
from artifactual.analyses.evaluate import auroc_estimate, oof_scores
from artifactual.analyses.stats import holm
from artifactual.replication.models.pixel_logreg import one_blas_thread


class PropertyModel:
    """Standardised properties -> logistic regression (NaNs imputed by the training median)."""

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


@CHECKS.register("image_properties")
def image_properties_check(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    props = d.properties
    per = []
    for col in props.columns:
        v = props[col].to_numpy(float)
        ok = np.isfinite(v)
        if ok.sum() < 4 or len(np.unique(d.y[ok])) < 2 or np.nanstd(v) == 0:
            per.append({"property": col, "auroc": None, "direction": None, "ks_p": None, "n": int(ok.sum())})
            continue
        est = auroc_estimate(d.y[ok], v[ok], d.groups[ok], cfg.seed)
        direction = "higher in class " + d.label_values[1 if est.estimate >= 0.5 else 0]
        flip = est.estimate < 0.5
        a0, a1 = v[ok & (d.y == 0)], v[ok & (d.y == 1)]
        ks = ks_2samp(a0, a1)
        per.append({"property": col, "auroc": 1 - est.estimate if flip else est.estimate,
                    "ci_low": 1 - est.ci_high if flip else est.ci_low, "ci_high": 1 - est.ci_low if flip else est.ci_high,
                    "direction": direction, "ks_statistic": float(ks.statistic), "ks_p": float(ks.pvalue),
                    "n": int(ok.sum()),
                    "quantiles_class0": np.percentile(a0, [5, 25, 50, 75, 95]).tolist(),
                    "quantiles_class1": np.percentile(a1, [5, 25, 50, 75, 95]).tolist()})
    for row, p in zip(per, holm([r["ks_p"] for r in per])):
        row["ks_p_holm"] = p
    X = props.to_numpy(float)
    scores = oof_scores(X, d.y, d.groups, PropertyModel, folds=cfg.folds, seed=cfg.seed)
    est = auroc_estimate(d.y, scores, d.groups, cfg.seed, test=True)
    best = max((r for r in per if r["auroc"] is not None), key=lambda r: r["auroc"], default=None)
    reading = (f"{len(props.columns)} non-facial properties together predict the label with AUROC {fmt(est)}"
               + (f"; the strongest alone is {best['property']} ({best['auroc']:.3f}, {best['direction']})" if best else ""))
    return [CheckResult.from_estimate("image_properties", "auroc (all properties, grouped CV)", est, reading,
                                      per_property=per)]
