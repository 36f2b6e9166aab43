"""The fast subset of ``make calibrate``: every confirmatory test's false-positive rate on a few hundred
small null datasets, and the old procedures failing where the new ones hold.

Seeds are fixed, so each rate is one deterministic number; a valid test lands inside [0.02, 0.08]
with 400 datasets unless it is broken (the binomial SD at 0.05 is 0.011).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artifactual.analyses.calibration import VERDICT_TESTS, Design, _views, synthetic_faces, tables, wilson
from artifactual.analyses.refit import ProbeConfig, probe_auroc
from artifactual.analyses.stats import cramers_v

N_DATASETS = 400
FAST = ProbeConfig(repeats=1, interval_draws=0, max_perm=200, folds=4, exceedances=5)


def _datasets():
    """Small null datasets across designs: 10-12 people per class, 1-3 photos each, 2-4 sources, 50/50 and 80/20."""
    for k in range(N_DATASETS):
        design = Design(10 + k % 3, 1 + k % 3, 1 + k % 2, 0.5 if k % 4 else 0.2)
        yield k, synthetic_faces(design, np.random.default_rng(k))


@pytest.fixture(scope="module")
def null_pvalues() -> pd.DataFrame:
    rows = []
    for k, d in _datasets():
        cfg = ProbeConfig(**{**FAST.__dict__, "seed": k})
        v = cramers_v(d["source"], d["y"], d["groups"], n_boot=10, n_perm=200, seed=k)
        rows.append({"test": "label_source_association", "p": v.p_value})
        for name, view in _views(d["X"]).items():
            if name not in VERDICT_TESTS:  # the tests the verdict no longer reads: measured by make calibrate only
                continue
            rows.append({"test": name, "p": probe_auroc(view, d["y"], d["groups"], cfg, test=True).p_value})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("test", VERDICT_TESTS)
def test_confirmatory_false_positive_rate(null_pvalues, test):
    p = null_pvalues.loc[null_pvalues["test"] == test, "p"].to_numpy()
    assert len(p) == N_DATASETS
    rate = float(np.mean(p < 0.05))
    lo, hi = wilson(int(np.sum(p < 0.05)), len(p))
    assert 0.02 <= rate <= 0.08, f"{test}: false-positive rate {rate:.3f} (Monte Carlo 95% CI {lo:.3f}-{hi:.3f})"


def test_stratified_test_holds_when_labels_follow_the_source():
    """Labels tied to the source (90/10 by source half), nothing inside a source: the within-source test
    stays at its level, while an unstratified test of the same data rejects (the source is readable)."""
    within, pooled = [], []
    for k in range(200):
        d = synthetic_faces(Design(20, 3, 2, source_tied=0.4), np.random.default_rng(10_000 + k))
        cfg = ProbeConfig(**{**FAST.__dict__, "seed": k})
        within.append(probe_auroc(d["X"], d["y"], d["groups"], cfg, test=True, strata=d["source"]).p_value < 0.05)
        if k < 40:
            pooled.append(probe_auroc(d["X"], d["y"], d["groups"], cfg, test=True).p_value < 0.05)
    assert 0.015 <= np.mean(within) <= 0.09, np.mean(within)
    assert np.mean(pooled) > 0.3  # measured 0.55


def test_old_image_level_cramers_v_fails_where_the_identity_test_holds():
    """40 people x 10 photos with no association: the chi-square over photos rejects most of the time."""
    from scipy.stats import chi2_contingency

    old, new = [], []
    person = np.repeat(np.arange(40), 10)
    for seed in range(100):
        rng = np.random.default_rng(seed)
        src, lab = rng.integers(0, 2, 40)[person], rng.integers(0, 2, 40)[person]
        old.append(chi2_contingency(pd.crosstab(src, lab).to_numpy(), correction=False).pvalue < 0.05)
        new.append(cramers_v(src, lab, person, n_boot=10, n_perm=200, seed=seed).p_value < 0.05)
    assert np.mean(old) > 0.4  # measured 0.66 in the review that found it
    assert np.mean(new) <= 0.1


def test_old_fixed_score_permutation_fails_where_the_refit_test_holds():
    """Labels permuted over one set of pooled out-of-fold scores: too many rejections on noise."""
    from artifactual.analyses.refit import _Probe, probe_features
    from artifactual.analyses.stats import identity_folds, permutation_test_auroc, units

    old, new = [], []
    for seed in range(400):  # 10 people in class 1 and 90 in class 0, 5 photos each
        d = synthetic_faces(Design(10, 5, 1, minority=0.1), np.random.default_rng(20_000 + seed))
        u = units(d["y"], d["groups"])
        cfg = ProbeConfig(**{**FAST.__dict__, "seed": seed, "folds": 5})
        scores, _ = _Probe(probe_features(d["X"], cfg, u.n_id), u, cfg).scores(
            d["y"], identity_folds(u.label, u.stratum, cfg.folds, np.random.default_rng(seed)))
        old.append(permutation_test_auroc(d["y"], scores, n_perm=200, seed=seed, groups=d["groups"])[0] < 0.05)
        new.append(probe_auroc(d["X"], d["y"], d["groups"], cfg, test=True).p_value < 0.05)
    # the same 400 datasets: a valid test stays below 0.09 (0.05 + 3.6 binomial SDs at n = 400)
    assert np.mean(old) > 0.11 and np.mean(old) - np.mean(new) >= 0.03, (np.mean(old), np.mean(new))
    assert 0.02 <= np.mean(new) <= 0.09, np.mean(new)


def test_tables_count_rejections_and_coverage():
    rows = pd.DataFrame({"test": ["t"] * 4, "p": [0.01, 0.2, 0.5, 0.04], "estimate": [0.5, 0.6, 0.4, 0.5],
                         "ci_low": [0.4, 0.55, 0.3, 0.45], "ci_high": [0.6, 0.7, 0.5, 0.55], "truth": 0.5,
                         "signal": 0.0, "ids_per_class": 20, "images_per_id": 1, "minority": 0.5,
                         "kind": "synthetic", "design": "d"})
    fpr, cov = tables(rows)
    row = fpr[(fpr["subset"] == "all designs")].iloc[0]
    assert (row["rejections"], row["datasets"], row["fpr"]) == (2, 4, 0.5)
    c = cov[(cov["interval"] == "reported") & (cov["subset"] == "all designs")].iloc[0]
    assert (c["covered"], c["datasets"]) == (3, 4)  # 0.5 is outside [0.55, 0.70] once


def test_old_fixed_score_bootstrap_interval_undercovers_where_the_refit_interval_holds():
    """Null datasets: the identity bootstrap over one set of out-of-fold scores misses the fitting variance."""
    from artifactual.analyses.refit import _Probe, probe_features
    from artifactual.analyses.stats import bootstrap_metric, identity_folds, units

    old, new = [], []
    for seed in range(150):
        d = synthetic_faces(Design(12, 3, 1), np.random.default_rng(30_000 + seed))
        u = units(d["y"], d["groups"])
        cfg = ProbeConfig(repeats=2, interval_draws=60, seed=seed)
        scores, _ = _Probe(probe_features(d["X"], cfg, u.n_id), u, cfg).scores(
            d["y"], identity_folds(u.label, u.stratum, cfg.folds, np.random.default_rng(seed)))
        b = bootstrap_metric(d["y"], scores, n_boot=300, seed=seed, groups=d["groups"])
        old.append(b.ci_low <= 0.5 <= b.ci_high)
        r = probe_auroc(d["X"], d["y"], d["groups"], cfg)
        new.append(r.ci_low <= 0.5 <= r.ci_high)
    assert np.mean(new) >= 0.92, np.mean(new)
    assert np.mean(old) < np.mean(new) - 0.04, (np.mean(old), np.mean(new))


def test_property_direction_is_chosen_on_training_folds():
    """A property with no signal scores about 0.5; choosing its direction on the evaluated data inflated it."""
    from artifactual.analyses.checks.probes_check import oriented_auroc
    from artifactual.analyses.stats import bootstrap_metric

    ours, after_the_fact = [], []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        y, v = np.tile([0, 1], 40), rng.normal(size=80)
        ours.append(oriented_auroc(v, y, np.arange(80), 5, 2, seed)[0])
        a = bootstrap_metric(y, v, n_boot=10).estimate
        after_the_fact.append(max(a, 1 - a))
    assert abs(np.mean(ours) - 0.5) < 0.03 and np.mean(after_the_fact) > 0.54


# -- the verdict grid (analyses.calibration_verdict): a few cells, one dataset each ---------------------

VERDICT_CELLS = [
    # (trait, artifact, association, sources per class) -> verdicts that are right
    ("strong", "none", 0.6, 2), ("weak", "none", 1.0, 1),  # no artifact: never flagged
    ("none", "strong", 0.8, 1), ("strong", "strong", 0.8, 1),  # strong artifact at >= 0.8
    ("none", "subtle", 0.5, 2),
]


@pytest.mark.parametrize("cell", VERDICT_CELLS, ids=lambda c: "-".join(map(str, c)))
def test_verdict_grid_cells_get_a_right_verdict(cell):
    from artifactual.analyses.calibration_verdict import VerdictDesign, expected_verdicts, large_sample_share, run_one

    design = VerdictDesign(*cell)
    truth = large_sample_share(design, 7, identities=600)
    row = run_one(design, 4242)
    assert row["verdict"] in expected_verdicts(design), row
    if design.artifact == "none":
        assert row["verdict"] != "source_confound"
    if design.artifact == "strong" and design.association >= 0.8:
        assert row["verdict"] in ("source_confound", "partial_confound")
    if np.isfinite(row["explained_share"]) and np.isfinite(truth) and design.trait != "weak":
        assert abs(row["explained_share"] - truth) <= 0.2, (row["explained_share"], truth)


def test_verdict_summary_tables_count_the_targets():
    from artifactual.analyses.calibration_verdict import verdict_summary

    rows = pd.DataFrame({"trait": ["none", "strong", "none", "none"], "artifact": ["none", "none", "strong", "strong"],
                         "association": [0.5, 0.6, 0.8, 1.0], "sources_per_class": 1, "design": list("abcd"),
                         "verdict": ["no_confound_detected", "source_confound", "source_confound", "inconclusive"],
                         "correct": [True, False, True, False], "explained_share": [np.nan, 0.1, 0.9, np.nan],
                         "explained_share_low": [np.nan, 0.0, 0.8, np.nan],
                         "explained_share_high": [np.nan, 0.2, 1.0, np.nan],
                         "truth_share": [np.nan, 0.0, 0.95, np.nan]})
    s = verdict_summary(rows)
    t = s["targets"]
    assert (t["false_source_confound_no_artifact"]["k"], t["false_source_confound_no_artifact"]["n"]) == (1, 2)
    assert not t["false_source_confound_no_artifact"]["met"]
    assert t["flagged_strong_artifact_association_ge_0.8"]["rate"] == 0.5
    assert t["explained_share_within_0.1"]["k"] == 2 and s["accuracy"]["k"] == 2


def test_real_face_cells_assign_sources_given_the_label():
    """The real-face grid's design on a stand-in pool: gender is the label, the side follows it at the association."""
    from artifactual.analyses.calibration_verdict import SIDE, VerdictDesign, verdict_dataset

    rng = np.random.default_rng(0)
    pool = {"raw": rng.integers(0, 255, (300, SIDE, SIDE, 3)).astype(np.uint8), "gender": np.repeat([0, 1], 150)}
    d, mark, side_a = verdict_dataset(VerdictDesign("strong", "strong", 1.0, 2, 80, "real_utkface"), rng, pool=pool)
    assert d.n == 80 and np.bincount(d.y).tolist() == [40, 40] and not mark.any()
    assert set(d.source[d.y == 1]) <= {"s0", "s1"} and set(d.source[d.y == 0]) <= {"s2", "s3"}
    assert side_a[d.y == 1].all() and d.properties["jpeg_quality"].notna().sum() == 40  # side A re-encoded
    d, _, _ = verdict_dataset(VerdictDesign("strong", "none", 0.5, 1, 80, "real_utkface"), rng, pool=pool)
    assert 0.2 < np.mean(d.source[d.y == 1] == "s0") < 0.8 and d.properties["jpeg_quality"].isna().all()
