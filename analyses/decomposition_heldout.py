"""The decomposition's held-out parts (analyses.decomposition): d, controlled confounding, and e, the
capture swap on one trained headline model. Both train the headline model once per setting and resample
the held-out identities of that model for their intervals.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np
from PIL import Image

from artifactual.analyses.audit_data import AuditData, pipeline_from_raw
from artifactual.analyses.checks import nothing_to_learn
from artifactual.analyses.decomposition import LEVELS, degenerate, headline_factory, mixed_sources
from artifactual.analyses.refit import auroc
from artifactual.analyses.stats import bootstrap_weights, stream, units, weighted_auroc


# -- d. controlled confounding ---------------------------------------------------------------------

HIGH, LOW = "high", "low"  # the two sides of the mixed sources: higher and lower share of class-1 identities


def _sides(y: np.ndarray, groups: np.ndarray, source: np.ndarray, sources: list[str]) -> dict[str, str]:
    """Mixed sources split in two halves by their share of class-1 identities: side ``high`` and side ``low``.

    (Not "A" and "B": those are often the user's own class names.)

    >>> sorted(_sides(np.array([1, 1, 0, 0, 0, 1]), np.arange(6), np.array(list("ssswww")), ["s", "w"]).items())
    [('s', 'high'), ('w', 'low')]
    """
    rate = {s: units(y[source == s], groups[source == s]).label.mean() for s in sources}
    order = sorted(sources, key=lambda s: (rate[s], s))
    half = len(order) // 2
    return {s: (LOW if i < half else HIGH) for i, s in enumerate(order)}


def _draw(cells: dict[tuple[str, int], np.ndarray], n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Identities for a set with ``n`` per class at P(label | side) = p: class 1 takes round(p n) from
    side high, class 0 round(p n) from side low, the rest from the other side."""
    k = int(round(p * n))
    parts = [rng.choice(cells[(HIGH, 1)], k, replace=False), rng.choice(cells[(LOW, 1)], n - k, replace=False),
             rng.choice(cells[(LOW, 0)], k, replace=False), rng.choice(cells[(HIGH, 0)], n - k, replace=False)]
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
    why = nothing_to_learn(d.X)
    if why:
        return degenerate(why)
    side_of = _sides(y, d.groups, d.source, sources)
    make_model = make_model or headline_factory(d.X, seed)
    u = units(y, d.groups)
    side = np.array([side_of.get(s, "") for s in d.source])
    id_side = np.empty(u.n_id, object)
    id_side[u.codes] = side
    rng = stream(seed, "confounding")
    train_cells, test_cells = {}, {}
    for sd in (HIGH, LOW):
        for c in (0, 1):
            ids = rng.permutation(np.flatnonzero((id_side == sd) & (u.label == c)))
            cut = int(round(train_fraction * len(ids)))
            train_cells[(sd, c)], test_cells[(sd, c)] = ids[:cut], ids[cut:]
    tr = {k: len(v) for k, v in train_cells.items()}
    te = {k: len(v) for k, v in test_cells.items()}
    n = int(min(tr[(HIGH, 1)], tr[(LOW, 0)], 2 * tr[(LOW, 1)], 2 * tr[(HIGH, 0)]))
    m = int(min(te.values()))
    if n < minimum or m < max(2, minimum // 2):
        return {"status": "too_small", "reason": f"{n} training identities per class and {m} test identities per "
                                                 f"(side, class) cell; needs {minimum} and {max(2, minimum // 2)}",
                "sides": side_of, "sides_are": _sides_are(d)}
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
        row: dict[str, Any] = {"association": p, "n_train_identities_per_class": n}
        boots = {}
        for name, mask in (("balanced", balanced), ("same", same), ("reversed", rev)):
            sub = mask[pool]
            boots[name] = weighted_auroc(y[pool], score, wts * sub)
            row[name] = {"estimate": auroc(y[pool][sub], score[sub]), "ci": _pct(boots[name]), "n": int(mask.sum())}
        row["inflation"] = {"estimate": row["same"]["estimate"] - row["balanced"]["estimate"],
                            "ci": _pct(boots["same"] - boots["balanced"]), "n": int((same | balanced).sum())}
        rows.append(row)
    cls1 = u.label == 1
    observed = float(((id_side == HIGH) & cls1).sum() / max(1, (np.isin(id_side, [HIGH, LOW]) & cls1).sum()))
    return {"status": "ok", "sides": side_of, "sides_are": _sides_are(d), "levels": rows, "n_test_identities_per_cell": m,
            "observed_association": observed,
            "method": "one identity split per (side, class) cell, 70% training; one model per association level; "
                      f"95% intervals: {n_boot} bootstraps of the held-out identities of that model"}


def _sides_are(d: AuditData) -> str:
    """What the ``sides`` of :func:`controlled_confounding` mean, naming the classes as the user does."""
    names = d.label_values or {0: "0", 1: "1"}
    return (f"the mixed sources split in two halves by their share of class {names[1]!r} (positive) identities: "
            f"{HIGH!r} holds the higher share, {LOW!r} the lower; P(label | source) is the share of class "
            f"{names[1]!r} on side {HIGH!r} and of class {names[0]!r} on side {LOW!r}")


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
    why = nothing_to_learn(d.X[train])
    if why:
        return degenerate(why.replace("every image", "every training image"))
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
               "auroc_after": {"estimate": a1, "ci": _pct(b1), "n": int(len(test))},
               "auroc_change": {"estimate": a1 - a0, "ci": _pct(b1 - b0), "n": int(len(test))}}
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
