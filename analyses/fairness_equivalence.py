"""Do subgroups differ, or are they equivalent? Deviations from the pooled rate, simultaneous bands, TOST.

``fairness.group_table`` used to call an attribute "similar" when the 95% interval of the max-min
accuracy spread over its groups ended below a margin. A maximum minus a minimum of noisy values
is biased upward: with 5 groups all truly at 0.90 accuracy the spread's point estimate was 0.052
at 200 items per group and 0.022 at 1,000, its interval covered 0 in none of 60 runs, and
"similar" came out 0% and 40% of the time (issue 13, item 7; our rerun: 0.051, 0.021, 0 of 60,
0 and 47% of 60). This module replaces that rule.

For every attribute with at least two groups of ``min_n`` items, and for every such group ``g``:

- **deviations** ``d_g = metric_g - metric_pooled`` for accuracy, TPR (recall of class 1) and TNR
  (recall of class 0), the pooled rate taken over the attribute's eligible groups. TPR and TNR
  are there because accuracy parity depends on each group's class mix: two groups can share an
  accuracy while one has its errors all on one class.
- **simultaneous 95% bands**: a studentized bootstrap max-|t| band over ONE family, every
  defined deviation in the table (attribute x group x metric). With ``t*_b = (d*_b - d) / se*_b``
  for each deviation (``se*_b`` its delta-method SE within replicate b), ``c`` is the 95%
  quantile over replicates of the family's largest ``|t*_b|``, and each band is ``d +- c * se``;
  all bands cover their true deviations together with about 95% probability. The single-step
  adjusted p for "d = 0" is the share of replicates whose largest ``|t*|`` reaches ``|d / se|``
  (add-one rule). An attribute "differs" when one of its bands excludes 0.
- **equivalence (TOST)** against the stated margin: for each deviation, two one-sided tests of
  ``d <= -margin`` and ``d >= margin``; an attribute is "similar" only if every one of its
  deviations is inside the margin (intersection-union: the attribute's p is the largest TOST p),
  with Holm's correction across the attributes of the table. The margin bounds each group
  against the pool, so two groups may sit up to about twice the margin apart.

The replicates ``d*_b`` come from the caller's weight matrix (``stats.bootstrap_weights``): the
same rows that give every other interval of the table, so when the table resamples clusters
(identities) these tests do too, and the SEs sum influences over clusters. Without clusters the
unit is the image, and ``UNIT_IMAGES`` says what that costs.

Measured (tests/analyses/test_fairness.py, 400 simulated tables each, 5 groups): all at accuracy 0.90,
"differs" in 5.5%, 4.75% and 3.25% at 100, 200 and 1,000 items per group, "similar" in 89% at
1,000 and 99.75% at 1,500; one group at 0.80, "differs" in 16%, 58% and 100% at 100, 200 and
1,000, "similar" never. (Measured before the plus-two SE floor in ``_deviation`` was added; the
floor only raises small cells' SEs, and the tests re-check every one of these bounds with it.)

>>> from artifactual.analyses.fairness import FairnessConfig
>>> from artifactual.analyses.stats import bootstrap_weights
>>> y = np.tile([0, 1], 2000); pred = y.copy()
>>> pred[::10], pred[5::10] = 1, 0  # 10% wrong in each group, half of them on each class
>>> g = np.repeat(["a", "b"], 2000).astype(object)
>>> w = bootstrap_weights(4000, 400, np.random.default_rng(0))
>>> r = parity_tests(y, pred, {"g": g}, w, FairnessConfig(n_boot=400))["attributes"]["g"]
>>> r["parity"], r["equivalence"]["p_holm"] < 0.001, [d["deviation"] for d in r["deviations"][:3]]
('similar', True, [0.0, 0.0, 0.0])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from .formatting import fmt_p
from .stats import holm

if TYPE_CHECKING:  # fairness.py imports this module, so the config is imported for type checkers only
    from .fairness import FairnessConfig

DEVIATION_METRICS = ("accuracy", "tpr", "tnr")
LABEL = {"accuracy": "accuracy", "tpr": "TPR", "tnr": "TNR"}
LEVEL = 0.95
# numerator and denominator counts of each rate: tpr is recall of class 1, tnr recall of class 0
RATES = {"accuracy": ("correct", "n"), "tpr": ("tp", "pos"), "tnr": ("tn", "neg")}
UNIT_CLUSTERS = "identity (clusters resampled)"
UNIT_IMAGES = ("image: items treated as independent; the data carry no identities, so a person photographed "
               "twice counts twice")
SPREAD_NOTE = ("difference / ratio / spread_stats are the seed's max-min statistics, kept as description: a "
               "maximum minus a minimum of noisy group values is biased upward, and its interval rarely "
               "covers 0 even when the groups are equal. The verdict (parity) reads deviations and equivalence.")
DEVIATION_FAMILY = ("every defined deviation from the pooled rate in this table (attribute x group x accuracy / "
                    "TPR / TNR): studentized bootstrap max-|t| simultaneous bands, single-step adjusted p")
EQUIVALENCE_FAMILY = ("Holm across the attributes' equivalence p-values, each the largest TOST p over the "
                      "attribute's groups and accuracy / TPR / TNR (intersection-union)")


CELLS = ("n", "correct", "pos", "tp", "neg", "tn")  # the 0/1 indicators every rate here is built from


def _cells(y: np.ndarray, pred: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """(n, 6k) indicators: column ``CELLS.index(name) * k + j`` is ``name`` for items of group j.

    ``codes`` holds each item's group index, -1 for items outside every eligible group (their
    rows are zero, so the weight matrix needs no copying).
    """
    y, pred = y.astype(bool), pred.astype(bool)
    onehot = np.zeros((len(y), k))
    inside = codes >= 0
    onehot[np.flatnonzero(inside), codes[inside]] = 1.0
    cols = (np.ones(len(y), bool), y == pred, y, y & pred, ~y, ~y & ~pred)
    return np.concatenate([onehot * c[:, None] for c in cols], axis=1)


def _deviation(c: np.ndarray, m: str, j: int, k: int, units=None) -> tuple[np.ndarray, ...]:
    """Deviation of group j's rate ``m`` from the pooled rate, its SE, the group's and the pooled
    rate, for each row of weighted cell counts ``c`` (R, 6k).

    The SE is the delta-method (sandwich) SE of the replicate's own sample: each unit's influence
    is ``(X_gu - r_g Z_gu) / Z_g - (X_pu - r_p Z_pu) / Z_p`` (X numerator and Z denominator counts
    of the unit in group g / in the pool), and the variance is the weighted sum of squares over
    units. ``units`` is None when every item is its own unit: 0/1 indicators then give the sum in
    closed form from the counts. Otherwise it is ``(U, W)``: per-unit cell counts (n_units, 6k)
    and the units' weights (R, n_units).
    """
    num, den = (CELLS.index(x) * k for x in RATES[m])
    Xg, Zg = c[:, num + j], c[:, den + j]
    Xp, Zp = c[:, num:num + k].sum(1), c[:, den:den + k].sum(1)
    rg, rp = Xg / Zg, Xp / Zp
    if units is None:
        a, b = 1 / Zg - 1 / Zp, rg / Zg - rp / Zp  # in-group item: x a - z b; x^2 = x z = x for 0/1
        var = Xg * (a * a - 2 * a * b) + Zg * b * b + ((Xp - Xg) * (1 - 2 * rp) + rp * rp * (Zp - Zg)) / Zp ** 2
    else:
        U, W = units
        infl = ((U[:, num + j] - rg[:, None] * U[:, den + j]) / Zg[:, None]
                - (U[:, num:num + k].sum(1) - rp[:, None] * U[:, den:den + k].sum(1)) / Zp[:, None])
        var = (W * infl ** 2).sum(1)
    # Plus-two floor (Agresti & Caffo 2000): a group whose items are all right (or all wrong), in
    # the data or in one replicate, has a delta-method SE of 0, and a single such cell among ~100
    # deviations sent the family's max-|t| critical value to 15.9 on seed 002's table (race x age
    # band, 15 women of one cell all right), widening every band in the table to uselessness. The
    # variance of the group's own part, (1 - Zg/Zp)^2 r(1-r)/n, with r and n from the counts plus
    # two, is the least variance a deviation is given.
    rt = (Xg + 1) / (Zg + 2)
    floor = rt * (1 - rt) / (Zg + 2) * (1 - Zg / Zp) ** 2
    return rg - rp, np.sqrt(np.maximum(var, floor)), rg, rp


def attribute_deviations(y, pred, labels, w: np.ndarray, min_per_class: int, clusters=None) -> list[dict]:
    """Each eligible group's deviation from the pooled accuracy, TPR and TNR, with bootstrap replicates.

    Parameters
    ----------
    y, pred : labels and predictions 0/1, one per item.
    labels : per-item group labels; None / NaN for items outside the eligible groups (missing, or
        in a group below ``min_n``). The pooled rate is over the labelled items only.
    w : (B, n) bootstrap weights; each row gives one replicate of every deviation.
    min_per_class : TPR / TNR of a group need this many items of class 1 / class 0 in it.
    clusters : per-item cluster ids when ``w`` resamples clusters (then constant within each);
        the SEs then sum influences over clusters.

    Returns
    -------
    list of dict
        One per group and metric: ``group``, ``metric``, ``n`` (the rate's denominator: items,
        class-1 items or class-0 items), ``value``, ``pooled``, ``deviation``, ``se`` (delta
        method, over the resampled unit), ``sd_bootstrap``, and private (B,) replicates ``_reps``
        and ``_se_reps``; ``deviation`` None with a ``reason`` where the group has too few of
        the class.

    Examples
    --------
    >>> y = np.array([1, 1, 0, 0, 1, 1, 0, 0]); pred = np.array([1, 0, 0, 0, 1, 1, 0, 1])
    >>> lab = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    >>> rows = attribute_deviations(y, pred, lab, np.ones((2, 8)), min_per_class=1)
    >>> [(r["group"], r["metric"], r["value"], r["pooled"], r["deviation"]) for r in rows[:3]]
    [('a', 'accuracy', 0.75, 0.75, 0.0), ('a', 'tpr', 0.5, 0.75, -0.25), ('a', 'tnr', 1.0, 0.75, 0.25)]
    """
    lab = pd.Series(np.asarray(labels, dtype=object))
    keep = lab.notna().to_numpy()
    codes = np.full(len(lab), -1)
    codes[keep], names = pd.factorize(lab[keep].astype(str), sort=True)
    k = len(names)
    cells = _cells(np.asarray(y), np.asarray(pred), codes, k)
    point, reps = cells.sum(0, keepdims=True), w @ cells  # (1, 6k) and (B, 6k): one matrix product
    unit_point = unit_reps = None
    if clusters is not None:
        ucodes, uniq = pd.factorize(pd.Series(np.asarray(clusters)).astype(str))
        first = np.unique(ucodes, return_index=True)[1]
        W = w[:, first]  # each cluster's weight in each replicate
        if not np.array_equal(W[:, ucodes], w):
            raise ValueError("w is not constant within clusters: build it with "
                             "stats.bootstrap_weights(n, B, rng, groups=clusters)")
        U = np.zeros((len(uniq), cells.shape[1]))
        np.add.at(U, ucodes, cells)
        unit_point, unit_reps = (U, np.ones((1, len(uniq)))), (U, W)
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for j, g in enumerate(names):
            for m in DEVIATION_METRICS:
                n_den = int(round(point[0, CELLS.index(RATES[m][1]) * k + j]))
                row = {"group": str(g), "metric": m, "n": n_den}
                if m != "accuracy" and n_den < min_per_class:
                    cls = 1 if m == "tpr" else 0
                    row.update(value=None, pooled=None, deviation=None, se=None, sd_bootstrap=None,
                               reason=f"{n_den} items of class {cls} < min_per_class={min_per_class}")
                    rows.append(row)
                    continue
                d, se, value, pooled = (float(x[0]) for x in _deviation(point, m, j, k, unit_point))
                d_reps, se_reps, _, _ = _deviation(reps, m, j, k, unit_reps)
                finite = d_reps[np.isfinite(d_reps)]  # NaN where a replicate drew none of the group's class
                row.update(value=value, pooled=pooled, deviation=d, se=se,
                           sd_bootstrap=float(finite.std(ddof=1)) if len(finite) > 1 else None,
                           reason=None, _reps=d_reps, _se_reps=se_reps)
                rows.append(row)
    return rows


def simultaneous_bands(rows: list[dict], level: float = LEVEL) -> dict:
    """Studentized bootstrap max-|t| bands over one family of deviations; adds ``band_low``,
    ``band_high``, ``p_adjusted`` and ``excludes_zero`` to each row with a deviation, and returns
    the family's size and critical value.

    Each replicate is studentized by its OWN SE, ``t*_b = (d*_b - d) / se*_b``, and the band is
    ``d +- c * se``. Why not divide by one bootstrap SD per deviation: for rates near 0.9 in
    groups of ~100, a group that happens to score high also gets a small SE (the Wald interval's
    flaw), and with 5 groups all truly at 0.90 the SD-scaled bands excluded 0 somewhere in 21% of
    300 runs at 100 items per group and 10% at 200; studentized per replicate, in 5.5% and 4.75%
    of 400 runs (tests/analyses/test_fairness.py). ``t*`` is centred at the point estimate. A replicate in
    which some deviation is undefined (a class drawn zero times) keeps its other deviations.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = [{"deviation": d, "se": 0.01, "_reps": d + rng.normal(0, 0.01, 999), "_se_reps": np.full(999, 0.01)}
    ...         for d in (0.0, 0.05)]
    >>> fam = simultaneous_bands(rows)
    >>> fam["size"], 2.0 < fam["critical_value"] < 2.5, [r["excludes_zero"] for r in rows]
    (2, True, [False, True])
    """
    live = [r for r in rows if r.get("deviation") is not None]
    if not live:
        return {"size": 0, "critical_value": None, "level": level, "replicates": 0}
    d = np.array([r["deviation"] for r in live])
    se = np.array([r["se"] for r in live])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(np.stack([r["_reps"] for r in live]) - d[:, None]) / np.stack([r["_se_reps"] for r in live])
        t = np.where(se > 0, np.abs(d) / se, np.where(d == 0, 0.0, np.inf))
    z[np.isnan(z)] = -np.inf  # undefined in that replicate (or 0 / 0): adds nothing to the maximum
    M = z.max(0)
    M = np.sort(M[~np.isnan(M)])
    # the ceil((B + 1) * level)-th smallest maximum, so that a band excludes 0 exactly when the
    # adjusted p below is under 1 - level (np.quantile would interpolate one replicate lower)
    at = int(np.ceil((len(M) + 1) * level)) - 1
    c = float(M[min(at, len(M) - 1)]) if len(M) else np.nan
    for r, s, t_k in zip(live, se, t):
        half = c * s if s > 0 else 0.0
        r.update(band_low=float(r["deviation"] - half), band_high=float(r["deviation"] + half),
                 p_adjusted=float((1 + np.sum(M >= t_k)) / (1 + len(M))))
        r["excludes_zero"] = bool(r["band_low"] > 0 or r["band_high"] < 0)
    return {"size": len(live), "critical_value": c, "level": level, "replicates": int(len(M))}


def tost_p(deviation: float, se: float, margin: float) -> float:
    """Two one-sided tests that a deviation lies inside (-margin, margin): the larger of the two p's.

    A normal approximation with the deviation's SE (over the resampled unit), rather than
    bootstrap tail shares, because the intersection-union max and Holm across attributes need
    p-values finer than ``1 / (B + 1)`` (with B = 200 and 10 attributes, Holm's first threshold
    0.005 would be out of reach). Its size at the margin is measured by simulation in the tests.

    >>> f"{tost_p(0.0, 0.01, 0.05):.1e}", round(tost_p(0.05, 0.01, 0.05), 2), tost_p(0.06, 0.01, 0.05) > 0.5
    ('2.9e-07', 0.5, True)
    """
    if se == 0:
        return 0.0 if abs(deviation) < margin else 1.0
    return float(max(norm.sf((deviation + margin) / se), norm.cdf((deviation - margin) / se)))


def _dev(r: dict) -> str:
    return (f"{LABEL[r['metric']]} of {r['group']} {r['deviation']:+.3f}, simultaneous 95% band "
            f"[{r['band_low']:+.3f}, {r['band_high']:+.3f}]")


def _verdict(attr: str, a: dict, cfg: FairnessConfig) -> tuple[str, str]:
    """(parity, statement): similar (equivalence shown) > differs (a band excludes 0) > cannot_tell."""
    left_out = f"; not judged: {', '.join(a['not_judged'])}" if a["not_judged"] else ""
    live = [r for r in a["deviations"] if r["deviation"] is not None]
    eq = a["equivalence"]
    if len(a["eligible_groups"]) < 2 or not live:
        return "cannot_tell", (f"cannot compare {attr}: fewer than 2 groups with >= {cfg.min_n} items "
                               f"(eligible: {a['eligible_groups']}){left_out}")
    big = max(live, key=lambda r: (round(abs(r["deviation"]), 12), -DEVIATION_METRICS.index(r["metric"])))
    hits = [r for r in live if r["excludes_zero"]]
    top = max(hits, key=lambda r: (round(abs(r["deviation"]), 12), -DEVIATION_METRICS.index(r["metric"])),
              default=None)
    if eq["p_holm"] is not None and eq["p_holm"] < 1 - LEVEL:
        seen = f"; a difference of {top['deviation']:+.3f} ({LABEL[top['metric']]} of {top['group']}) is " \
               f"detectable but inside the margin" if top else ""
        return "similar", (f"accuracy, TPR and TNR similar across {attr} within {cfg.parity_margin:g}: every "
                           f"group's deviation from the pooled rate is inside +-{cfg.parity_margin:g} (equivalence "
                           f"p {fmt_p(eq['p_holm'])}, Holm over attributes); largest: {_dev(big)}{seen}{left_out}")
    if top:
        word, side = ("worst", "below") if top["deviation"] < 0 else ("best", "above")
        return "differs", (f"{LABEL[top['metric']]} differs across {attr}: {word} {top['group']} {top['value']:.3f}, "
                           f"{abs(top['deviation']):.3f} {side} the pooled {top['pooled']:.3f} (simultaneous 95% band "
                           f"[{top['band_low']:+.3f}, {top['band_high']:+.3f}], adjusted p {fmt_p(top['p_adjusted'])}; "
                           f"{len(hits)} of {len(live)} bands exclude 0; margin {cfg.parity_margin:g}){left_out}")
    b = next(r for r in live if r["group"] == eq["binding"]["group"] and r["metric"] == eq["binding"]["metric"])
    return "cannot_tell", (f"intervals too wide to call {attr} fair or unfair: no band excludes 0, yet equivalence "
                           f"within +-{cfg.parity_margin:g} is not shown (equivalence p {fmt_p(eq['p_holm'])}, Holm "
                           f"over attributes); least certain: {_dev(b)}{left_out}")


def parity_tests(y, pred, attributes: dict, w: np.ndarray, cfg: FairnessConfig,
                 too_small: dict[str, dict[str, int]] | None = None, clusters=None) -> dict:
    """Deviations, simultaneous bands, equivalence and a verdict for every attribute of a table.

    Parameters
    ----------
    y, pred : labels and predictions 0/1.
    attributes : attribute -> per-item group labels, None / NaN outside the eligible groups.
    w : (B, n) bootstrap weights shared with the rest of the table.
    cfg : the table's :class:`~artifactual.analyses.fairness.FairnessConfig` (``parity_margin``,
        ``min_n``, ``min_per_class``).
    too_small : attribute -> {group: n} of groups left out under ``min_n``; statements name them.
    clusters : per-item cluster ids when ``w`` resamples clusters (identities).

    Returns
    -------
    dict
        ``attributes`` (per attribute: ``eligible_groups``, ``deviations``, ``largest_deviation``
        per metric, ``equivalence``, ``not_judged``, ``parity``, ``statement``),
        ``deviation_family`` and ``equivalence_family``.

    Examples
    --------
    >>> from artifactual.analyses.fairness import FairnessConfig
    >>> from artifactual.analyses.stats import bootstrap_weights
    >>> y = np.tile([0, 1], 400); pred = y.copy(); pred[:80] = 1 - pred[:80]  # 80 errors, all in "a"
    >>> g = np.repeat(["a", "b"], 400).astype(object)
    >>> w = bootstrap_weights(800, 400, np.random.default_rng(0))
    >>> out = parity_tests(y, pred, {"g": g}, w, FairnessConfig(), too_small={"g": {"c": 7}})
    >>> out["attributes"]["g"]["parity"], out["attributes"]["g"]["statement"][-30:]
    ('differs', 'not judged: c (n=7 < min_n=30)')
    """
    y, pred = np.asarray(y).astype(int), np.asarray(pred).astype(int)
    too_small = too_small or {}
    attrs, everyone = {}, []
    for attr, lab in attributes.items():
        lab = pd.Series(np.asarray(lab, dtype=object))
        eligible = sorted(set(lab[lab.notna()].astype(str)))
        rows = attribute_deviations(y, pred, lab, w, cfg.min_per_class, clusters) if len(eligible) >= 2 else []
        not_judged = [f"{g} (n={n} < min_n={cfg.min_n})" for g, n in sorted(too_small.get(attr, {}).items())]
        not_judged += [f"{LABEL[r['metric']]} of {r['group']} ({r['reason']})" for r in rows if r["deviation"] is None]
        attrs[attr] = {"eligible_groups": eligible, "deviations": rows, "not_judged": not_judged}
        everyone += rows
    family = simultaneous_bands(everyone)
    for a in attrs.values():
        live = [r for r in a["deviations"] if r["deviation"] is not None]
        for r in live:
            r["p_equivalence"] = tost_p(r["deviation"], r["se"], cfg.parity_margin)
        binding = max(live, key=lambda r: r["p_equivalence"], default=None)
        a["equivalence"] = {"margin": cfg.parity_margin, "n_deviations": len(live),
                            "p_value": binding["p_equivalence"] if binding else None,
                            "binding": {"group": binding["group"], "metric": binding["metric"]} if binding else None}
    for a, p in zip(attrs.values(), holm([a["equivalence"]["p_value"] for a in attrs.values()])):
        a["equivalence"]["p_holm"] = p
    for attr, a in attrs.items():
        a["parity"], a["statement"] = _verdict(attr, a, cfg)
        for r in a["deviations"]:
            r.pop("_reps", None), r.pop("_se_reps", None)
        live = [r for r in a["deviations"] if r["deviation"] is not None]
        a["largest_deviation"] = {m: max((r for r in live if r["metric"] == m), key=lambda r: abs(r["deviation"]),
                                         default=None) for m in DEVIATION_METRICS}
    tested = [k for k, a in attrs.items() if a["equivalence"]["p_value"] is not None]
    return {"attributes": attrs, "deviation_family": {"name": DEVIATION_FAMILY, **family},
            "equivalence_family": {"name": EQUIVALENCE_FAMILY, "margin": cfg.parity_margin, "attributes": tested}}
