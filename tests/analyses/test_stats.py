"""Vectorised statistics checked against scikit-learn and SciPy, and for calibration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from artifactual.analyses.stats import (bootstrap_metric, cramers_v, holm, permutation_test_auroc,
                                        weighted_auroc, weighted_average_precision)


@pytest.mark.parametrize("seed", range(5))
def test_point_estimates_match_sklearn_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    score = np.round(y * 0.7 + rng.normal(0, 1, 300), 1)  # rounding makes many ties
    w = rng.integers(0, 4, 300).astype(float)
    assert weighted_auroc(y, score, np.ones(300))[0] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert weighted_auroc(y, score, w)[0] == pytest.approx(roc_auc_score(y, score, sample_weight=w), abs=1e-12)
    assert weighted_average_precision(y, score, np.ones(300))[0] == pytest.approx(
        average_precision_score(y, score), abs=1e-12)
    assert weighted_average_precision(y, score, w)[0] == pytest.approx(
        average_precision_score(y, score, sample_weight=w), abs=1e-12)


def test_bootstrap_interval_covers_the_true_auroc():
    # true AUROC of N(0,1) vs N(1,1) is Phi(1/sqrt 2) = 0.7602
    hits = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        y = np.r_[np.zeros(150), np.ones(150)]
        e = bootstrap_metric(y, y + rng.normal(0, 1, 300), n_boot=400, seed=seed)
        hits += e.ci_low <= 0.7602 <= e.ci_high
    assert hits >= 52  # nominal 95% of 60 = 57; allow Monte-Carlo slack, fail on a broken interval


def test_cluster_bootstrap_is_wider_when_images_repeat_a_person():
    rng = np.random.default_rng(1)
    person = np.repeat(np.arange(40), 10)
    y = (person % 2).astype(int)
    score = np.repeat(rng.normal(0, 1, 40), 10) + 0.5 * y
    plain = bootstrap_metric(y, score, seed=0)
    grouped = bootstrap_metric(y, score, seed=0, groups=person)
    assert (grouped.ci_high - grouped.ci_low) > 1.5 * (plain.ci_high - plain.ci_low)


def test_permutation_test_calibrated_and_powerful():
    rng = np.random.default_rng(2)
    ps = [permutation_test_auroc(rng.integers(0, 2, 200), rng.normal(size=200), n_perm=200, seed=s)[0]
          for s in range(100)]
    assert np.mean(np.array(ps) <= 0.05) <= 0.11
    y = np.r_[np.zeros(100), np.ones(100)].astype(int)
    p, null = permutation_test_auroc(y, y + rng.normal(0, 1, 200), n_perm=1000)
    assert p == pytest.approx(1 / 1001) and len(null) == 1000 and abs(np.mean(null) - 0.5) < 0.01
    with pytest.raises(ValueError, match="one label per group"):
        permutation_test_auroc(y, y * 1.0, groups=np.zeros(200))


def test_holm_and_cramers_v():
    assert holm([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    a = np.repeat(["x", "y"], 100)
    assert cramers_v(a, (a == "x").astype(int), n_boot=50, n_perm=50).estimate == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    v = cramers_v(rng.integers(0, 3, 500), rng.integers(0, 2, 500), n_boot=100, n_perm=200)
    assert v.estimate < 0.15 and v.p_value > 0.05 and v.ci_low == 0.0 < v.ci_high
    one = cramers_v(["s"] * 10, [0, 1] * 5, n_boot=10)
    assert one.estimate == 0.0 and one.p_value == 1.0


def test_cramers_v_resamples_and_permutes_people_not_images():
    """40 people x 10 photos, sources assigned per person, labels per person, no association."""
    person = np.repeat(np.arange(40), 10)
    wide, rejections = [], 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        src, lab = rng.integers(0, 2, 40)[person], rng.integers(0, 2, 40)[person]
        v = cramers_v(src, lab, person, n_boot=200, n_perm=200, seed=seed)
        per_image = cramers_v(src, lab, None, n_boot=200, n_perm=200, seed=seed)  # images as if independent
        wide.append((v.ci_high - v.estimate) / max(1e-9, per_image.ci_high - per_image.estimate))
        rejections += v.p_value < 0.05
    assert np.median(wide) > 2  # people, not photos: a much wider interval
    assert rejections <= 6  # nominal 2 of 40; images-as-independent rejects in most of these datasets


def test_permuted_labels_move_whole_people():
    from artifactual.analyses.stats import permuted_labels, units

    rng = np.random.default_rng(0)
    person = np.repeat(np.arange(30), 4)
    y = rng.integers(0, 2, 30)[person]
    u = units(y, person)
    for _ in range(20):
        yp = permuted_labels(u, y, rng)
        assert (yp.reshape(30, 4) == yp.reshape(30, 4)[:, :1]).all() and yp.sum() == y.sum()
    mixed = y.copy()
    mixed[::4] = 1 - mixed[::4]  # every person now carries both labels in some photos
    u = units(mixed, person)
    assert not u.constant
    yp = permuted_labels(u, mixed, rng)
    assert sorted(yp.reshape(30, 4).sum(1).tolist()) == sorted(mixed.reshape(30, 4).sum(1).tolist())
    strata = np.repeat(np.arange(2), 60)
    u = units(y, person, strata)
    yp = permuted_labels(u, y, rng)
    assert yp[:60].sum() == y[:60].sum() and yp[60:].sum() == y[60:].sum()  # within strata


def test_fast_grouped_folds_equal_scikit_learns():
    """The vectorised fold search gives exactly scikit-learn's StratifiedGroupKFold folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    from artifactual.analyses.evaluate import FastStratifiedGroupKFold

    for t in range(120):
        rng = np.random.default_rng(t)
        n = int(rng.integers(20, 600))
        groups = (np.arange(n) if t % 3 == 0 else rng.integers(0, int(rng.integers(5, n)), n)).astype(str)
        y = rng.integers(0, 3, n) if t % 5 == 0 else (rng.random(n) < rng.uniform(0.1, 0.9)).astype(int)
        k = int(rng.integers(2, 6))
        if len(np.unique(groups)) < k:
            continue
        kw = {"shuffle": True, "random_state": t} if t % 2 else {}
        ours = [te.tolist() for _, te in FastStratifiedGroupKFold(k, **kw).split(y, y, groups)]
        theirs = [te.tolist() for _, te in StratifiedGroupKFold(k, **kw).split(y, y, groups)]
        assert ours == theirs, t
