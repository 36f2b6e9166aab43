"""Known answers the verdict rules must get right, on synthetic images the tests make.

- a property planted in one class only (class = source) -> source_confound;
- a clearly visible real signal (a drawn mark on class-1 faces) present in every source
  -> no_confound_detected;
- pure noise with 90/10 labels -> not flagged;
- over 100 random-label datasets, false source_confound verdicts <= 5%.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from artifactual.analyses.audit import HeadlineConfig, audit_in_memory
from artifactual.analyses.audit_data import AuditConfig, AuditData, pipeline_from_raw
from artifactual.analyses.checks import CHECKS
from artifactual.analyses.probes import property_table
from artifactual.replication.parallel import use_settings
from artifactual.replication.preprocess import Goel2022Preprocess

SIDE = 24
FAST = AuditConfig(raw_side=SIDE, n_boot=200, n_perm=200, repeats=2, interval_draws=30, dose_max_images=80, folds=3)
PP = Goel2022Preprocess(detect_face=False, size=SIDE)


def faces(n: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random 'portraits': a skin-toned ellipse with blurred texture on a textured background."""
    out = np.empty((n, SIDE, SIDE, 3), np.uint8)
    for i in range(n):
        bg = cv2.GaussianBlur(rng.normal(110, 40, (SIDE, SIDE, 3)), (0, 0), 2)
        img = bg.copy()
        m = np.zeros((SIDE, SIDE), np.uint8)
        cv2.ellipse(m, (SIDE // 2, SIDE // 2), (SIDE // 3, SIDE // 2 - 2), 0, 0, 360, 1, -1)
        tone = rng.uniform(120, 200) * np.array([1.0, 0.8, 0.7])
        img[m == 1] = tone + cv2.GaussianBlur(rng.normal(0, 25, (SIDE, SIDE)), (0, 0), 1.5)[m == 1][:, None]
        out[i] = np.clip(img, 0, 255)
    return out


def mugshot_style(x: np.ndarray) -> np.ndarray:
    """A source artifact: greyscale with a lighter background."""
    g = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)
    return np.repeat(np.clip(g.astype(int) + 40, 0, 255).astype(np.uint8)[..., None], 3, 2)


def draw_mark(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    cv2.rectangle(x, (SIDE // 2 - 3, SIDE // 2 - 3), (SIDE // 2 + 3, SIDE // 2 + 3), (20, 20, 20), -1)
    return x


def make(raw: np.ndarray, y: np.ndarray, source: np.ndarray) -> AuditData:
    n = len(y)
    boxes = np.tile([0, 0, SIDE, SIDE], (n, 1))
    groups = np.array([f"p{i // 2}" for i in range(n)])  # two images per person
    return AuditData(X=pipeline_from_raw(raw, boxes, PP), raw=raw, boxes=boxes, y=y.astype(int),
                     source=source, groups=groups, properties=property_table(list(raw)), table=None,
                     preprocess=PP, label_values={0: "B", 1: "A"})


def test_planted_source_artifact_is_a_source_confound():
    rng = np.random.default_rng(0)
    raw = faces(120, rng)
    y = np.repeat([1, 0], 60)  # class = source, as in seed 000
    raw[y == 1] = np.stack([mugshot_style(x) for x in raw[y == 1]])
    source = np.where(y == 1, "mugshots", "portraits")
    verdict, reasons, checks, head = audit_in_memory(make(raw, y, source), FAST)
    assert verdict == "source_confound", reasons
    by = {c.name: c for c in checks}
    assert by["image_properties"].estimate > 0.95 and by["image_properties"].ci_low >= 0.7
    assert by["label_source_association"].estimate == pytest.approx(1.0)
    assert {c.name.split("_within")[0] for c in checks} >= {"source_predictability", "face_removed", "blur_ablation"}


def test_drawn_mark_in_every_source_is_not_a_confound():
    rng = np.random.default_rng(1)
    raw = faces(160, rng)
    source = np.repeat(["mugshots", "portraits"], 80)
    raw[source == "mugshots"] = np.stack([mugshot_style(x) for x in raw[source == "mugshots"]])
    y = np.tile(np.repeat([1, 0], 2), 40)  # both classes in both sources; people keep one label
    raw[y == 1] = np.stack([draw_mark(x) for x in raw[y == 1]])
    verdict, reasons, checks, head = audit_in_memory(make(raw, y, source), FAST)
    assert head["auroc"] > 0.9  # the mark is a real, learnable signal ...
    assert verdict == "no_confound_detected", reasons  # ... present in every source


def test_pure_noise_with_imbalanced_labels_is_not_flagged():
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 256, (160, SIDE, SIDE, 3)).astype(np.uint8)
    y = (rng.random(160) < 0.1).astype(int)
    y[:2] = 1
    source = rng.choice(["a", "b"], 160)
    verdict, reasons, _, _ = audit_in_memory(make(raw, y, source), FAST)
    assert verdict != "source_confound", reasons


def _random_label_verdict(k: int) -> str:
    """The verdict on dataset ``k``: sources that differ visibly, labels random per person."""
    names = ["label_source_association", "label_learnable", "capture_properties",
             "face_removed_dilated"]  # every check the verdict reads
    base = faces(60, np.random.default_rng(3))
    r = np.random.default_rng(100 + k)
    raw = base[r.permutation(60)].copy()
    source = np.repeat(["s1", "s2"], 30)
    raw[:30] = np.stack([mugshot_style(x) for x in raw[:30]])
    y = np.repeat(r.integers(0, 2, 30), 2)  # one random label per person
    cfg = AuditConfig(raw_side=SIDE, n_boot=100, n_perm=100, repeats=1, interval_draws=30, folds=3, seed=k)
    head = HeadlineConfig(models=("pixel_logreg",), cv_repeats=1, interval_draws=10)
    return audit_in_memory(make(raw, y, source), cfg, names, headline=head, with_headline=False)[0]


def test_random_labels_rarely_called_source_confound():
    """100 datasets whose sources differ visibly but whose labels are random: <= 5% false flags
    (independent datasets, so they run side by side on every core)."""
    from artifactual.replication.parallel import run_parallel

    verdicts = run_parallel(_random_label_verdict, list(range(100)), "random-label datasets", progress=False)
    assert sum(v == "source_confound" for v in verdicts) <= 5


def test_every_registered_check_runs_on_a_tiny_dataset():
    rng = np.random.default_rng(4)
    raw = faces(60, rng)
    y = np.tile([1, 1, 0, 0], 15)
    source = np.repeat(["a", "b", "c"], 20)
    d = make(raw, y, source)
    for name in CHECKS.names():
        rows = CHECKS.get(name)(d, FAST)
        assert rows and all(r.name and r.reading and r.n >= 0 for r in rows), name


UNITS = ["headline:pixel_logreg", "check:label_source_association", "check:within_source_random_labels", "check:identity_leakage"]


def _unit_results(rd) -> str:
    import json

    recs = {r["unit"]: r.get("models") or r["rows"] for r in rd.records()}
    return json.dumps(recs, sort_keys=True)


def test_units_side_by_side_give_the_same_records(tmp_path, monkeypatch):
    from artifactual.analyses import audit
    from artifactual.replication.runs import RunDir

    monkeypatch.setattr(audit, "PARALLEL_MIN_IMAGES", 0)  # a small dataset, still in worker processes
    rng = np.random.default_rng(5)
    d = make(faces(80, rng), np.tile([1, 1, 0, 0], 20), np.repeat(["a", "b"], 40))
    head = audit.HeadlineConfig(models=("pixel_logreg",))
    out = {}
    for workers in (1, 2):
        rd = RunDir.create(tmp_path / str(workers), "t", {}, "m")
        with use_settings(workers=workers, progress=False):
            audit.run_units(list(UNITS), d, FAST, head, rd)
        assert rd.completed("unit") == set(UNITS)
        out[workers] = _unit_results(rd)
    assert out[1] == out[2]


class _KillsTheWorker:
    """Unpickling this in a worker process ends that process at once (a stand-in for the OOM killer)."""

    def __reduce__(self):
        import os

        return os._exit, (3,)


def test_a_dead_worker_loses_nothing(tmp_path, monkeypatch, capsys):
    from artifactual.analyses import audit
    from artifactual.replication.runs import RunDir

    monkeypatch.setattr(audit, "PARALLEL_MIN_IMAGES", 0)
    rng = np.random.default_rng(6)
    d = make(faces(60, rng), np.tile([1, 1, 0, 0], 15), np.repeat(["a", "b"], 30))
    d.table = _KillsTheWorker()
    rd = RunDir.create(tmp_path, "t", {}, "m")
    rd.append({"unit": "check:identity_leakage", "rows": []})  # finished before: kept, not redone
    todo = [u for u in UNITS if u != "check:identity_leakage"]
    with use_settings(workers=2, progress=False):
        audit.run_units(todo, d, FAST, audit.HeadlineConfig(models=("pixel_logreg",)), rd)
    assert "worker process died" in capsys.readouterr().err
    assert rd.completed("unit") == set(UNITS) and len(rd.records()) == len(UNITS)
    assert all("failed" not in row["reading"] for r in rd.records() for row in r.get("rows", []))


def test_a_failing_headline_stops_the_workers_and_keeps_finished_units(tmp_path, monkeypatch):
    from artifactual.analyses import audit
    from artifactual.replication.runs import RunDir

    monkeypatch.setattr(audit, "PARALLEL_MIN_IMAGES", 0)
    rng = np.random.default_rng(7)
    d = make(faces(60, rng), np.tile([1, 1, 0, 0], 15), np.repeat(["a", "b"], 30))
    rd = RunDir.create(tmp_path, "t", {}, "m")
    rd.append({"unit": "check:identity_leakage", "rows": []})
    with pytest.raises(KeyError, match="no_such_model"), use_settings(workers=2, progress=False):
        audit.run_units(["headline:no_such_model", "check:within_source_random_labels"], d, FAST,
                        audit.HeadlineConfig(models=("no_such_model",)), rd)
    assert "check:identity_leakage" in rd.completed("unit")


def test_too_small_checks_give_no_number_and_no_verdict():
    rng = np.random.default_rng(8)
    raw = faces(24, rng)
    y = np.repeat([1, 0], 12)
    raw[y == 1] = np.stack([mugshot_style(x) for x in raw[y == 1]])
    d = make(raw, y, np.where(y == 1, "mugshots", "portraits"))  # 6 people per class, two photos each
    verdict, reasons, checks, _ = audit_in_memory(d, FAST, ["label_source_association", "label_learnable",
                                                            "image_properties", "blur_ablation"], with_headline=False)
    small = [c for c in checks if c.status == "too_small"]
    assert {c.name for c in small} == {"label_learnable", "image_properties", "blur_ablation"}
    assert all(np.isnan(c.estimate) and c.p_holm is None and "6 identities" in c.reading for c in small)
    assert verdict == "too_small" and any("too few identities" in r for r in reasons)


def test_leave_one_source_out_uses_single_class_sources_and_reports_every_pair():
    rng = np.random.default_rng(9)
    n = 160
    raw = faces(n, rng)
    source = np.repeat(["a1", "a2", "b1", "b2", "mixed"], 32)
    y = np.r_[np.ones(64, int), np.zeros(64, int), np.tile([1, 1, 0, 0], 8)]
    cfg = AuditConfig(raw_side=SIDE, n_boot=100, repeats=2, interval_draws=20, folds=3, min_identities=5)
    row = CHECKS.get("leave_one_source_out")(make(raw, y, source), cfg)[0]
    pairs = row.details["pairs"]
    assert {p["train"] for p in pairs} == {f"class 'A' (positive): source {a}; class 'B': source {b}"
                                           for a in ("a1", "a2") for b in ("b1", "b2")}
    assert all("mixed" not in p["train"] + p["test"] for p in pairs)  # a mixed source stands for no class
    done = [p for p in pairs if not p["too_small"]]
    assert len(done) == 4 and row.estimate == pytest.approx(np.mean([p["transfer"]["estimate"] for p in done]))
    assert row.details["mean_in_source"] == pytest.approx(np.mean([p["in_source"]["estimate"] for p in done]))
    assert row.role == "descriptive" and row.p_value is None


def test_a_degenerate_data_set_is_no_evidence_either_way():
    """Issue 15, defect 9: when the probe on every preprocessed image is degenerate, no rule picks a confound or
    its absence from chance-by-construction numbers; a degenerate row is never cited, even with a p-value."""
    from artifactual.analyses.checks import CheckResult as C
    from artifactual.analyses.verdict import decide

    assoc = C("label_source_association", "v", 1.0, 1.0, 1.0, 80, "", 0.001, 0.004, role="confirmatory")
    capture = C("capture_properties", "auroc", 0.9, 0.75, 1.0, 80, "", 0.001, 0.004, role="confirmatory")
    flat = C.degenerate("label_learnable", "auroc", "every image is identical after preprocessing", 80,
                        role="confirmatory")
    verdict, reasons = decide([assoc, flat, capture], 2)
    assert verdict == "inconclusive" and reasons[0].startswith("degenerate evidence: every image is identical")
    # a degenerate row that somehow carries numbers and a p-value still counts for nothing
    odd = C("face_removed_dilated", "auroc", 0.5, 0.5, 0.5, 80, "degenerate: ...", 0.001, 0.001, role="confirmatory",
            status="degenerate")
    learnable = C("label_learnable", "auroc", 0.99, 0.95, 1.0, 80, "", 0.001, 0.004, role="confirmatory")
    verdict, reasons = decide([assoc, learnable, odd], 2)
    assert verdict == "inconclusive" and not any("face_removed_dilated AUROC" in r for r in reasons)
    assert "face_removed_dilated degenerate" in " ".join(reasons)
    # the within-source part alone can say it too
    ws = {"parts": {"within_source": {"status": "degenerate", "reason": "degenerate: every image is identical "
                                      "after preprocessing, so the headline model has nothing to learn from"}}}
    assert decide([assoc, learnable, capture], 2, ws)[0] == "inconclusive"
