"""Subgroup fairness tables: numbers recomputed independently (scikit-learn on boolean masks,
fairlearn's MetricFrame), interval coverage, the min-n rule, Holm, and planted known answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score, precision_recall_fscore_support,
                             roc_auc_score)

from artifactual.analyses.fairness import (METRICS, FairnessConfig, _weighted_metrics, group_table,
                                           per_class_table)
from artifactual.analyses.stats import holm

SKLEARN = {"accuracy": lambda y, p, s: accuracy_score(y, p),
           "balanced_accuracy": lambda y, p, s: balanced_accuracy_score(y, p),
           "roc_auc": lambda y, p, s: roc_auc_score(y, s),
           "f1": lambda y, p, s: f1_score(y, p, pos_label=1)}
FAST = FairnessConfig(n_boot=200)


def _data(sizes: dict[str, int], acc: dict[str, float], seed: int = 0):
    """Labels, predictions right with probability acc[g], noisy scores, group labels."""
    rng = np.random.default_rng(seed)
    g = np.concatenate([np.repeat(k, n) for k, n in sizes.items()])
    y = rng.integers(0, 2, len(g))
    right = rng.random(len(g)) < np.array([acc[k] for k in g])
    pred = np.where(right, y, 1 - y)
    score = np.clip(0.3 + 0.4 * pred + rng.normal(0, 0.2, len(g)), 0, 1)
    return y, pred, score, g


def _exact(n: int, rate: float, label: str):
    """n items, exactly round(rate * n) of them right, balanced classes (no sampling noise)."""
    y = np.arange(n) % 2
    pred = y.copy()
    wrong = np.arange(n) < round((1 - rate) * n)
    pred[wrong] = 1 - pred[wrong]
    return y, pred, np.where(pred == 1, 0.7, 0.3) + 0.001 * (np.arange(n) % 7), np.repeat(label, n)


def _concat(*parts):
    return [np.concatenate(x) for x in zip(*parts)]


@pytest.fixture(scope="module")
def table():
    y, pred, score, g = _data({"a": 60, "b": 150, "c": 400, "d": 900, "tiny": 20},
                              {"a": 0.7, "b": 0.8, "c": 0.85, "d": 0.9, "tiny": 0.3})
    other = np.where(np.arange(len(y)) % 3 == 0, "x", "y").astype(object)
    other[::11] = None  # missing: left out of this attribute only
    return (y, pred, score, g, other), group_table(y, pred, score, {"g": g, "other": other}, FAST)


def test_every_group_metric_equals_sklearn_on_boolean_masks(table):
    (y, pred, score, g, other), t = table
    cols = {"g": g, "other": other}
    for row in t["groups"]:
        mask = np.asarray(cols[row["attribute"]] == row["group"], dtype=bool)
        assert row["n"] == mask.sum() and row["n_pos"] == y[mask].sum()
        for m in METRICS:
            if row[m] is not None:
                assert row[m]["estimate"] == pytest.approx(SKLEARN[m](y[mask], pred[mask], score[mask]), abs=1e-12)
                assert row[m]["ci_low"] <= row[m]["estimate"] <= row[m]["ci_high"]
    assert sum(r["n"] for r in t["groups"] if r["attribute"] == "other") == np.sum(other != None)  # noqa: E711
    for m in METRICS:
        assert t["overall"][m]["estimate"] == pytest.approx(SKLEARN[m](y, pred, score), abs=1e-12)


def test_bootstrap_replicates_equal_sklearn_with_sample_weight():
    y, pred, score, _ = _data({"a": 300}, {"a": 0.8}, seed=3)
    w = np.random.default_rng(0).multinomial(300, np.full(300, 1 / 300), size=3).astype(float)
    got = _weighted_metrics(y, pred, score, w)
    for b in range(3):
        assert got["accuracy"][b] == pytest.approx(accuracy_score(y, pred, sample_weight=w[b]))
        assert got["balanced_accuracy"][b] == pytest.approx(balanced_accuracy_score(y, pred, sample_weight=w[b]))
        assert got["f1"][b] == pytest.approx(f1_score(y, pred, sample_weight=w[b]))
        assert got["roc_auc"][b] == pytest.approx(roc_auc_score(y, score, sample_weight=w[b]))


def test_accuracy_interval_covers_the_true_rate():
    """200 groups of 150 items with true accuracy 0.8, as 200 data sets: each group's interval uses
    only its own items' columns of the weights, so the 200 coverage events are (nearly) independent.
    One table instead of 200 keeps this to a few seconds (MetricFrame costs ~0.1 s per call)."""
    rng = np.random.default_rng(7)
    n = 200 * 150
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    g = np.repeat(np.arange(200), 150).astype(str)
    t = group_table(y, pred, pred * 0.5 + 0.25, {"g": g}, FairnessConfig(n_boot=300, seed=1))
    covered = [r["accuracy"]["ci_low"] <= 0.8 <= r["accuracy"]["ci_high"] for r in t["groups"]]
    assert len(covered) == 200 and 0.88 <= np.mean(covered) <= 0.99


def test_small_groups_get_no_numbers_and_drop_out_of_comparisons(table):
    _, t = table
    tiny = next(r for r in t["groups"] if r["group"] == "tiny")
    assert tiny["too_small"] and "min_n" in tiny["reason"]
    assert all(tiny[m] is None and m in tiny["reasons"] for m in METRICS)
    a = t["attributes"]["g"]
    assert a["excluded_groups"] == ["tiny"] and a["eligible_groups"] == ["a", "b", "c", "d"]
    # "tiny" has the lowest accuracy (0.3 planted) but must not be called the worst group
    assert all(a["worst"][m]["group"] == "a" for m in ("accuracy", "balanced_accuracy"))
    assert "tiny" not in a["statement"]
    assert all(t_.get("group") != "tiny" for t_ in a["tests"])
    # the seed's way still counts it (Table 4 included a one-image decade)
    assert a["spread_stats"]["accuracy"]["n_groups"] == 4
    assert a["spread_stats_all_groups"]["accuracy"]["n_groups"] == 5


def test_one_class_group_has_no_auc_but_has_accuracy():
    y, pred, score, g = _data({"a": 200, "b": 200}, {"a": 0.8, "b": 0.8})
    y1, p1, s1, g1 = _exact(60, 0.9, "one_class")
    y1[:] = 1
    y, pred, score, g = _concat((y, pred, score, g), (y1, p1, s1, g1))
    t = group_table(y, pred, score, {"g": g}, FAST)
    row = next(r for r in t["groups"] if r["group"] == "one_class")
    assert not row["too_small"] and row["accuracy"]["estimate"] == pytest.approx(accuracy_score(y1, p1))
    for m in ("roc_auc", "balanced_accuracy"):
        assert row[m] is None and "0 negative" in row["reasons"][m]
    assert t["attributes"]["g"]["spread_stats"]["roc_auc"]["n_groups"] == 2
    assert t["attributes"]["g"]["spread_stats"]["accuracy"]["n_groups"] == 3


def test_difference_and_ratio_equal_metricframe_on_eligible_groups(table):
    (y, pred, score, g, _), t = table
    keep = g != "tiny"
    sf = g[keep]
    for m in METRICS:
        if m == "roc_auc":
            mf = MetricFrame(metrics=roc_auc_score, y_true=y[keep], y_pred=score[keep], sensitive_features=sf)
        else:
            fn = {"accuracy": accuracy_score, "balanced_accuracy": balanced_accuracy_score, "f1": f1_score}[m]
            mf = MetricFrame(metrics=fn, y_true=y[keep], y_pred=pred[keep], sensitive_features=sf)
        d, r = t["attributes"]["g"]["difference"][m], t["attributes"]["g"]["ratio"][m]
        assert d["estimate"] == pytest.approx(mf.difference(method="between_groups"), abs=1e-12)
        assert r["estimate"] == pytest.approx(mf.ratio(method="between_groups"), abs=1e-12)
        assert d["ci_low"] <= d["estimate"] <= d["ci_high"] and r["ci_low"] <= r["estimate"] <= r["ci_high"]
        assert t["attributes"]["g"]["worst"][m]["estimate"] == pytest.approx(mf.group_min(), abs=1e-12)


def test_holm_runs_over_every_test_in_the_table(table):
    _, t = table
    tests = [x for a in t["attributes"].values() for x in a["tests"]]
    assert {x["attribute"] for x in tests} == {"g", "other"} and len(tests) == 1 + 4 + 1 + 1
    assert all(x["p_holm"] >= x["p_value"] for x in tests)
    assert [x["p_holm"] for x in tests] == holm([x["p_value"] for x in tests])
    assert t["correction"] == "Holm across all tests in this table"


def test_planted_gap_is_called_differs():
    y, pred, score, g = _concat(_exact(400, 0.95, "good"), _exact(400, 0.70, "bad"))
    a = group_table(y, pred, score, {"g": g}, FAST)["attributes"]["g"]
    assert a["parity"] == "differs" and a["statement"].startswith("accuracy differs across g: worst bad 0.700")
    assert a["difference"]["accuracy"]["estimate"] == pytest.approx(0.25)


def test_equal_large_groups_are_called_similar():
    y, pred, score, g = _concat(_exact(5000, 0.9, "p"), _exact(5000, 0.9, "q"))
    a = group_table(y, pred, score, {"g": g}, FAST)["attributes"]["g"]
    assert a["parity"] == "similar", a["statement"]
    assert a["difference"]["accuracy"]["ci_high"] < 0.05 and "within 0.05" in a["statement"]


def test_equal_tiny_groups_cannot_tell():
    y, pred, score, g = _concat(_exact(40, 0.8, "p"), _exact(40, 0.8, "q"))
    a = group_table(y, pred, score, {"g": g}, FAST)["attributes"]["g"]
    assert a["parity"] == "cannot_tell" and a["statement"].startswith("intervals too wide to call g fair")
    y, pred, score, g = _concat(_exact(100, 0.8, "p"), _exact(20, 0.8, "q"))
    a = group_table(y, pred, score, {"g": g}, FAST)["attributes"]["g"]
    assert a["parity"] == "cannot_tell" and "fewer than 2 groups" in a["statement"] and a["tests"] == []


# A confusion matrix consistent with the seed's Table 6 (male: 982 of 1,114 right; female: 893 of 1,022).
SEED_Y = np.r_[np.zeros(1114, int), np.ones(1022, int)]
SEED_PRED = np.r_[np.zeros(982, int), np.ones(132, int), np.ones(893, int), np.zeros(129, int)]


def test_per_class_table_matches_sklearn_and_reproduces_the_seed():
    t = per_class_table(SEED_Y, SEED_PRED, {0: "male", 1: "female"}, FAST)
    prec, rec, f1, support = precision_recall_fscore_support(SEED_Y, SEED_PRED, labels=[0, 1])
    for k, row in enumerate(t["classes"]):
        assert row["n"] == support[k]
        for m, ref in (("precision", prec), ("recall", rec), ("f1", f1)):
            assert row[m]["estimate"] == pytest.approx(ref[k], abs=1e-12)
            assert row[m]["ci_low"] <= row[m]["estimate"] <= row[m]["ci_high"]
    # the seed's table, three decimals
    assert [[round(r[m]["estimate"], 3) for m in ("precision", "recall", "f1")] for r in t["classes"]] == \
        [[0.884, 0.882, 0.883], [0.871, 0.874, 0.872]]
    rel = {m: round(t["relative_difference"][m]["estimate"], 3) for m in ("precision", "recall", "f1")}
    assert rel == {"precision": 0.014, "recall": 0.009, "f1": 0.012}
    # not the plain difference, nor |a - b| / (a + b): those give other numbers
    assert round(t["difference"]["f1"]["estimate"], 3) != 0.012
    for m in ("precision", "recall", "f1"):
        r = t["relative_difference"][m]
        assert r["ci_low"] <= r["estimate"] <= r["ci_high"] and r["p_value"] <= r["p_holm"] <= 1


def test_per_class_p_value_finds_a_planted_gap_and_not_a_null():
    y = np.r_[np.zeros(500, int), np.ones(500, int)]
    gap = y.copy()
    gap[:100] = 1  # class 0 recall 0.8, class 1 recall 1.0
    assert per_class_table(y, gap, {0: "m", 1: "f"}, FAST)["relative_difference"]["recall"]["p_value"] < 0.01
    same = y.copy()
    same[:50], same[500:550] = 1, 0
    assert per_class_table(y, same, {0: "m", 1: "f"}, FAST)["relative_difference"]["recall"]["p_value"] > 0.5


def test_clusters_widen_intervals_when_items_are_duplicated():
    y, pred, score, g = _data({"a": 100, "b": 100}, {"a": 0.7, "b": 0.9}, seed=2)
    rep = lambda v: np.repeat(v, 5)  # noqa: E731 - each item five times, e.g. five images of one person
    ids = rep(np.arange(200))
    args = (rep(y), rep(pred), rep(score), {"g": rep(g)})
    flat, clus = group_table(*args, FAST), group_table(*args, FAST, clusters=ids)
    width = lambda d: d["ci_high"] - d["ci_low"]  # noqa: E731
    assert width(clus["overall"]["accuracy"]) > 1.5 * width(flat["overall"]["accuracy"])
    for r_flat, r_clus in zip(flat["groups"], clus["groups"]):
        assert width(r_clus["accuracy"]) > 1.5 * width(r_flat["accuracy"])
    assert clus["tests_ignore_clusters"] and "tests_ignore_clusters" not in flat


def test_output_is_json_serialisable(table):
    _, t = table
    json.dumps(t, allow_nan=False)
    json.dumps(per_class_table(SEED_Y, SEED_PRED, {0: "male", 1: "female"}, FAST), allow_nan=False)
    assert t["config"] == {"n_boot": 200, "seed": 0, "min_n": 30, "min_per_class": 5, "parity_margin": 0.05}


def test_bad_inputs_are_refused_with_the_value_named():
    with pytest.raises(ValueError, match="n_boot"):
        FairnessConfig(n_boot="100")
    with pytest.raises(ValueError, match="min_n"):
        FairnessConfig(min_n=True)
    y, pred, score, g = _exact(40, 0.8, "a")
    with pytest.raises(ValueError, match="attribute 'g' has 39 labels"):
        group_table(y, pred, score, {"g": g[:-1]}, FAST)
    with pytest.raises(ValueError, match="y_pred must hold labels 0/1"):
        group_table(y, pred * 2, score, {}, FAST)
