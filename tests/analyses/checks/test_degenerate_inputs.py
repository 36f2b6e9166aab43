"""Degenerate inputs (issue 15): an odd image must not disable a check, and checks on data with nothing in
them must say so instead of reporting a number.

- defect 4: one 400 x 2 PNG among ordinary photos made ``harmonisation``, ``dose_response`` and the harmonised
  headline fail on a zero-height face crop;
- defect 9: identical or all-black images gave intervals of width 0 that the verdict then cited as evidence.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.analyses.audit import HeadlineConfig, audit_in_memory
from artifactual.analyses.audit_data import AuditConfig, AuditData, box_in_raw, build_audit_data, pipeline_from_raw
from artifactual.analyses.checks import CHECKS
from artifactual.analyses.decomposition import PARTS
from artifactual.replication.data import manifest as manifest_loader
from artifactual.replication.preprocess import Goel2022Preprocess, resize_with_padding

SMALL = AuditConfig(raw_side=32, n_boot=50, n_perm=50, interval_draws=10, repeats=2, dose_max_images=40)
PP = Goel2022Preprocess(detect_face=False, size=16)


@pytest.mark.parametrize("hw", ["2,400", "400,2", "1,1000", "3,3", "40,40"])
def test_a_raw_face_box_is_never_empty_and_lies_where_the_picture_is(hw):
    """With no detected box, the whole picture is the box: where resize_with_padding put it in the raw frame."""
    h, w = (int(v) for v in hw.split(","))
    side = 64
    x, y, bw, bh = box_in_raw("", hw, side)
    assert bw >= 1 and bh >= 1
    frame = resize_with_padding(np.full((h, w), 255, np.uint8), side, 0, True)
    rows, cols = np.flatnonzero(frame.any(1)), np.flatnonzero(frame.any(0))
    assert (x, y, bw, bh) == (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)


def test_pipeline_from_raw_survives_a_box_outside_the_frame():
    raw = np.full((2, 32, 32, 3), 90, np.uint8)
    X = pipeline_from_raw(raw, np.array([[0, 32, 32, 0], [40, 5, 3, 3]]), PP)
    assert X.shape == (2, 16, 16)


@pytest.fixture(scope="module")
def odd_manifest(tmp_path_factory):
    """40 smooth random photos (two sources, one class each) and one 400 x 2 PNG."""
    root = tmp_path_factory.mktemp("odd")
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        cls = "flagged" if i < 20 else "clear"
        img = np.clip(cv2.GaussianBlur(rng.normal(110, 40, (24, 24, 3)), (0, 0), 2), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / f"{i}.png")
        rows.append({"path": f"{i}.png", "outcome": cls, "archive": "x" if cls == "flagged" else "web"})
    Image.fromarray(np.full((2, 400, 3), 100, np.uint8)).save(root / "odd.png")
    rows.append({"path": "odd.png", "outcome": "clear", "archive": "web"})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return root / "m.csv"


def test_one_odd_image_does_not_disable_the_checks_that_edit_photographs(odd_manifest):
    ds = manifest_loader.load(odd_manifest, label_col="outcome", source_col="archive")
    d = build_audit_data(ds, "label", PP, SMALL, positive="flagged")
    odd = np.flatnonzero(d.table["path"].astype(str).str.endswith("odd.png"))
    if len(odd):  # kept: its face box must be a real region of its raw frame
        x, y, w, h = d.boxes[odd[0]]
        assert w >= 1 and h >= 1 and 0 <= x < SMALL.raw_side and 0 <= y < SMALL.raw_side
    else:  # or skipped, with its reason counted
        assert sum(d.preprocessing_report.get("skipped_in_audit", {}).values()) == 1
    for name in ("harmonisation", "dose_response"):
        rows = CHECKS.get(name)(d, SMALL)
        assert all(r.status == "ok" and np.isfinite(r.estimate) for r in rows), [(r.name, r.reading) for r in rows]
    part = PARTS["harmonised"](d, SMALL, HeadlineConfig(models=("pixel_logreg",), cv_repeats=1, interval_draws=5))
    assert part["status"] == "ok"


def _nothing(kind: str, n: int) -> np.ndarray:
    """``n`` copies of one smooth random picture (``identical``), or ``n`` black pictures (``black``)."""
    rng = np.random.default_rng(3)
    one = np.clip(cv2.GaussianBlur(rng.normal(110, 40, (32, 32, 3)), (0, 0), 2), 0, 255).astype(np.uint8)
    return np.repeat((one if kind == "identical" else np.zeros_like(one))[None], n, axis=0)


def _assert_degenerate(rows, names):
    by = {c.name: c for c in rows}
    for name in names:
        assert by[name].status == "degenerate", (name, by[name].status, by[name].reading)
        assert by[name].reading.startswith("degenerate: ") and not np.isfinite(by[name].estimate)
        assert "nothing to learn from" in by[name].reading


def _no_flat_interval(rows):
    """No row with a number has the interval of width 0 that constant scores produce, except the design's own
    Cramér's V (class = source: V is 1 in every bootstrap sample)."""
    return [c.name for c in rows if c.status == "ok" and c.ci_low == c.ci_high and c.name != "label_source_association"]


@pytest.mark.parametrize("kind", ["identical", "black"])
def test_no_evidence_from_nothing_with_single_class_sources(kind):
    """Class = source, two sources per class (so leave-one-source-out runs), 40 people with 2 images each:
    every check that reads the images says it is degenerate, and the verdict cites none of them."""
    y = np.repeat([1, 0], 40)
    d = AuditData.from_arrays(_nothing(kind, 80), y, np.repeat(["studio", "archive", "web", "phone"], 20),
                              groups=np.repeat(np.arange(40), 2), label_values={0: "B", 1: "A"})
    verdict, reasons, checks, head = audit_in_memory(d, SMALL, with_headline=False,
                                                     parts=("within_source", "harmonised", "capture_swap"))
    _assert_degenerate(checks, ("label_learnable", "leave_one_source_out", "source_predictability",
                                "source_predictability_within_class_A", "blur_ablation", "face_removed",
                                "face_only_normalised", "harmonised_common_floor", "harmonised_histograms",
                                "identity_leakage", "image_properties", "capture_properties"))
    assert ("identical" if kind == "identical" else "black") in {c.name: c for c in checks}["label_learnable"].reading
    assert _no_flat_interval(checks) == []
    parts = head["decomposition"]["parts"]
    assert parts["harmonised"]["status"] == parts["capture_swap"]["status"] == "degenerate"
    assert verdict == "inconclusive"
    assert reasons[0].startswith("degenerate evidence: every image is")
    assert not any("[0.500, 0.500]" in r or "0.500 —" in r for r in reasons)


def test_no_evidence_from_nothing_with_mixed_sources():
    """Black images, both classes in each of two sources (so the within-source part, the random-label control
    and the dose-response controls run): the same; what the design says without the images keeps its number."""
    y = np.tile([0, 1], 40)
    d = AuditData.from_arrays(_nothing("black", 80), y, np.repeat(["studio", "web"], 40))
    verdict, reasons, checks, head = audit_in_memory(d, SMALL, with_headline=False,
                                                     parts=("within_source", "controlled_confounding"))
    _assert_degenerate(checks, ("label_learnable", "within_source_random_labels", "dose_response_jpeg_quality",
                                "dose_response_gamma", "dose_response_greyscale"))
    by = {c.name: c for c in checks}
    assert by["label_source_association"].status == by["label_from_source_alone"].status == "ok"
    assert _no_flat_interval(checks) == []
    parts = head["decomposition"]["parts"]
    assert parts["within_source"]["status"] == parts["controlled_confounding"]["status"] == "degenerate"
    assert "within_source" not in head["decomposition"]["table"]
    assert verdict == "inconclusive" and reasons[0].startswith("degenerate evidence: every image is the same flat")
