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
``status: too_small`` with its counts instead of a number. A check whose inputs hold nothing to learn
from (every image identical, every feature constant, so every score ties) reports ``status:
degenerate`` with the reason instead of a number: AUROC 0.500 [0.500, 0.500] from constant scores is
not a measurement, and no verdict may read it as one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from artifactual.analyses.audit_data import AuditConfig
from artifactual.analyses.refit import ProbeResult, probe_auroc
from artifactual.analyses.stats import Estimate, units
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
    >>> r = CheckResult.degenerate("blur_ablation", "auroc", "every image is identical after preprocessing", 64)
    >>> r.status, r.counts_for_verdict(), r.reading
    ('degenerate', False, 'degenerate: every image is identical after preprocessing, so there is nothing to learn from')
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
    status: str = "ok"  # ok | too_small | not_applicable | degenerate | failed
    expected: str | None = None  # controls: the outcome of correct code
    held: bool | None = None  # controls: whether it did

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"check {self.name!r}: role {self.role!r} is not one of {ROLES}")

    def counts_for_verdict(self) -> bool:
        """A confirmatory row with a number and a p-value (too_small, degenerate, failed and n/a rows never count)."""
        return self.role == "confirmatory" and self.status == "ok" and self.p_value is not None

    @classmethod
    def from_estimate(cls, name: str, metric: str, est: Estimate, reading: str, role: str = "descriptive",
                      **details: Any) -> "CheckResult":
        return cls(name, metric, est.estimate, est.ci_low, est.ci_high, est.n, reading, est.p_value, None, details,
                   role=role)

    @classmethod
    def from_probe(cls, name: str, metric: str, r: ProbeResult, reading: str, role: str = "descriptive",
                   min_identities: int = 0, **details: Any) -> "CheckResult":
        """A row from :func:`~artifactual.analyses.refit.probe_auroc` (``too_small`` when it was, ``degenerate``
        when its inputs held nothing to learn from or every score tied: see :func:`probe`)."""
        if r.too_small:
            return cls.too_small(name, metric, r.identities, min_identities, r.n, role)
        why = r.why if isinstance(r, DegenerateProbe) else constant_scores(r)
        if why:
            return cls.degenerate(name, metric, why, r.n, role)
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

    @classmethod
    def degenerate(cls, name: str, metric: str, why: str, n: int = 0, role: str = "descriptive") -> "CheckResult":
        """No number: the inputs hold nothing to learn from (``why`` says what), so any AUROC would be chance by
        construction, with an interval of width 0."""
        return cls(name, metric, float("nan"), float("nan"), float("nan"), n,
                   f"degenerate: {why}, so there is nothing to learn from", role=role, status="degenerate")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CHECKS: Registry[Callable[..., list[CheckResult]]] = Registry("check")


@dataclass
class DegenerateProbe(ProbeResult):
    """What :func:`probe` returns instead of fitting anything when its inputs hold nothing to learn from."""

    why: str = ""


def nothing_to_learn(X: np.ndarray) -> str | None:
    """Why a probe on ``X`` could learn nothing whatever the labels, or None when ``X`` varies.

    Images (n, H, W[, 3]) that are all the same picture, or a feature table (n, p) whose every column is
    constant (NaNs aside: the probe fills them with the column median).

    >>> nothing_to_learn(np.zeros((5, 4, 4), np.uint8))
    'every image is the same flat field of grey level 0 (black) after preprocessing'
    >>> nothing_to_learn(np.repeat(np.arange(16, dtype=np.uint8).reshape(1, 4, 4), 5, 0))
    'every image is identical after preprocessing'
    >>> nothing_to_learn(np.array([[1.0, np.nan], [1.0, 3.0]])), nothing_to_learn(np.array([[1.0, 2.0], [1.0, 3.0]]))
    ('every feature is constant across the images', None)
    """
    X = np.asarray(X)
    if len(X) == 0:
        return None
    if X.ndim == 2:  # a feature table
        F = X.astype(np.float64)
        finite = np.isfinite(F)
        lo, hi = np.where(finite, F, np.inf).min(0), np.where(finite, F, -np.inf).max(0)
        return None if (hi > lo).any() else "every feature is constant across the images"
    if not np.array_equal(X.min(0), X.max(0)):  # no (n, H, W) temporary: images can be many
        return None
    first = X[0]
    if first.min() == first.max():
        level = first.flat[0]
        return (f"every image is the same flat field of grey level {level:g}"
                + (" (black)" if level == 0 else "") + " after preprocessing")
    return "every image is identical after preprocessing"


def constant_scores(r: ProbeResult) -> str | None:
    """Why a fitted probe's number is no measurement: every test fold and every permuted refit gave AUROC
    exactly 0.5, the mark of scores that tie everywhere (inputs constant where the probe looks; a real
    signal or real noise moves some fold or some refit off 0.5). None otherwise.

    >>> r = ProbeResult(0.5, 0.5, 0.5, 40, {0: 20, 1: 20}, [0.5] * 10, null=[0.5] * 20)
    >>> constant_scores(r)
    "the probe's scores are constant: every test fold and every permuted refit gives AUROC 0.500"
    """
    folds, null = np.asarray(r.per_fold, float), np.asarray(r.null, float)
    if len(folds) < 2 or len(null) < 2 or not (np.isfinite(folds).all() and np.isfinite(null).all()):
        return None
    if (folds == 0.5).all() and (null == 0.5).all():
        return "the probe's scores are constant: every test fold and every permuted refit gives AUROC 0.500"
    return None


def probe(X: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: AuditConfig, test: bool = False,
          strata: np.ndarray | None = None) -> ProbeResult:
    """The battery's probe on images or a feature table: analyses.refit's ridge probe, repeated
    identity-grouped CV, the refit-permutation interval and (``test``) p-value, the minimum size.

    When ``X`` holds nothing to learn from (:func:`nothing_to_learn`) nothing is fitted: the result is a
    :class:`DegenerateProbe` (NaN, no p-value), which :meth:`CheckResult.from_probe` reports as ``degenerate``.
    Too few identities is said first: it is the reason that holds whatever the images.
    """
    why = nothing_to_learn(X)
    if why is None:
        return probe_auroc(X, y, groups, cfg.probe(), test=test, strata=strata, min_identities=cfg.min_identities)
    per_class = units(np.asarray(y).astype(int), groups, strata).per_class()
    nan = float("nan")
    if min(per_class.values()) < max(cfg.min_identities, 2):
        return ProbeResult(nan, nan, nan, len(y), per_class, [], too_small=True)
    return DegenerateProbe(nan, nan, nan, len(y), per_class, [], why=why)


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
