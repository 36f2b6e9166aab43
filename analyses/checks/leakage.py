"""Checks j (identity leakage: random vs identity-grouped split) and k (is the label learnable at all?)."""

from __future__ import annotations

import numpy as np

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, fmt_p, nothing_to_learn, probe
from artifactual.analyses.refit import _Probe, probe_features
from artifactual.analyses.stats import permuted_labels, stream, units


@CHECKS.register("identity_leakage")
def identity_leakage(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Descriptive: the probe's AUROC when images are split at random minus when people are.

    Both under repeated CV with the same probe; each image is its own "identity" in the random
    split, so a person's photos land on both sides. The interval is the difference +- 1.96 SD of the
    same difference recomputed under identity-label permutations (as every interval of the audit).
    """
    if len(np.unique(d.groups)) == d.n:
        return [CheckResult.not_applicable("identity_leakage", "auroc difference",
                                           "no identity has more than one image", d.n)]
    why = nothing_to_learn(d.X)
    if why:
        return [CheckResult.degenerate("identity_leakage", "auroc(random split) - auroc(identity split)", why, d.n)]
    pcfg = cfg.probe()
    Z = probe_features(d.X, pcfg, len(np.unique(d.groups)))
    person, image = _Probe(Z, units(d.y, d.groups), pcfg), _Probe(Z, units(d.y, np.arange(d.n)), pcfg)
    by_person = person.repeated(d.y, cfg.repeats, cfg.seed)
    by_image = image.repeated(d.y, cfg.repeats, cfg.seed)
    est = float(np.nanmean(by_image - by_person))

    def diff(yp: np.ndarray) -> float:  # the same two cross-validations on permuted labels
        lab_p = person.u.majority(yp)
        return float(np.nanmean(image.repeated(yp, 1, cfg.seed, yp) - person.repeated(yp, 1, cfg.seed, lab_p)))

    # the interval's SD: both splits recomputed under identity-label permutations; not clipped to [0, 1]
    sd = float(np.std([diff(yp) for yp in _permutations(d, cfg)], ddof=1))
    lo, hi = est - 1.96 * sd, est + 1.96 * sd
    a_img, a_person = float(np.nanmean(by_image)), float(np.nanmean(by_person))
    return [CheckResult(
        "identity_leakage", "auroc(random split) - auroc(identity split)", est, lo, hi, d.n,
        f"splitting images at random instead of by person changes AUROC by {est:.3f} [{lo:.3f}, {hi:.3f}] "
        f"({a_img:.3f} vs {a_person:.3f})",
        details={"auroc_random_split": a_img, "auroc_identity_split": a_person,
                 "interval": f"estimate +- 1.96 SD of {cfg.interval_draws} recomputations under identity-label "
                             "permutation"})]


def _permutations(d: AuditData, cfg: AuditConfig):
    u, rng = units(d.y, d.groups), stream(cfg.seed, "permutations")
    return (permuted_labels(u, d.y, rng) for _ in range(cfg.interval_draws))


@CHECKS.register("label_learnable")
def label_learnable(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Confirmatory: the label can be learned from the preprocessed images at all (verdict rule b).

    The ridge probe under repeated identity-grouped CV with a refit permutation test. Unlike the
    headline models' screening p-value (labels permuted over one set of fixed out-of-fold scores,
    which rejects about twice as often as it should under the null), this test refits every fold
    under every permutation.

    >>> from artifactual.analyses.audit_data import AuditData
    >>> rng = np.random.default_rng(0); y = np.tile([0, 1], 30)
    >>> raw = rng.integers(0, 200, (60, 8, 8, 3)).astype(np.uint8); raw[y == 1, :2] = 255  # a bright top edge
    >>> r = label_learnable(AuditData.from_arrays(raw, y, np.repeat("s", 60)), AuditConfig(n_perm=100, repeats=2))[0]
    >>> r.role, r.estimate > 0.9, r.p_value < 0.05
    ('confirmatory', True, True)
    >>> label_learnable(AuditData.from_arrays(raw[:16], y[:16], np.repeat("s", 16)), AuditConfig())[0].status
    'too_small'
    """
    r = probe(d.X, d.y, d.groups, cfg, test=True)
    reading = (f"a linear probe learns the label from the preprocessed images with AUROC {fmt(r)}, "
               f"refit permutation p {fmt_p(r.p_value)}" if not r.too_small else "")
    return [CheckResult.from_probe("label_learnable", "auroc (ridge probe, refit permutation test)", r, reading,
                                   role="confirmatory", min_identities=cfg.min_identities)]
