"""How much of the headline the source explains: the headline model inside sources, under controlled
confounding, with the capture swapped, and on harmonised images.

The battery's probes ask whether the label is *available* from the source's traces. This module
asks what the headline model does with them. Every quantity uses the headline's own model family
(``pixel_logreg``: logistic regression on 32 x 32 grey pixels), retrained as described:

a. **within-source** (:func:`within_source`): repeated identity-grouped CV with folds stratified by
   source. From the same out-of-fold scores, the headline AUROC ``H`` (every positive-negative pair)
   and the within-source AUROC ``W`` (only pairs from the same source, pooled over every source that
   holds 2 or more identities of each class, which together must hold ``min_identities`` of each:
   P(score+ > score- | same source)).
   ``H - W`` is what comparing across sources adds; the **explained share** is
   ``(H - W) / (H - 0.5)``, the part of the headline's AUROC above chance that the source explains.
d. **controlled confounding** (:func:`~artifactual.analyses.decomposition_heldout.controlled_confounding`, as Zech et al. 2018): with two or more
   sources that hold both classes, training sets drawn from the same identities at
   P(label | source) = 0.5 ... 1.0, each model tested on a source-balanced, a same-association and a
   reversed-association test set of held-out identities. Inflation = same-association minus balanced AUROC.
e. **capture swap** (:func:`~artifactual.analyses.decomposition_heldout.capture_swap`, DeGrave et al. 2021's reasoning): one trained headline
   model; every held-out image is given class 0's capture (class 1's images get a new capture; class
   0's are re-captured the same way, the control), then class 1's. Flip rate: the share of
   predictions that change; AUROC change, paired. This shows whether the model USES the capture.
f. **harmonised headline** (:func:`harmonised_headline`): the headline model retrained and tested on
   images brought to the common capture floor (analyses.checks.ablations.common_floor).

Intervals: ``H`` and ``W`` (and the harmonised AUROC), estimate +- 1.96 SD of whole cross-validations
refitted under identity-label permutation, as every probe of the audit (analyses.refit). The gap and
the share, estimate +- 1.96 SD of whole cross-validations refitted on identity bootstrap samples (a
ratio has no permutation null, and a bootstrap of one set of out-of-fold scores misses the fitting
variance). Held-out quantities (d, e) resample the held-out
identities of one trained model. ``make calibrate`` measures the share's bias against a known truth.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from artifactual.analyses.audit_data import AuditData, pipeline_from_raw
from artifactual.analyses.checks import nothing_to_learn
from artifactual.analyses.refit import auroc, null_sd_interval
from artifactual.analyses.stats import identity_folds, permuted_labels, stream, units, weighted_auroc
from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig

LEVELS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # P(label | source) of the controlled training sets
Z95 = 1.959963984540054


def headline_factory(X: np.ndarray, seed: int) -> Callable[[], PixelLogReg]:
    """The headline model family on images of this size (32 x 32 pixels, or the images' side if smaller)."""
    return lambda: PixelLogReg(PixelLogRegConfig(side=min(32, X.shape[1])), seed=seed)


def mixed_sources(y: np.ndarray, groups: np.ndarray, source: np.ndarray, minimum: int) -> list[str]:
    """Sources that can be compared inside: each holds at least 2 identities of each class, and together
    they hold at least ``minimum`` identities of each class (else an empty list).

    >>> mixed_sources(np.array([0, 1, 1, 0, 1, 0, 1]), np.arange(7), np.array(list("aaaabbc")), 2)
    ['a']
    >>> mixed_sources(np.array([0, 1, 1, 0, 1, 0, 1]), np.arange(7), np.array(list("aaaabbc")), 3)
    []
    """
    source = np.asarray(source)
    out, total = [], np.zeros(2, int)
    for s in sorted(set(source.tolist())):
        m = source == s
        per = units(y[m], groups[m]).per_class()
        if min(per.values()) >= 2:
            out.append(s)
            total += [per[0], per[1]]
    return out if len(out) and total.min() >= max(1, minimum) else []


def within_source_auroc(y: np.ndarray, score: np.ndarray, source: np.ndarray, sources: list[str],
                        w: np.ndarray | None = None) -> np.ndarray:
    """P(score+ > score- | both from one source), pooled over ``sources``: each source's AUROC weighted by
    its number of positive-negative pairs. With weights ``w`` (B, n): one value per row.

    >>> y = np.array([0, 1, 0, 1]); s = np.array([0.1, 0.2, 0.8, 0.9]); src = np.array(["a", "a", "b", "b"])
    >>> float(within_source_auroc(y, s, src, ["a", "b"])[0]), auroc(y, s)
    (1.0, 0.75)
    """
    w = np.ones((1, len(y))) if w is None else np.atleast_2d(w)
    num = np.zeros(len(w))
    den = np.zeros(len(w))
    for s in sources:
        m = source == s
        if len(np.unique(y[m])) < 2:
            continue
        ws = w[:, m]
        pairs = (ws * (y[m] == 1)).sum(1) * (ws * (y[m] == 0)).sum(1)
        a = np.nan_to_num(weighted_auroc(y[m], score[m], ws))
        num += a * pairs
        den += pairs
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def degenerate(why: str, who: str = "the headline model") -> dict[str, Any]:
    """A part with no number: its inputs hold nothing to learn from (``why``), so any AUROC would be chance by
    construction, with an interval of width 0 that no rule may read.

    >>> degenerate("every image is identical after preprocessing")["reason"]
    'degenerate: every image is identical after preprocessing, so the headline model has nothing to learn from'
    """
    return {"status": "degenerate", "reason": f"degenerate: {why}, so {who} has nothing to learn from"}


def _interval(est: float, sd: float) -> list[float]:
    return [est - Z95 * sd, est + Z95 * sd]


def within_source(d: AuditData, folds: int, repeats: int, draws: int, minimum: int, seed: int,
                  make_model: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Quantity a: the headline ``H`` and within-source ``W`` AUROC from the same out-of-fold scores,
    the gap ``H - W`` and the explained share, each with n and a 95% interval; ``W`` per source too."""
    y = np.asarray(d.y).astype(int)
    sources = mixed_sources(y, d.groups, d.source, minimum)
    if not sources:
        return {"status": "not_applicable",
                "reason": f"no set of sources holding 2 or more identities of each class holds {minimum} of each in "
                          "all: inside a source the classes cannot be compared, so the label cannot be told apart "
                          "from the source"}
    why = nothing_to_learn(d.X)
    if why:
        return degenerate(why)
    make_model = make_model or headline_factory(d.X, seed)

    def run(idx: np.ndarray, yy: np.ndarray, reps: int, key: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """CV on the images ``idx`` (repeats allowed: a person drawn twice stays one person, in one fold)."""
        X, src = d.X[idx], d.source[idx]
        u = units(yy, d.groups[idx], strata=src)  # folds stratified by source and label
        lab = u.majority(yy)
        hs, ws, oof = [], [], []
        for r in range(reps):
            fold = identity_folds(lab, u.stratum, folds, stream(seed, "folds", key, r))[u.codes]
            scores = np.full(len(yy), np.nan)
            for f in range(folds):
                tr, te = fold != f, fold == f
                if len(np.unique(yy[tr])) < 2 or not te.any():
                    continue
                scores[te] = make_model().fit(X[tr], yy[tr]).predict_score(X[te])
                hs.append(auroc(yy[te], scores[te]))
                ws.append(float(within_source_auroc(yy[te], scores[te], src[te], sources)[0]))
            oof.append(scores)
        return np.array(hs), np.array(ws), oof

    every = np.arange(len(y))
    hs, ws, oof = run(every, y, repeats, 0)
    H, W = float(np.nanmean(hs)), float(np.nanmean(ws))
    # H and W: +- 1.96 SD of whole cross-validations refitted under identity-label permutation (no signal at all)
    u0 = units(y, d.groups)
    rng = stream(seed, "permutations", 7)
    null_h, null_w = [], []
    for i in range(draws):
        h0, w0, _ = run(every, permuted_labels(u0, y, rng), 1, i + 1)
        null_h.append(np.nanmean(h0))
        null_w.append(np.nanmean(w0))
    # gap and share: +- 1.96 SD of whole cross-validations refitted on identity bootstrap samples. A bootstrap of
    # one set of out-of-fold scores misses the fitting variance: it covered the true share in 0.68 of the grid's
    # datasets (make calibrate, first run); the refitted bootstrap carries people, partitions and fitting.
    brng = stream(seed, "bootstrap", 7)
    images_of = [np.flatnonzero(u0.codes == i) for i in range(u0.n_id)]
    bh, bw = [], []
    for i in range(draws):
        idx = np.concatenate([images_of[k] for k in brng.integers(0, u0.n_id, u0.n_id)])
        if len(mixed_sources(y[idx], d.groups[idx], d.source[idx], 2)) == 0:
            continue
        h1, w1, _ = run(idx, y[idx], 1, 10_000 + i)
        bh.append(np.nanmean(h1))
        bw.append(np.nanmean(w1))
    bh, bw = np.array(bh), np.array(bw)
    gap = H - W
    share = float(np.clip(gap / (H - 0.5), 0, 1)) if H > 0.5 else float("nan")  # bounded: W can fall below 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        b_share = (bh - bw) / (bh - 0.5)
    b_share = b_share[np.isfinite(b_share) & (bh > 0.5)]
    per_source = []
    for s in sources:
        m = d.source == s
        a = [auroc(y[m], sc[m]) for sc in oof]  # noqa: B023
        per_source.append({"source": s, "auroc": float(np.nanmean(a)), "n": int(m.sum()),
                           "identities_per_class": {str(k): v for k, v in units(y[m], d.groups[m]).per_class().items()}})
    n_in = int(np.isin(d.source, sources).sum())
    return {
        "status": "ok", "sources": sources,
        "headline": {"estimate": H, "ci": list(null_sd_interval(H, np.array(null_h))), "n": int(len(y))},
        "within_source": {"estimate": W, "ci": list(null_sd_interval(W, np.array(null_w))), "n": n_in},
        "gap": {"estimate": gap, "ci": _interval(gap, float(np.std(bh - bw, ddof=1))), "n": int(len(y))},
        "explained_share": {"estimate": share, "ci": ([max(0.0, share - Z95 * np.std(b_share, ddof=1)),
                                                       min(1.0, share + Z95 * np.std(b_share, ddof=1))]
                                                      if np.isfinite(share) and len(b_share) > 2 else [np.nan, np.nan]),
                            "n": int(len(y)), "basis": "within_source"},
        "per_source": per_source,
        "method": f"identity-grouped {folds}-fold CV repeated {repeats} times, folds stratified by source; H and W "
                  f"+- 1.96 SD of {draws} refitted cross-validations under identity-label permutation; gap and share "
                  f"+- 1.96 SD of {len(bh)} cross-validations refitted on identity bootstrap samples",
    }


# -- f. harmonised headline ---------------------------------------------------------------------------

def harmonised_headline(d: AuditData, folds: int, repeats: int, draws: int, seed: int,
                        make_model: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Quantity f: the headline model retrained and tested on images at the common capture floor."""
    from artifactual.analyses.checks.ablations import common_floor
    from artifactual.analyses.evaluate import headline_model
    from artifactual.replication.capture import apply_floor

    floor = common_floor(d.properties, d.source, d.raw.shape[1])
    Xh = pipeline_from_raw(np.stack([apply_floor(x, floor) for x in d.raw]), d.boxes, d.preprocess)
    why = nothing_to_learn(Xh)
    if why:
        return {**degenerate(f"at the common capture floor {why}"), "floor": floor.__dict__}
    res = headline_model("pixel_logreg", Xh, d.y, d.groups, seed, protocol="cv",
                         make_model=make_model or headline_factory(Xh, seed), repeats=repeats,
                         interval_draws=draws, folds=folds)
    return {"status": "ok", "floor": floor.__dict__, "auroc": {"estimate": res["auroc"], "ci": res["auroc_ci"],
                                                               "n": res["n"]},
            "method": res["protocol"] + "; " + res["interval"]}


# -- the parts, as units of a run folder ----------------------------------------------------------------

def _part_within(d, audit, head):
    return within_source(d, audit.folds, head.cv_repeats, head.interval_draws, audit.min_identities,
                         audit.seed)


def _part_confounding(d, audit, head):
    from artifactual.analyses.decomposition_heldout import controlled_confounding  # it imports this module

    return controlled_confounding(d, audit.min_identities, audit.n_boot, audit.seed)


def _part_swap(d, audit, head):
    from artifactual.analyses.decomposition_heldout import capture_swap

    return capture_swap(d, audit.n_boot, audit.seed)


PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "within_source": _part_within,
    "controlled_confounding": _part_confounding,
    "capture_swap": _part_swap,
    "harmonised": lambda d, audit, head: harmonised_headline(d, audit.folds, head.cv_repeats, head.interval_draws,
                                                             audit.seed),
}


#: Checks shown in the decomposition table beside the parts: the label from the source alone (b) and the
#: source-specific evidence (c): capture properties, the dilated face removed, the source within each class.
SOURCE_ROWS = ("label_from_source_alone", "capture_properties", "face_removed_dilated")


def summarise(parts: dict[str, dict[str, Any]], checks: list | None = None) -> dict[str, Any]:
    """The ``decomposition`` block of summary.json: every part, and the headline, within-source, balanced,
    harmonised, counterfactual flip rate and explained share side by side (each estimate, interval, n),
    with the source-only rows of ``checks`` (:data:`SOURCE_ROWS`, the source predictable within a class).

    The explained share comes from the within-source comparison where a source holds both classes;
    otherwise it is the lower bound that the capture swap gives (the largest share of the held-out AUROC
    above chance that giving every image one class's capture removes), labelled as such.
    """
    ws = parts.get("within_source", {})
    cc = parts.get("controlled_confounding", {})
    sw = parts.get("capture_swap", {})
    hm = parts.get("harmonised", {})
    table: dict[str, Any] = {}
    for c in checks or []:
        if c.status == "ok" and (c.name in SOURCE_ROWS or c.name.startswith("source_predictability_within_class")):
            table[c.name] = {"estimate": c.estimate, "ci": [c.ci_low, c.ci_high], "n": c.n}
    if ws.get("status") == "ok":
        table.update(headline=ws["headline"], within_source=ws["within_source"], gap=ws["gap"],
                     explained_share=ws["explained_share"])
    if cc.get("status") == "ok":
        near = min(cc["levels"], key=lambda r: abs(r["association"] - cc["observed_association"]))
        table["balanced"] = {**near["balanced"], "trained_at_association": near["association"]}
        table["inflation_at_observed_association"] = {**near["inflation"], "association": near["association"]}
    if hm.get("status") == "ok":
        table["harmonised"] = hm["auroc"]
    if sw.get("status") == "ok":
        worst = max(sw["swaps"], key=lambda r: r["flip_rate_moved"]["estimate"])
        table["counterfactual_flip_rate"] = {**worst["flip_rate_moved"], "target_capture": worst["target_capture"],
                                             "control": worst["flip_rate_control"]}
        removed = [r["share_removed"] for r in sw["swaps"] if "share_removed" in r]
        if "explained_share" not in table and removed:
            best = max(removed, key=lambda r: r["estimate"])
            table["explained_share"] = {**best, "basis": "capture_swap_lower_bound"}
    return {"table": table, "parts": parts}
