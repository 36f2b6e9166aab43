"""Known answers for the decomposition of the headline and the verdict that reads it (the hard cases of
the verdict issue), on synthetic portraits the tests make.

- partial confounding at 80/20 with a real signal -> partial_confound, the explained share's interval
  holding the share of an ideal scorer on the same data;
- a real trait in every face at V about 0.6 with a strong capture artifact -> not source_confound;
- four single-class sources per class with an artifact -> source_confound;
- a capture difference hidden inside one declared source -> hidden_capture_difference;
- a mark inside the face with label = source and identical captures -> not source_confound;
- a strong artifact with labels tied to the source at 60/40 -> not no_confound_detected;
- the within-source AUROC against scikit-learn on boolean masks; the controlled-confounding curve,
  the capture swap and the harmonised headline on a dataset whose only signal is the capture.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from artifactual.analyses.audit import audit_in_memory
from artifactual.analyses.audit_data import AuditConfig, AuditData, pipeline_from_raw
from artifactual.analyses.decomposition import harmonised_headline, within_source_auroc
from artifactual.analyses.decomposition_heldout import capture_swap, controlled_confounding
from artifactual.analyses.probes import property_table
from artifactual.replication.preprocess import Goel2022Preprocess
from test_verdict import SIDE, draw_mark, faces, mugshot_style

CFG = AuditConfig(raw_side=SIDE, n_boot=200, n_perm=200, repeats=3, interval_draws=30, folds=5)
VERDICT_CHECKS = ["label_source_association", "label_learnable", "capture_properties", "face_removed_dilated"]
FACE_BOX = (SIDE // 2 - SIDE // 3, 2, 2 * (SIDE // 3), SIDE - 4)  # the box of faces()' ellipse


def make(raw, y, source, groups, box=None) -> AuditData:
    n = len(y)
    boxes = np.tile(box or (0, 0, SIDE, SIDE), (n, 1))
    pp = Goel2022Preprocess(detect_face=False, size=SIDE)
    return AuditData(X=pipeline_from_raw(raw, boxes, pp), raw=raw, boxes=boxes, y=np.asarray(y).astype(int),
                     source=np.asarray(source).astype(str), groups=np.asarray(groups).astype(str),
                     properties=property_table(list(raw)), table=None, preprocess=pp, label_values={0: "B", 1: "A"})


def design(seed: int, n_id: int = 120, p: float = 0.8, q: float = 0.6, artifact=mugshot_style, n_sources: int = 2,
           box=None):
    """Identities in ``n_sources`` sources (first half: side A); P(class 1 | side A) = p, (side B) = 1 - p;
    ``artifact`` on side A's photos; a drawn mark on a share ``q`` of class-1 identities. Returns the data,
    and each image's mark and side."""
    rng = np.random.default_rng(seed)
    src_id = np.arange(n_id) % n_sources
    side_a = src_id < n_sources / 2
    y_id = (rng.random(n_id) < np.where(side_a, p, 1 - p)).astype(int)
    mark_id = (y_id == 1) & (rng.random(n_id) < q)
    pid = np.repeat(np.arange(n_id), 2)
    raw = faces(len(pid), rng)
    for i, k in enumerate(pid):
        if artifact is not None and side_a[k]:
            raw[i] = artifact(raw[i])
        if mark_id[k]:
            raw[i] = draw_mark(raw[i])
    d = make(raw, y_id[pid], np.array([f"s{s}" for s in src_id[pid]]), pid, box)
    return d, mark_id[pid], side_a[pid]


def test_within_source_auroc_matches_scikit_learn_per_source():
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 300), rng.normal(size=300)
    src = rng.choice(["a", "b", "c"], 300)
    pairs = {k: (y[src == k] == 1).sum() * (y[src == k] == 0).sum() for k in "abc"}
    expected = sum(roc_auc_score(y[src == k], s[src == k]) * pairs[k] for k in "abc") / sum(pairs.values())
    assert within_source_auroc(y, s, src, ["a", "b", "c"])[0] == pytest.approx(expected)
    w = rng.integers(0, 3, (4, 300)).astype(float)  # bootstrap-like weights: as repeating images
    k = np.repeat(np.arange(300), w[1].astype(int))
    assert within_source_auroc(y, s, src, list("abc"), w)[1] == pytest.approx(within_source_auroc(y[k], s[k], src[k], list("abc"))[0])


def test_partial_confound_at_80_20_with_a_real_signal():
    d, mark, side_a = design(0)
    verdict, reasons, checks, head = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict == "partial_confound", reasons
    # truth: an ideal scorer ranks marked faces first, then side A (the capture), then side B
    ideal = 2.0 * mark + side_a
    h, w = roc_auc_score(d.y, ideal), within_source_auroc(d.y, ideal, d.source, sorted(set(d.source)))[0]
    truth = (h - w) / (h - 0.5)
    share = head["decomposition"]["table"]["explained_share"]
    assert share["ci"][0] <= truth <= share["ci"][1], (share, truth)
    assert 0.1 < truth < 0.5 and any("the source explains" in r for r in reasons)


def test_real_trait_at_association_0_6_with_an_artifact_is_not_a_source_confound():
    d, _, _ = design(1, p=0.8, q=1.0)  # every class-1 face carries the mark; V about 0.6
    verdict, reasons, checks, head = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    v = next(c for c in checks if c.name == "label_source_association")
    assert 0.4 < v.estimate < 0.8
    assert verdict == "no_confound_detected", reasons


def test_four_single_class_sources_per_class_with_an_artifact_are_a_source_confound():
    d, _, _ = design(2, n_id=160, p=1.0, q=0.0, n_sources=8)
    assert sorted(set(d.source)) == [f"s{i}" for i in range(8)]
    verdict, reasons, _, head = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict == "source_confound", reasons
    table = head["decomposition"]["table"]
    assert "within_source" not in table and "explained_share" not in table  # no source holds both classes
    assert table["label_from_source_alone"]["estimate"] == pytest.approx(1.0) and "capture_properties" in table


def test_a_capture_difference_hidden_in_one_declared_source():
    def darker(x):  # another exposure: 0.8x brightness
        return (x.astype(float) * 0.8).astype(np.uint8)

    d, _, _ = design(3, p=1.0, q=0.0, artifact=darker, box=FACE_BOX)
    d.source[:] = "one_archive"
    verdict, reasons, _, _ = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict == "hidden_capture_difference", reasons
    clean, _, _ = design(4, p=1.0, q=1.0, artifact=None, box=FACE_BOX)  # a real mark, one capture
    clean.source[:] = "one_archive"
    verdict, reasons, _, _ = audit_in_memory(clean, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict == "no_confound_detected", reasons


def test_a_mark_inside_the_face_with_label_equal_to_source_is_not_a_source_confound():
    d, _, _ = design(5, p=1.0, q=1.0, artifact=None, box=FACE_BOX)  # two sources, identical captures
    verdict, reasons, checks, _ = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict == "inconclusive", reasons


def test_a_strong_artifact_tied_to_the_source_at_60_40_is_not_cleared():
    d, _, _ = design(6, n_id=240, p=0.6, q=0.0)
    verdict, reasons, _, head = audit_in_memory(d, CFG, VERDICT_CHECKS, with_headline=False)
    assert verdict in ("source_confound", "inconclusive"), reasons
    assert head["decomposition"]["table"]["within_source"]["ci"][0] <= 0.5


def test_controlled_confounding_swap_and_harmonised_see_a_capture_only_signal():
    d, _, _ = design(7, n_id=200, p=0.8, q=0.0)  # the label's only image signal is side A's capture
    cc = controlled_confounding(d, minimum=5, n_boot=100, seed=0)
    assert cc["status"] == "ok" and [r["association"] for r in cc["levels"]] == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    top = cc["levels"][-1]
    assert top["same"]["estimate"] > 0.8 and top["reversed"]["estimate"] < 0.3
    assert top["inflation"]["ci"][0] > 0 and abs(cc["levels"][0]["inflation"]["estimate"]) < 1e-12
    assert 0.7 < cc["observed_association"] < 0.9
    sw = capture_swap(d, n_boot=100, seed=0)
    assert sw["status"] == "ok" and len(sw["swaps"]) == 2
    moved = max(r["flip_rate_moved"]["estimate"] for r in sw["swaps"])
    control = max(r["flip_rate_control"]["estimate"] for r in sw["swaps"])
    assert moved > 0.3 and moved > control, sw["swaps"]
    hm = harmonised_headline(d, folds=3, repeats=1, draws=5, seed=0)
    assert hm["status"] == "ok" and hm["auroc"]["n"] == d.n and hm["floor"]["side"] >= 8


def test_audit_command_on_a_planted_partial_confound(tmp_path):
    from artifactual.app.cli import main

    d, mark, side_a = design(0)
    rows = []
    for i, px in enumerate(d.raw):
        Image.fromarray(px).save(tmp_path / f"{i}.png")
        rows.append({"path": f"{i}.png", "outcome": "A" if d.y[i] else "B", "archive": d.source[i],
                     "person": d.groups[i]})
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    out = tmp_path / "audit"
    rc = main(["audit", "--manifest", str(tmp_path / "m.csv"), "--label", "outcome", "--source", "archive",
               "--identity", "person", "--positive", "A", "--out", str(out), "--no-progress",
               "--set", "detect_face=false", "--set", f"size={SIDE}", "--models", "pixel_logreg"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["verdict"] == "partial_confound", s["verdict_reasons"]
    ideal = 2.0 * mark + side_a
    h, w = roc_auc_score(d.y, ideal), within_source_auroc(d.y, ideal, d.source, sorted(set(d.source)))[0]
    truth = (h - w) / (h - 0.5)
    table = s["decomposition"]["table"]
    assert table["explained_share"]["ci"][0] <= truth <= table["explained_share"]["ci"][1]
    assert {"headline", "within_source", "harmonised", "counterfactual_flip_rate", "explained_share"} <= set(table)
    cc = s["decomposition"]["parts"]["controlled_confounding"]  # 120 people: too few per (side, class) cell here
    assert ("balanced" in table) == (cc["status"] == "ok") and (cc["status"] == "ok" or "identities" in cc["reason"])
    assert all({"estimate", "ci", "n"} <= set(table[k]) for k in ("headline", "within_source", "explained_share"))
    assert "How much of the headline is source?" in (out / "summary.md").read_text()
