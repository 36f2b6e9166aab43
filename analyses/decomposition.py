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
d. **controlled confounding** (:func:`controlled_confounding`, as Zech et al. 2018): with two or more
   sources that hold both classes, training sets drawn from the same identities at
   P(label | source) = 0.5 ... 1.0, each model tested on a source-balanced, a same-association and a
   reversed-association test set of held-out identities. Inflation = same-association minus balanced AUROC.
e. **capture swap** (:func:`capture_swap`, DeGrave et al. 2021's reasoning): one trained headline
   model; every held-out image is given class A's capture (class B's images get a new capture; class
   A's are re-captured the same way, the control), then class B's. Flip rate: the share of
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

import io
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np
from PIL import Image

from artifactual.analyses.audit_data import AuditData, pipeline_from_raw
from artifactual.analyses.refit import auroc, null_sd_interval
from artifactual.analyses.stats import bootstrap_weights, identity_folds, permuted_labels, stream, units, weighted_auroc
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


# -- d. controlled confounding ---------------------------------------------------------------------

def _sides(y: np.ndarray, groups: np.ndarray, source: np.ndarray, sources: list[str]) -> dict[str, str]:
    """Mixed sources split in two halves by their share of class-1 identities: side A (higher) and B."""
    rate = {s: units(y[source == s], groups[source == s]).label.mean() for s in sources}
    order = sorted(sources, key=lambda s: (rate[s], s))
    half = len(order) // 2
    return {s: ("B" if i < half else "A") for i, s in enumerate(order)}


def _draw(cells: dict[tuple[str, int], np.ndarray], n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Identities for a set with ``n`` per class at P(label | side) = p: class 1 takes round(p n) from
    side A, class 0 round(p n) from side B, the rest from the other side."""
    k = int(round(p * n))
    parts = [rng.choice(cells[("A", 1)], k, replace=False), rng.choice(cells[("B", 1)], n - k, replace=False),
             rng.choice(cells[("B", 0)], k, replace=False), rng.choice(cells[("A", 0)], n - k, replace=False)]
    return np.concatenate(parts)


def controlled_confounding(d: AuditData, minimum: int, n_boot: int, seed: int,
                           make_model: Callable[[], Any] | None = None, levels: tuple[float, ...] = LEVELS,
                           train_fraction: float = 0.7) -> dict[str, Any]:
    """Quantity d: the headline model retrained at each association level, tested source-balanced,
    at the same association and reversed; inflation = same - balanced, each with a 95% interval."""
    y = np.asarray(d.y).astype(int)
    sources = mixed_sources(y, d.groups, d.source, 2)
    if len(sources) < 2:
        return {"status": "not_applicable", "reason": "needs two or more sources that each hold both classes"}
    side_of = _sides(y, d.groups, d.source, sources)
    make_model = make_model or headline_factory(d.X, seed)
    u = units(y, d.groups)
    side = np.array([side_of.get(s, "") for s in d.source])
    id_side = np.empty(u.n_id, object)
    id_side[u.codes] = side
    rng = stream(seed, "confounding")
    train_cells, test_cells = {}, {}
    for sd in ("A", "B"):
        for c in (0, 1):
            ids = rng.permutation(np.flatnonzero((id_side == sd) & (u.label == c)))
            cut = int(round(train_fraction * len(ids)))
            train_cells[(sd, c)], test_cells[(sd, c)] = ids[:cut], ids[cut:]
    tr = {k: len(v) for k, v in train_cells.items()}
    te = {k: len(v) for k, v in test_cells.items()}
    n = int(min(tr[("A", 1)], tr[("B", 0)], 2 * tr[("B", 1)], 2 * tr[("A", 0)]))
    m = int(min(te.values()))
    if n < minimum or m < max(2, minimum // 2):
        return {"status": "too_small", "reason": f"{n} training identities per class and {m} test identities per "
                                                 f"(side, class) cell; needs {minimum} and {max(2, minimum // 2)}",
                "sides": side_of}
    in_set = lambda ids: np.isin(u.codes, ids)  # noqa: E731
    pool = in_set(np.concatenate(list(test_cells.values())))
    balanced = in_set(_draw(test_cells, m, 0.5, rng))
    wts = bootstrap_weights(int(pool.sum()), n_boot, stream(seed, "bootstrap", 8), d.groups[pool])
    rows = []
    for p in levels:
        train = in_set(_draw(train_cells, n, p, rng))
        model = make_model().fit(d.X[train], y[train])
        score = model.predict_score(d.X[pool])
        same = balanced if p == 0.5 else in_set(_draw(test_cells, m, p, rng))
        rev = balanced if p == 0.5 else in_set(_draw(test_cells, m, 1 - p, rng))
        res = {}
        for name, mask in (("balanced", balanced), ("same", same), ("reversed", rev)):
            sub = mask[pool]
            est = auroc(y[pool][sub], score[sub])
            boot = weighted_auroc(y[pool], score, wts * sub)
            res[name] = (est, boot)
        infl = res["same"][0] - res["balanced"][0]
        b_infl = res["same"][1] - res["balanced"][1]
        rows.append({"association": p, "n_train_identities_per_class": n,
                     **{k: {"estimate": v[0], "ci": _pct(v[1]), "n": int((mask_of(k, balanced, same, rev)).sum())}
                        for k, v in res.items()},
                     "inflation": {"estimate": infl, "ci": _pct(b_infl)}})
    cls1 = u.label == 1
    observed = float(((id_side == "A") & cls1).sum() / max(1, (np.isin(id_side, ["A", "B"]) & cls1).sum()))
    return {"status": "ok", "sides": side_of, "levels": rows, "n_test_identities_per_cell": m,
            "observed_association": observed,
            "method": "one identity split per (side, class) cell, 70% training; one model per association level; "
                      f"95% intervals: {n_boot} bootstraps of the held-out identities of that model"}


def mask_of(name: str, balanced: np.ndarray, same: np.ndarray, rev: np.ndarray) -> np.ndarray:
    return {"balanced": balanced, "same": same, "reversed": rev}[name]


def _pct(b: np.ndarray) -> list[float]:
    b = np.asarray(b, float)
    b = b[np.isfinite(b)]
    return [float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))] if len(b) else [np.nan, np.nan]


# -- e. capture swap on the trained headline model ---------------------------------------------------

@dataclass(frozen=True)
class CaptureProfile:
    """One class's typical capture, measured on its training images (medians)."""

    grey: bool
    side: int  # effective resolution in the raw frame (as analyses.checks.ablations.common_floor)
    jpeg_quality: int | None
    frame_fraction: float
    luminance_mean: float
    luminance_std: float

    @classmethod
    def of(cls, raw: np.ndarray, properties, raw_side: int) -> "CaptureProfile":
        grey = np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) if x.ndim == 3 else x for x in raw]).astype(float)
        longer = np.maximum(properties["width"].to_numpy(float), properties["height"].to_numpy(float))
        q = np.nanmedian(properties["jpeg_quality"].to_numpy(float)) if properties["jpeg_quality"].notna().any() else np.nan
        f = float(np.nanmedian(properties["border_fraction"].to_numpy(float)))
        return cls(grey=bool(np.nanmedian(properties["is_greyscale"].to_numpy(float)) >= 0.5),
                   side=int(max(8, min(raw_side, np.nanmedian(longer)))),
                   jpeg_quality=None if np.isnan(q) else int(np.clip(q, 1, 100)),
                   frame_fraction=float(np.clip((1 - np.sqrt(1 - min(f, 1.0))) / 2, 0, 0.25)) if f > 0.01 else 0.0,
                   luminance_mean=float(np.median(grey.mean((1, 2)))),
                   luminance_std=float(np.median(grey.std((1, 2)))))


def apply_profile(px: np.ndarray, prof: CaptureProfile) -> np.ndarray:
    """Give one uint8 RGB raw image ``prof``'s capture: exposure (mean and contrast), colour, resolution, frame, JPEG.

    >>> prof = CaptureProfile(grey=True, side=16, jpeg_quality=50, frame_fraction=0.1, luminance_mean=100, luminance_std=20)
    >>> out = apply_profile(np.random.default_rng(0).integers(0, 255, (32, 32, 3)).astype(np.uint8), prof)
    >>> out.shape, out.dtype.name, bool((out[..., 0] == out[..., 1]).all())
    ((32, 32, 3), 'uint8', True)
    """
    x = px.astype(np.float64)
    g = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY).astype(np.float64)
    a = prof.luminance_std / max(g.std(), 1.0)
    x = (x - g.mean()) * a + prof.luminance_mean
    if prof.grey:
        x = np.repeat(((g - g.mean()) * a + prof.luminance_mean)[..., None], 3, axis=2)
    out = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    side = out.shape[0]
    if prof.side < side:
        small = cv2.resize(out, (prof.side, prof.side), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (side, side), interpolation=cv2.INTER_LINEAR)
    k = int(round(prof.frame_fraction * side))
    if k:
        out[:k], out[-k:], out[:, :k], out[:, -k:] = 255, 255, 255, 255
    if prof.jpeg_quality:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=prof.jpeg_quality)
        out = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return np.ascontiguousarray(out)


def capture_swap(d: AuditData, n_boot: int, seed: int, make_model: Callable[[], Any] | None = None,
                 test_size: float = 0.25) -> dict[str, Any]:
    """Quantity e: one headline model, every held-out image given class 0's capture, then class 1's:
    flip rates of the moved class and of the control class, AUROC before and after, paired change."""
    from sklearn.model_selection import GroupShuffleSplit

    y = np.asarray(d.y).astype(int)
    train, test = next(GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed).split(d.X, y, d.groups))
    if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2:
        return {"status": "not_applicable", "reason": "the held-out identities hold one class only"}
    make_model = make_model or headline_factory(d.X, seed)
    model = make_model().fit(d.X[train], y[train])
    before = model.predict_score(d.X[test])
    yt, gt = y[test], d.groups[test]
    wts = bootstrap_weights(len(test), n_boot, stream(seed, "bootstrap", 9), gt)
    a0, b0 = auroc(yt, before), weighted_auroc(yt, before, wts)
    names = d.label_values or {0: "0", 1: "1"}
    out = {"status": "ok", "n_test": int(len(test)), "auroc_before": {"estimate": a0, "ci": _pct(b0), "n": int(len(test))},
           "swaps": []}
    for target in (0, 1):
        tr_t = train[y[train] == target]
        prof = CaptureProfile.of(d.raw[tr_t], d.properties.iloc[tr_t], d.raw.shape[1])
        moved = np.stack([apply_profile(px, prof) for px in d.raw[test]])
        after = model.predict_score(pipeline_from_raw(moved, d.boxes[test], d.preprocess))
        flip = ((before >= 0.5) != (after >= 0.5)).astype(float)
        a1, b1 = auroc(yt, after), weighted_auroc(yt, after, wts)
        row = {"target_capture": names[target], "profile": prof.__dict__,
               "auroc_after": {"estimate": a1, "ci": _pct(b1)},
               "auroc_change": {"estimate": a1 - a0, "ci": _pct(b1 - b0)}}
        if a0 > 0.5:  # the share of the AUROC above chance that the new capture removes: a lower bound on the source's
            with np.errstate(invalid="ignore", divide="ignore"):
                bs = np.clip((b0 - b1) / (b0 - 0.5), 0, 1)
            row["share_removed"] = {"estimate": float(np.clip((a0 - a1) / (a0 - 0.5), 0, 1)), "ci": _pct(bs),
                                    "n": int(len(test))}
        for who, c in (("moved", 1 - target), ("control", target)):
            m = yt == c
            wm = wts[:, m]
            with np.errstate(invalid="ignore", divide="ignore"):  # a replicate without this class: NaN, dropped
                b_flip = (wm * flip[m]).sum(1) / wm.sum(1)
            row[f"flip_rate_{who}"] = {"estimate": float(flip[m].mean()), "class": names[c], "n": int(m.sum()),
                                       "ci": _pct(b_flip)}
        out["swaps"].append(row)
    out["method"] = ("one identity-grouped hold-out split (25%); the capture profile of each class measured on its "
                     "training images; prediction threshold 0.5; intervals: bootstraps of held-out identities")
    return out


# -- f. harmonised headline ---------------------------------------------------------------------------

def harmonised_headline(d: AuditData, folds: int, repeats: int, draws: int, seed: int,
                        make_model: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Quantity f: the headline model retrained and tested on images at the common capture floor."""
    from artifactual.analyses.checks.ablations import common_floor
    from artifactual.analyses.evaluate import headline_model
    from artifactual.replication.capture import apply_floor

    floor = common_floor(d.properties, d.source, d.raw.shape[1])
    Xh = pipeline_from_raw(np.stack([apply_floor(x, floor) for x in d.raw]), d.boxes, d.preprocess)
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


PARTS: dict[str, Callable[..., dict[str, Any]]] = {
    "within_source": _part_within,
    "controlled_confounding": lambda d, audit, head: controlled_confounding(d, audit.min_identities, audit.n_boot,
                                                                            audit.seed),
    "capture_swap": lambda d, audit, head: capture_swap(d, audit.n_boot, audit.seed),
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
