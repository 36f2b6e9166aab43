"""Comparing two models fairly: the same tuning budget, then a paired difference read against a margin.

Seed 000 credits its number to a frozen "universal" transformer; the question a reviewer asks is
whether a cheap model does as well. Two things make that comparison unfair if left alone:

- Tuning. A model swept over three learning rates with early stopping, set against one left at a
  fixed setting, wins by its budget. :func:`tune` gives every model the same small budget: the
  same number of candidate settings, fitted on the same training images, early-stopped (where the
  model trains by epochs) and chosen on the same identity-grouped validation split by the same
  criterion (validation log loss). The budget travels with the result.
- Reading. Two unpaired intervals that overlap say little: with ~180 test images nearly any two
  models "overlap". The models score the same test images, so :func:`paired_auroc_difference`
  bootstraps the AUROC difference over identities (one weight row serves both models), and
  :func:`equivalence_reading` says "matches" only when the whole interval lies inside a margin
  stated in advance, "a_better"/"b_better" when it excludes 0 and leaves the margin, and
  "cannot_tell" otherwise.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
from sklearn.metrics import log_loss

from .stats import N_BOOT, bootstrap_weights, stream, weighted_auroc

#: Equivalence margin on the AUROC scale: two models "match" when their paired difference lies
#: within +-0.03, about the half-width of one model's interval on ~180 test images.
MARGIN = 0.03

READINGS = ("matches", "a_better", "b_better", "cannot_tell")


def paired_auroc_difference(y: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, groups: np.ndarray | None,
                            level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> dict[str, Any]:
    """AUROC(a) - AUROC(b) on the same test items, with a paired percentile bootstrap interval.

    ``groups`` (identities) are resampled whole; a replicate where a class vanished is dropped.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 100)
    >>> a, b = y + rng.normal(0, 0.5, 200), y + rng.normal(0, 2, 200)
    >>> d = paired_auroc_difference(y, a, b, groups=np.arange(200), n_boot=400)
    >>> round(d["difference"], 2), d["ci_low"] > 0, d["n"], d["units"]
    (0.22, True, 200, 200)
    """
    y = np.asarray(y).astype(int)
    ones = np.ones((1, len(y)))
    point = float(weighted_auroc(y, score_a, ones)[0] - weighted_auroc(y, score_b, ones)[0])
    w = bootstrap_weights(len(y), n_boot, stream(seed, "paired difference"), groups)
    d = weighted_auroc(y, score_a, w) - weighted_auroc(y, score_b, w)
    d = d[np.isfinite(d)]
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(d, [tail, 100 - tail])
    return {"difference": point, "ci_low": float(lo), "ci_high": float(hi), "level": level, "n": int(len(y)),
            "units": int(len(np.unique(groups))) if groups is not None else int(len(y)), "n_boot": int(len(d))}


def equivalence_reading(ci_low: float, ci_high: float, margin: float = MARGIN) -> str:
    """Read an interval of a difference a - b against an equivalence margin.

    "matches": the whole interval inside (-margin, margin), even if it also excludes 0 (a difference
    too small to matter); "a_better" / "b_better": the interval excludes 0 and reaches past the
    margin; "cannot_tell": it contains 0 but reaches past the margin.

    Examples
    --------
    >>> [equivalence_reading(lo, hi, 0.03) for lo, hi in [(-0.02, 0.025), (0.01, 0.08), (-0.09, -0.04), (-0.05, 0.02)]]
    ['matches', 'a_better', 'b_better', 'cannot_tell']
    """
    if -margin < ci_low and ci_high < margin:
        return "matches"
    if ci_low > 0:
        return "a_better"
    if ci_high < 0:
        return "b_better"
    return "cannot_tell"


@dataclass(frozen=True)
class TuningBudget:
    """The budget every compared model gets; it is saved with the result.

    ``candidates`` settings per model (a learning rate for networks, C for logistic regression),
    each trained for at most ``max_epochs`` with early stopping after ``patience`` epochs without a
    better validation loss (networks keep their best-validation weights), all fitted on the same
    training images and chosen by the least log loss on the same identity-grouped validation split.
    """

    candidates: int = 3
    max_epochs: int = 6  # CPU: 3 x 6 epochs of the FPT on ~360 images is ~5 minutes here
    patience: int = 2
    val_fraction: float = 0.15
    criterion: str = "validation log loss"

    def __post_init__(self) -> None:
        if self.candidates < 1 or self.max_epochs < 1 or self.patience < 0 or not 0 < self.val_fraction < 1:
            raise ValueError(f"TuningBudget needs candidates >= 1, max_epochs >= 1, patience >= 0 and "
                             f"0 < val_fraction < 1; got {self}")


def _fit(model, X, y, X_val, y_val):
    """Models that early-stop take the validation split; the others only ever see the training part."""
    if "X_val" in inspect.signature(model.fit).parameters:
        return model.fit(X, y, X_val=X_val, y_val=y_val)
    return model.fit(X, y)


def tune(make: Callable[[Any], Any], settings: Sequence[Any], X: np.ndarray, y: np.ndarray,
         fit_idx: np.ndarray, val_idx: np.ndarray) -> tuple[Any, list[dict[str, Any]]]:
    """Fit one model per setting on ``fit_idx``, pick the least validation log loss on ``val_idx``.

    Returns the chosen (already fitted) model and one row per candidate. The chosen model is not
    refitted on the validation images: every compared model then sees exactly the same training set.

    Examples
    --------
    >>> from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig
    >>> rng = np.random.default_rng(0); y = np.repeat([0, 1], 40)
    >>> X = (rng.normal(100, 20, (80, 8, 8)) + 30 * y[:, None, None]).clip(0, 255).astype(np.uint8)
    >>> m, rows = tune(lambda C: PixelLogReg(PixelLogRegConfig(side=8, C=C)), (1e-4, 1e-2, 1.0), X, y,
    ...                np.arange(0, 80, 2), np.arange(1, 80, 2))
    >>> [r["setting"] for r in rows], sum(r["chosen"] for r in rows)
    ([0.0001, 0.01, 1.0], 1)
    """
    y = np.asarray(y).astype(int)
    rows, best = [], None
    for setting in settings:
        model = _fit(make(setting), X[fit_idx], y[fit_idx], X[val_idx], y[val_idx])
        p = np.clip(model.predict_score(X[val_idx]), 1e-7, 1 - 1e-7)
        loss = float(log_loss(y[val_idx], p, labels=[0, 1]))
        rows.append({"setting": setting, "val_log_loss": loss, "chosen": False})
        if best is None or loss < best[0]:
            best = (loss, model, len(rows) - 1)
    rows[best[2]]["chosen"] = True
    return best[1], rows
