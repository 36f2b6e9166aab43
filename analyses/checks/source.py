"""Checks about the photo source: a (source predictability), b (label-source association),
g (leave-one-source-out), h (within-source random-label control)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import (CHECKS, CheckResult, DegenerateProbe, constant_scores, fmt, fmt_p,
                                         nothing_to_learn, probe)
from artifactual.analyses.refit import auroc, permutation_sd_interval, probe_auroc, probe_features
from artifactual.analyses.stats import bootstrap_metric, cramers_v, identity_folds, stream, units


def _pairwise_source_auroc(d: AuditData, mask: np.ndarray, cfg: AuditConfig, name: str) -> CheckResult:
    """Every pair of sources in ``mask``: how well the probe tells them apart; the mean over pairs."""
    sources = sorted(set(d.source[mask]))
    rows = []
    for s1, s2 in itertools.combinations(sources, 2):
        m = mask & np.isin(d.source, [s1, s2])
        r = probe(d.X[m], (d.source[m] == s2).astype(int), d.groups[m], cfg)
        why = None if r.too_small else r.why if isinstance(r, DegenerateProbe) else constant_scores(r)
        rows.append({"pair": f"{s1} vs {s2}", "estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "n": r.n, "too_small": r.too_small, **({"degenerate": why} if why else {})})
    ok = [r for r in rows if not r["too_small"] and not r.get("degenerate")]
    flat = [r for r in rows if r.get("degenerate")]
    if not ok and flat:
        return CheckResult.degenerate(name, "auroc (mean over source pairs)",
                                      f"{flat[0]['degenerate']} (in every source pair that holds enough identities)",
                                      int(mask.sum()))
    if not ok:
        return CheckResult.not_applicable(name, "auroc (mean over source pairs)",
                                          f"every pair of sources has fewer than {cfg.min_identities} identities "
                                          "on one side", int(mask.sum()))
    mean = float(np.mean([r["estimate"] for r in ok]))
    lo, hi = float(np.mean([r["ci_low"] for r in ok])), float(np.mean([r["ci_high"] for r in ok]))
    hardest = min(ok, key=lambda r: r["estimate"])
    reading = (f"the photo source is readable from the preprocessed image: mean AUROC over {len(ok)} source pairs "
               f"{mean:.3f} (hardest pair {hardest['pair']} {hardest['estimate']:.3f})")
    return CheckResult(name, "auroc (mean over source pairs)", mean, lo, hi, int(mask.sum()), reading,
                       details={"pairs": rows, "interval_is": "mean of the pairs' interval ends"})


@CHECKS.register("source_predictability")
def source_predictability(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Descriptive: can the probe tell the sources apart, overall and inside each class?"""
    if len(set(d.source)) < 2:
        return [CheckResult.not_applicable("source_predictability", "auroc", "one source only", d.n)]
    out = [_pairwise_source_auroc(d, np.ones(d.n, bool), cfg, "source_predictability")]
    for c in (0, 1):
        m = d.y == c
        name = f"source_predictability_within_class_{d.label_values[c]}"
        if len(set(d.source[m])) < 2:
            out.append(CheckResult.not_applicable(name, "auroc", f"class {d.label_values[c]!r} has one source",
                                                  int(m.sum())))
        else:
            out.append(_pairwise_source_auroc(d, m, cfg, name))
    return out


@CHECKS.register("label_source_association")
def label_source_association(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Confirmatory: Cramér's V of label and source (identity bootstrap, identity-permutation p).

    >>> from artifactual.analyses.audit_data import AuditData
    >>> rng = np.random.default_rng(0); y = np.repeat([1, 0], 20)
    >>> d = AuditData.from_arrays(rng.integers(0, 255, (40, 8, 8, 3)).astype(np.uint8), y, np.where(y, "mugshots", "web"))
    >>> rows = label_source_association(d, AuditConfig(n_boot=100, n_perm=100))
    >>> [(r.name, r.role, round(r.estimate, 2)) for r in rows]
    [('label_source_association', 'confirmatory', 1.0), ('label_from_source_alone', 'descriptive', 1.0)]
    """
    v = cramers_v(d.source, d.y, d.groups, n_boot=cfg.n_boot, n_perm=cfg.n_perm, seed=cfg.seed)
    if len(set(d.source)) < 2:
        reading = "one source: the source cannot carry the label"
    else:
        reading = (f"the label is {'almost entirely' if v.estimate > 0.8 else 'largely' if v.estimate > 0.5 else 'weakly'}"
                   f" determined by the source (Cramér's V {fmt(v)})")
    rows = [CheckResult.from_estimate("label_source_association", "cramers_v", v, reading, role="confirmatory",
                                      interval="identity bootstrap; lower end 0 when the permutation test does not "
                                               "reject", test="labels permuted between identities")]
    if len(set(d.source)) >= 2:
        rows.append(_label_from_source_alone(d, cfg))
    return rows


def _label_from_source_alone(d: AuditData, cfg: AuditConfig) -> CheckResult:
    """Descriptive: each image scored by its source's class-1 rate among the training folds."""
    u = units(d.y, d.groups)
    src = pd.Series(d.source)

    def mean_fold_auroc(yy: np.ndarray, repeats: int) -> float:
        lab = u.majority(yy)
        per_fold = []
        for r in range(repeats):
            fold = identity_folds(lab, u.stratum, cfg.folds, stream(cfg.seed, "folds", r))[u.codes]
            for f in range(cfg.folds):
                train, test = fold != f, fold == f
                rate = pd.Series(yy[train]).groupby(src[train].to_numpy()).mean()
                per_fold.append(auroc(yy[test], src[test].map(rate).fillna(yy[train].mean()).to_numpy()))
        return float(np.nanmean(per_fold))

    est = mean_fold_auroc(d.y, cfg.repeats)
    lo, hi = permutation_sd_interval(est, lambda yp: mean_fold_auroc(yp, 1), d.y, d.groups, cfg.interval_draws,
                                     cfg.seed)
    return CheckResult("label_from_source_alone", "auroc", est, lo, hi, d.n,
                       f"knowing only where a photo came from predicts the label with AUROC {est:.3f} [{lo:.3f}, {hi:.3f}]",
                       details={"interval": f"estimate +- 1.96 SD of {cfg.interval_draws} recomputations under "
                                            "identity-label permutation"})


@CHECKS.register("leave_one_source_out")
def leave_one_source_out(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Descriptive: train on one single-class source per class, test on the other single-class
    sources, and compare with cross-validation inside the training sources at the same training size.

    Only sources that hold one class take part (a mixed source cannot say which class it stands
    for). A pair needs ``min_identities`` identities in each of its two sources. Every pair is
    reported, with the mean transfer AUROC, the mean in-source AUROC and the mean gap; a single
    pair is never the evidence (anti-aligned pairs can score near 0 whatever the signal).
    """
    pure = {c: sorted(s for s in set(d.source[d.y == c]) if set(d.y[d.source == s]) == {c}) for c in (0, 1)}
    if len(pure[0]) < 2 or len(pure[1]) < 2:
        return [CheckResult.not_applicable("leave_one_source_out", "auroc",
                                           "needs at least two single-class sources in each class", d.n)]
    why = nothing_to_learn(d.X)
    if why:
        return [CheckResult.degenerate("leave_one_source_out", "auroc (mean transfer over source pairs)", why, d.n)]
    pcfg = cfg.probe()
    Z = probe_features(d.X, pcfg, len(np.unique(d.groups)))
    rng = stream(cfg.seed, "folds", 99)
    pairs, degenerate = [], []  # degenerate pairs are kept apart: every entry of pairs has a number or too_small
    for sa, sb in itertools.product(pure[1], pure[0]):
        inside = np.isin(d.source, [sa, sb])
        test = np.isin(d.source, [s for s in pure[1] + pure[0] if s not in (sa, sb)])
        u = units(d.y[inside], d.groups[inside])
        # named in words: "B:studio" would read as a side or a class when the user's labels are A and B
        row = {"train": _classes_and_sources(d.label_values, [sa], [sb]),
               "test": _classes_and_sources(d.label_values, [s for s in pure[1] if s != sa],
                                            [s for s in pure[0] if s != sb]),
               "identities_per_class": {str(k): v for k, v in u.per_class().items()}}
        if min(u.per_class().values()) < cfg.min_identities:
            pairs.append({**row, "too_small": True})
            continue
        # in-source: repeated identity-grouped CV inside the two training sources
        r_in = probe_auroc(d.X[inside], d.y[inside], d.groups[inside], pcfg, features=Z[inside])
        in_est, in_lo, in_hi = r_in.estimate, r_in.ci_low, r_in.ci_high
        # transfer: the same training size as one CV training fold, tested on the other sources
        fold = identity_folds(u.label, u.stratum, cfg.folds, rng)[u.codes]
        train_idx = np.flatnonzero(inside)[fold != 0]
        beta, mean, ybar = _ridge_fit(Z[train_idx], d.y[train_idx], pcfg.ridge)
        score = (Z[test] - mean) @ beta + ybar
        flat = constant_scores(r_in) or ("the probe's transfer scores are constant" if np.ptp(score) == 0 else None)
        if flat:  # AUROC 0.5 with an interval of width 0 from tied scores is no measurement
            degenerate.append({**row, "degenerate": flat})
            continue
        tr = bootstrap_metric(d.y[test], score, n_boot=cfg.n_boot, seed=cfg.seed, groups=d.groups[test])
        pairs.append({**row, "too_small": False, "n_train": int(len(train_idx)), "n_test": int(test.sum()),
                      "transfer": tr.as_dict(), "in_source": {"estimate": in_est, "ci_low": in_lo, "ci_high": in_hi},
                      "gap": in_est - tr.estimate})
    ok = [p for p in pairs if not p["too_small"]]
    if not ok and degenerate:
        return [CheckResult.degenerate("leave_one_source_out", "auroc (mean transfer over source pairs)",
                                       f"{degenerate[0]['degenerate']} in every source pair that holds enough "
                                       "identities", d.n)]
    if not ok:
        return [CheckResult.not_applicable("leave_one_source_out", "auroc",
                                           f"no source pair has {cfg.min_identities} identities in each source", d.n)]
    mean_tr = float(np.mean([p["transfer"]["estimate"] for p in ok]))
    mean_in = float(np.mean([p["in_source"]["estimate"] for p in ok]))
    lo = float(np.mean([p["transfer"]["ci_low"] for p in ok]))
    hi = float(np.mean([p["transfer"]["ci_high"] for p in ok]))
    reading = (f"trained on one source per class, the probe scores AUROC {mean_tr:.3f} on the other sources (mean of "
               f"{len(ok)} pairs) against {mean_in:.3f} inside its training sources at the same training size: "
               + ("it does not transfer, so what it learned belongs to the sources" if mean_in - mean_tr > 0.2 else
                  "it transfers across sources"))
    return [CheckResult("leave_one_source_out", "auroc (mean transfer over source pairs)", mean_tr, lo, hi,
                        int(sum(p["n_test"] for p in ok) / len(ok)), reading,
                        details={"pairs": pairs, "degenerate_pairs": degenerate, "mean_in_source": mean_in,
                                 "mean_gap": mean_in - mean_tr,
                                 "interval_is": "mean of the pairs' interval ends (each an identity bootstrap of "
                                                "one fitted probe on other sources)"})]


def _classes_and_sources(names: dict[int, str], positive: list[str], negative: list[str]) -> str:
    """Which sources stand for which class, in words that cannot be mistaken for the user's own labels.

    >>> _classes_and_sources({0: "A", 1: "B"}, ["studio"], ["web", "phone"])
    "class 'B' (positive): source studio; class 'A': sources web + phone"
    """
    def part(c: int, srcs: list[str]) -> str:
        return (f"class {names[c]!r}" + (" (positive)" if c == 1 else "") + ": "
                + ("source " if len(srcs) == 1 else "sources ") + " + ".join(srcs))

    return f"{part(1, positive)}; {part(0, negative)}"


def _ridge_fit(Z: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray, float]:
    """The probe's ridge fit on one training set: coefficients, feature means, label mean."""
    mean, ybar = Z.mean(0), float(y.mean())
    Zc = Z - mean
    beta = np.linalg.solve(Zc.T @ Zc + ridge * len(y) * np.eye(Z.shape[1]), Zc.T @ (y - ybar))
    return beta, mean, ybar


@CHECKS.register("within_source_random_labels")
def within_source_random_labels(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Negative control: random labels between whole identities inside the largest source.

    Expected of correct code: the refit permutation test does not reject (p >= 0.05) and the
    interval covers 0.5. A small p means a bug, or the 5% of times chance alone gives one.
    """
    src = pd.Series(d.source).value_counts().index[0]
    m = d.source == src
    groups = d.groups[m]
    uniq = np.unique(groups)
    rng = stream(cfg.seed, "control labels")
    lab = dict(zip(uniq, rng.permutation(np.arange(len(uniq)) % 2)))
    yy = np.array([lab[g] for g in groups])
    r = probe(d.X[m], yy, groups, cfg, test=True)
    expected = "refit permutation p >= 0.05 and the interval covers 0.5"
    if r.too_small:
        return [CheckResult.too_small("within_source_random_labels", "auroc", r.identities, cfg.min_identities,
                                      r.n, role="control")]
    why = r.why if isinstance(r, DegenerateProbe) else constant_scores(r)
    if why:  # a control on images with nothing in them holds trivially: it shows nothing about the pipeline
        return [CheckResult.degenerate("within_source_random_labels", "auroc", f"{why} (inside {src})", r.n,
                                       role="control")]
    held = bool(r.p_value >= 0.05 and r.ci_low <= 0.5 <= r.ci_high)
    reading = (f"random labels inside {src} give AUROC {fmt(r)}, p {fmt_p(r.p_value)}: "
               + ("the pipeline finds no signal where there is none" if held else
                  "the control did NOT hold: a bug, or the 5% of times chance alone does this"))
    row = CheckResult.from_probe("within_source_random_labels", "auroc", r, reading, role="control", source=src)
    row.expected, row.held = expected, held
    return [row]
