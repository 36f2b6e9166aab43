"""The audit battery: registered, named checks of what a classifier reads.

Each check takes :class:`~artifactual.analyses.audit_data.AuditData` and an
:class:`~artifactual.analyses.audit_data.AuditConfig` and returns one or more
:class:`CheckResult` rows: metric, estimate, 95% interval, n, a one-line reading, and a role:

- ``confirmatory``: a hypothesis the verdict reads. Its p-value is a refit permutation test
  (analyses.refit) or an identity-permutation test; Holm's correction runs over these alone.
- ``control``: a positive or negative control, with the outcome ``expected`` of correct code and
  whether it ``held``. A control's p-value is reported unadjusted and no verdict reads it.
- ``descriptive``: an estimate with its interval, shown to explain; no p-value.

A probe check with fewer identities per class than ``AuditConfig.min_identities`` reports
``status: too_small`` with its counts instead of a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from artifactual.analyses.audit_data import AuditConfig
from artifactual.analyses.refit import ProbeResult, probe_auroc
from artifactual.analyses.stats import Estimate
from artifactual.replication.registry import Registry


ROLES = ("confirmatory", "control", "descriptive")


@dataclass
class CheckResult:
    """One row of the battery.

    >>> r = CheckResult("blur_ablation", "auroc", 0.9, 0.8, 1.0, 120, "reads", 0.01, role="confirmatory")
    >>> r.status, r.counts_for_verdict()
    ('ok', True)
    >>> CheckResult.too_small("blur_ablation", "auroc", {0: 4, 1: 30}, 10, 64).reading
    'too_small: 4 identities in class 0 and 30 in class 1, fewer than the minimum of 10 per class'
    """

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
    role: str = "descriptive"
    status: str = "ok"  # ok | too_small | not_applicable | failed
    expected: str | None = None  # controls: the outcome of correct code
    held: bool | None = None  # controls: whether it did

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"check {self.name!r}: role {self.role!r} is not one of {ROLES}")

    def counts_for_verdict(self) -> bool:
        """A confirmatory row with a number and a p-value (too_small, failed and n/a rows never count)."""
        return self.role == "confirmatory" and self.status == "ok" and self.p_value is not None

    @classmethod
    def from_estimate(cls, name: str, metric: str, est: Estimate, reading: str, role: str = "descriptive",
                      **details: Any) -> "CheckResult":
        return cls(name, metric, est.estimate, est.ci_low, est.ci_high, est.n, reading, est.p_value, None, details,
                   role=role)

    @classmethod
    def from_probe(cls, name: str, metric: str, r: ProbeResult, reading: str, role: str = "descriptive",
                   min_identities: int = 0, **details: Any) -> "CheckResult":
        """A row from :func:`~artifactual.analyses.refit.probe_auroc` (``too_small`` when it was)."""
        if r.too_small:
            return cls.too_small(name, metric, r.identities, min_identities, r.n, role)
        return cls(name, metric, r.estimate, r.ci_low, r.ci_high, r.n, reading, r.p_value, None,
                   {**r.details(), **details}, role=role)

    @classmethod
    def too_small(cls, name: str, metric: str, per_class: dict, minimum: int, n: int,
                  role: str = "descriptive") -> "CheckResult":
        counts = list(per_class.items())
        return cls(name, metric, float("nan"), float("nan"), float("nan"), n,
                   f"too_small: {counts[0][1]} identities in class {counts[0][0]} and {counts[1][1]} in class "
                   f"{counts[1][0]}, fewer than the minimum of {minimum} per class",
                   details={"identities_per_class": {str(k): v for k, v in per_class.items()}, "minimum": minimum},
                   role=role, status="too_small")

    @classmethod
    def not_applicable(cls, name: str, metric: str, why: str, n: int = 0, role: str = "descriptive") -> "CheckResult":
        return cls(name, metric, float("nan"), float("nan"), float("nan"), n, f"not applicable: {why}", role=role,
                   status="not_applicable")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CHECKS: Registry[Callable[..., list[CheckResult]]] = Registry("check")


def probe(X: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: AuditConfig, test: bool = False,
          strata: np.ndarray | None = None) -> ProbeResult:
    """The battery's probe on images or a feature table: analyses.refit's ridge probe, repeated
    identity-grouped CV, the refit-permutation interval and (``test``) p-value, the minimum size."""
    return probe_auroc(X, y, groups, cfg.probe(), test=test, strata=strata, min_identities=cfg.min_identities)


from artifactual.analyses.formatting import fmt_p  # noqa: E402,F401  (checks' readings use it)


def fmt(est: Estimate | CheckResult | ProbeResult) -> str:
    """``0.912 [0.850, 0.974]``.

    >>> fmt(Estimate(0.9124, 0.85, 0.974, 10))
    '0.912 [0.850, 0.974]'
    """
    e = est.estimate
    return f"{e:.3f} [{est.ci_low:.3f}, {est.ci_high:.3f}]"


from artifactual.analyses.checks import (ablations, capture_check, dose_response, leakage, probes_check,  # noqa: E402,F401
                                        source)
