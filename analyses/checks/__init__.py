"""The audit battery: registered, named checks of what a classifier reads.

Each check takes :class:`~artifactual.analyses.audit_data.AuditData` and an
:class:`~artifactual.analyses.audit_data.AuditConfig` and returns one or more
:class:`CheckResult` rows: metric, estimate, 95% interval, p-value where it is a test, n, and a
one-line reading. Holm's correction is applied across every p-value of the battery afterwards.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from artifactual.analyses.evaluate import auroc_estimate, oof_scores
from artifactual.analyses.stats import Estimate
from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig
from artifactual.replication.registry import Registry


@dataclass
class CheckResult:
    name: str
    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    reading: str
    p_value: float | None = None
    p_holm: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_estimate(cls, name: str, metric: str, est: Estimate, reading: str, **details: Any) -> "CheckResult":
        return cls(name, metric, est.estimate, est.ci_low, est.ci_high, est.n, reading, est.p_value, None, details)

    @classmethod
    def not_applicable(cls, name: str, metric: str, why: str, n: int = 0) -> "CheckResult":
        return cls(name, metric, float("nan"), float("nan"), float("nan"), n, f"not applicable: {why}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CHECKS: Registry[Callable[..., list[CheckResult]]] = Registry("check")


def lr_factory(X: np.ndarray, seed: int) -> Callable[[], PixelLogReg]:
    """The battery's probe classifier: logistic regression on pixels (at most 32x32)."""
    side = min(32, X.shape[1])
    return lambda: PixelLogReg(PixelLogRegConfig(side=side), seed=seed)


def image_auroc(X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int, folds: int = 5,
                test: bool = True) -> tuple[Estimate, np.ndarray]:
    """Identity-grouped out-of-fold AUROC of pixel logistic regression on ``X``."""
    scores = oof_scores(X, y, groups, lr_factory(X, seed), folds=folds, seed=seed)
    return auroc_estimate(y, scores, groups, seed, test=test), scores


def fmt(est: Estimate | CheckResult) -> str:
    e = est.estimate
    return f"{e:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}]"


from artifactual.analyses.checks import ablations, dose_response, leakage, probes_check, source  # noqa: E402,F401
