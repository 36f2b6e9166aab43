"""Multi-class metrics of frame classifiers with intervals that resample VIDEOS, not frames.

Frames of one surveillance video are near copies of each other, so the independent unit is the video: every
interval here comes from a bootstrap that redraws whole videos, stratified by class so each replicate keeps
every class that was tested (with two test videos in a class, an interval describes those two cameras, and
the summary prints ``n_videos`` beside it). scikit-learn has the point metrics (``accuracy_score``,
``f1_score``, ``confusion_matrix``; the tests check ours against them) but no clustered, weighted bootstrap,
so the replicates are computed here, vectorised: one (draws x frames) weight matrix, all metrics at once.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from artifactual.analyses.stats import bootstrap_p_two_sided, stream


def video_weights(classes: np.ndarray, videos: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_frames) weights: within each class its videos are redrawn with replacement (multinomial).

    >>> classes = np.array([0, 0, 0, 1, 1])
    >>> videos = np.array(["a", "a", "b", "c", "c"])
    >>> w = video_weights(classes, videos, 4, np.random.default_rng(0))
    >>> w.shape, bool((w[:, 0] == w[:, 1]).all()), bool((w[:, 3] == 1).all())  # c is class 1's only video
    ((4, 5), True, True)
    """
    classes, videos = np.asarray(classes), np.asarray(videos).astype(str)
    codes, uniq = pd.factorize(pd.Series(videos))
    counts = np.zeros((n_boot, len(uniq)))
    video_class = pd.Series(classes).groupby(codes).first().to_numpy()
    for c in np.unique(video_class):
        members = np.flatnonzero(video_class == c)
        counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)), size=n_boot)
    return counts[:, codes]


def _rates(W: np.ndarray, y: np.ndarray, pred: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Accuracy, per-class recall/precision/F1, macro-F1 and the row-normalised confusion matrix for every
    weight row of ``W`` (NaN where a rate has no denominator)."""
    Y = np.eye(k)[y]
    P = np.eye(k)[pred]
    correct = (y == pred).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = (W @ correct) / W.sum(1)
        support = W @ Y  # (draws, k)
        recall = (W @ (Y * correct[:, None])) / support
        predicted = W @ P
        # a class never predicted has precision 0 (scikit-learn's zero_division=0)
        precision = np.where(predicted > 0, (W @ (P * correct[:, None])) / np.where(predicted > 0, predicted, 1),
                             np.where(support > 0, 0.0, np.nan))
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        f1 = np.where(support > 0, f1, np.nan)
        macro = np.nanmean(np.where(support > 0, f1, np.nan), axis=1)
        confusion = np.einsum("bn,na,nc->bac", W, Y, P) / support[:, :, None]
    return {"accuracy": acc, "recall": recall, "precision": precision, "f1": f1, "macro_f1": macro,
            "confusion": confusion}


def _interval(point: float, reps: np.ndarray) -> dict[str, float | None]:
    reps = reps[np.isfinite(reps)]
    if not np.isfinite(point):
        return {"estimate": None, "ci_low": None, "ci_high": None}
    lo, hi = np.percentile(reps, [2.5, 97.5]) if len(reps) else (None, None)
    return {"estimate": float(point), "ci_low": None if lo is None else float(lo),
            "ci_high": None if hi is None else float(hi)}


def class_metrics(y: np.ndarray, pred: np.ndarray, videos: np.ndarray, class_names: Sequence[str],
                  n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class recall ("accuracy per class", the seed's words), precision and F1, and the
    confusion matrix, each with a 95% video-bootstrap interval, the frame and video counts.

    Examples
    --------
    >>> y = np.repeat([0, 1], 50)
    >>> pred = y.copy(); pred[:10] = 1
    >>> m = class_metrics(y, pred, np.repeat(list("abcdefghij"), 10), ["a", "b"], n_boot=200)
    >>> m["accuracy"]["estimate"], m["n_frames"], m["n_videos"], m["per_class"][0]["recall"]["estimate"]
    (0.9, 100, 10, 0.8)
    """
    y, pred, videos = np.asarray(y, int), np.asarray(pred, int), np.asarray(videos).astype(str)
    k = len(class_names)
    point = _rates(np.ones((1, len(y))), y, pred, k)
    reps = _rates(video_weights(y, videos, n_boot, stream(seed, "video-bootstrap")), y, pred, k)
    per_class = []
    for c, name in enumerate(class_names):
        tested = y == c
        per_class.append({"class": name, "n_frames": int(tested.sum()), "n_videos": int(len(np.unique(videos[tested]))),
                          **{m: _interval(point[m][0, c], reps[m][:, c]) for m in ("recall", "precision", "f1")}})
    confusion = [[_interval(point["confusion"][0, a, b], reps["confusion"][:, a, b]) for b in range(k)]
                 for a in range(k)]
    return {"accuracy": _interval(point["accuracy"][0], reps["accuracy"]),
            "macro_f1": _interval(point["macro_f1"][0], reps["macro_f1"]),
            "per_class": per_class, "confusion": confusion, "classes": list(class_names),
            "n_frames": int(len(y)), "n_videos": int(len(np.unique(videos))), "n_boot": n_boot,
            "unit": "video (bootstrap within class)"}


def accuracy_difference(a: dict[str, np.ndarray], b: dict[str, np.ndarray], n_boot: int = 2000,
                        seed: int = 0) -> dict[str, Any]:
    """Accuracy of ``a`` minus accuracy of ``b`` (each ``{"y", "pred", "videos"}``) with a video-bootstrap
    interval and two-sided p. On the same frames the two share every bootstrap draw (paired); on different
    frames (two hold-out splits) the draws are independent.

    >>> y = np.repeat([0, 1], 40); v = np.repeat(list("abcdefgh"), 10)
    >>> good, bad = y.copy(), y.copy(); bad[::2] = 1 - bad[::2]
    >>> d = accuracy_difference({"y": y, "pred": good, "videos": v}, {"y": y, "pred": bad, "videos": v}, 500)
    >>> d["estimate"], d["paired"], d["ci_low"] > 0
    (0.5, True, True)
    """
    same = len(a["y"]) == len(b["y"]) and bool(np.array_equal(a["videos"], b["videos"])) and \
        bool(np.array_equal(a["y"], b["y"]))
    rng = stream(seed, "video-bootstrap-difference")

    def acc(d, W):
        return (W @ (np.asarray(d["y"]) == np.asarray(d["pred"])).astype(float)) / W.sum(1)

    Wa = video_weights(a["y"], a["videos"], n_boot, rng)
    Wb = Wa if same else video_weights(b["y"], b["videos"], n_boot, rng)
    point = float(acc(a, np.ones((1, len(a["y"]))))[0] - acc(b, np.ones((1, len(b["y"]))))[0])
    reps = acc(a, Wa) - acc(b, Wb)
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return {"estimate": point, "ci_low": float(lo), "ci_high": float(hi), "p_value": bootstrap_p_two_sided(reps),
            "paired": same, "n_frames": [int(len(a["y"])), int(len(b["y"]))],
            "n_videos": [int(len(np.unique(a["videos"]))), int(len(np.unique(b["videos"])))]}
