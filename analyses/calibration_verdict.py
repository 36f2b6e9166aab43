"""``make calibrate``, part 2: the verdict's confusion matrix and the explained share's error on a grid of
known truths.

Each dataset is drawn with a known trait, artifact, association and number of sources, then audited
exactly as ``artifactual audit`` decides (the four confirmatory checks of analyses.verdict, Holm, the
within-source decomposition), and its verdict is counted against the truth:

- **trait**: ``none``; ``weak`` (a faint mark, 5 grey levels darker, on every class-1 face); ``strong``
  (a dark mark on 60% of class-1 identities: an ideal model reads it with AUROC 0.8 inside a source,
  so a source can still add to the headline);
- **artifact** on the photos of side-A sources: ``none`` (sources photographically identical);
  ``subtle`` (JPEG quality 60 and 0.8 x brightness); ``strong`` (the mugshot-style capture:
  greyscale, flash contrast, a plain light background, JPEG 30; replication.capture);
- **association** P(class 1 | side A source) = P(class 0 | side B source): 0.5, 0.6, 0.8, 1.0;
- **sources per class** (per side): 1, 2, 4; identities 2 photos each.

The explained share's truth is the share the headline model converges to: one dataset of the same
design with 2,000 people, the model trained on half and H and W measured on the other half
(:func:`large_sample_share`). Beside it, the share of an IDEAL scorer on the same dataset (marked
faces first, then side A's capture, then the rest): what the source explains when a model reads
everything there is; a faint mark is not fully learnable, so there the ideal understates the source.

Targets (the verdict issue): false ``source_confound`` <= 5% with no artifact; ``source_confound`` or
``partial_confound`` >= 90% with a strong artifact and association >= 0.8; a real trait with no
artifact at association <= 0.6 called ``source_confound`` <= 5%; explained share within 0.1 of the truth.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from artifactual.replication.preprocess import filled_ellipse

SIDE = 24
TRAITS, ARTIFACTS = ("none", "weak", "strong"), ("none", "subtle", "strong")
ASSOCIATIONS, SOURCES = (0.5, 0.6, 0.8, 1.0), (1, 2, 4)
CHECKS_READ = ("label_source_association", "label_learnable", "capture_properties", "face_removed_dilated")


@dataclass(frozen=True)
class VerdictDesign:
    trait: str
    artifact: str
    association: float
    sources_per_class: int
    identities: int = 120
    kind: str = "synthetic"  # or "real_utkface": UTKFace faces, trait = the annotated gender, "none" = random labels

    @property
    def name(self) -> str:
        return (f"{self.kind}_trait-{self.trait}_artifact-{self.artifact}_assoc{self.association:g}"
                f"_src{self.sources_per_class}_ids{self.identities}")


def _portraits(n: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random RGB 'portraits': a skin-toned ellipse with blurred texture on a textured background."""
    out = np.empty((n, SIDE, SIDE, 3), np.uint8)
    m = filled_ellipse((SIDE, SIDE), (SIDE // 2, SIDE // 2), (SIDE // 3, SIDE // 2 - 2)).astype(np.uint8)
    for i in range(n):
        img = cv2.GaussianBlur(rng.normal(110, 40, (SIDE, SIDE, 3)), (0, 0), 2)
        tone = rng.uniform(120, 200) * np.array([1.0, 0.8, 0.7])
        img[m == 1] = tone + cv2.GaussianBlur(rng.normal(0, 25, (SIDE, SIDE)), (0, 0), 1.5)[m == 1][:, None]
        out[i] = np.clip(img, 0, 255)
    return out


def _mark(x: np.ndarray, depth: float) -> np.ndarray:
    out = x.astype(float)
    c = SIDE // 2
    out[c - 3:c + 4, c - 3:c + 4] -= depth
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(x: np.ndarray, quality: int) -> tuple[np.ndarray, bytes]:
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), data


def _artifact(x: np.ndarray, kind: str) -> tuple[np.ndarray, bytes | None]:
    if kind == "subtle":
        return _jpeg(np.clip(x.astype(float) * 0.8, 0, 255).astype(np.uint8), 60)
    from artifactual.replication.capture import MugshotCapture, apply_capture

    out, data = apply_capture(x, MugshotCapture(low_resolution=False, padding=False))
    return np.repeat(out[..., None], 3, axis=2), data


def real_pool(data_root) -> dict[str, np.ndarray]:
    """UTKFace's aligned face crops with a gender label, as RGB ``SIDE`` x ``SIDE`` arrays (no face detection:
    the crops are faces), and the gender. Each UTKFace image is its own person (no identities are given)."""
    from artifactual.replication.data import load_dataset
    from artifactual.replication.preprocess import Goel2022Preprocess, preprocess_dataset

    ds = load_dataset("utkface", data_root=data_root, progress=False)
    t = ds.table
    sub = ds.subset(np.flatnonzero((t["status"] == "ok") & t["gender"].notna()))
    pp = preprocess_dataset(sub, Goel2022Preprocess(detect_face=False, crop_face=False, ellipse_mask=False,
                                                    greyscale=False, size=SIDE), workers=1, progress=False)
    ok = (pp.table["array_row"] >= 0).to_numpy()
    raw = np.asarray(pp.arrays)[pp.table.loc[ok, "array_row"].to_numpy()]
    return {"raw": raw.astype(np.uint8), "gender": pp.table.loc[ok, "gender"].astype(int).to_numpy()}


def verdict_dataset(design: VerdictDesign, rng: np.random.Generator, with_properties: bool = True,
                    pool: dict[str, np.ndarray] | None = None):
    """One dataset of the grid: AuditData (face boxes known), each image's mark and side-A flag.

    >>> d, mark, side_a = verdict_dataset(VerdictDesign("strong", "strong", 0.8, 2, 40), np.random.default_rng(0))
    >>> d.n, sorted(set(d.source.tolist())), bool(d.properties["jpeg_quality"].notna().any())
    (80, ['s0', 's1', 's2', 's3'], True)
    """
    from artifactual.analyses.audit_data import AuditData, pipeline_from_raw
    from artifactual.analyses.probes import property_table
    from artifactual.replication.preprocess import Goel2022Preprocess

    n_id, k = design.identities, 2 * design.sources_per_class
    if pool is not None:  # real faces: one photo per person; the sides are assigned given the label
        pick = np.concatenate([rng.choice(np.flatnonzero(pool["gender"] == g), n_id // 2, replace=False) for g in (0, 1)])
        y_id = np.repeat([0, 1], n_id // 2) if design.trait != "none" else rng.permutation(np.repeat([0, 1], n_id // 2))
        side_a = rng.random(n_id) < np.where(y_id == 1, design.association, 1 - design.association)
        src_id = np.where(side_a, 0, design.sources_per_class) + rng.integers(0, design.sources_per_class, n_id)
        mark_id = np.zeros(n_id, bool)
        pid = np.arange(n_id)
        raw = pool["raw"][pick].copy()
    else:
        src_id = rng.permutation(np.arange(n_id) % k)
        side_a = src_id < design.sources_per_class
        y_id = (rng.random(n_id) < np.where(side_a, design.association, 1 - design.association)).astype(int)
        share = 0.6 if design.trait == "strong" else 1.0
        mark_id = (y_id == 1) & (rng.random(n_id) < share) & (design.trait != "none")
        pid = np.repeat(np.arange(n_id), 2)
        raw = _portraits(len(pid), rng)
    depth = 150.0 if design.trait == "strong" else 5.0
    encoded: list[bytes | None] = [None] * len(pid)
    for i, p in enumerate(pid):
        if mark_id[p]:
            raw[i] = _mark(raw[i], depth)
        if design.artifact != "none" and side_a[p]:
            raw[i], encoded[i] = _artifact(raw[i], design.artifact)
    # synthetic: the drawn face ellipse's box; UTKFace crops: the face fills the middle ~70% of the crop
    box = (SIDE // 2 - SIDE // 3, 2, 2 * (SIDE // 3), SIDE - 4) if pool is None else (4, 3, SIDE - 8, SIDE - 6)
    boxes = np.tile(box, (len(pid), 1))
    pp = Goel2022Preprocess(detect_face=False, size=SIDE, crop_face=False)
    d = AuditData(X=pipeline_from_raw(raw, boxes, pp), raw=raw, boxes=boxes, y=y_id[pid],
                  source=np.array([f"s{s}" for s in src_id[pid]]), groups=pid.astype(str),
                  properties=(property_table(list(raw), encoded, [tuple(box)] * len(pid)) if with_properties
                              else pd.DataFrame(index=range(len(pid)))), table=None,
                  preprocess=pp, label_values={0: "B", 1: "A"})
    return d, mark_id[pid], side_a[pid] & (design.artifact != "none")


def ideal_share(y: np.ndarray, mark: np.ndarray, side_a: np.ndarray, source: np.ndarray) -> float:
    """The explained share of an ideal scorer (marks first, then side A's capture); NaN without a headline.

    >>> y = np.array([1, 1, 1, 0, 0, 1, 0, 0, 1, 0]); mark = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    >>> side = np.arange(10) < 5  # source a is side A (3 of 5 in class 1), source b side B (2 of 5)
    >>> round(ideal_share(y, mark, side, np.repeat(["a", "b"], 5)), 3)
    0.405
    """
    from artifactual.analyses.decomposition import mixed_sources, within_source_auroc
    from artifactual.analyses.refit import auroc

    score = 2.0 * mark + side_a
    h = auroc(y, score)
    mixed = mixed_sources(y, np.arange(len(y)), source, 1)
    if h <= 0.5 + 1e-9 or not mixed:
        return float("nan")
    return float((h - within_source_auroc(y, score, source, mixed)[0]) / (h - 0.5))


def large_sample_share(design: VerdictDesign, seed: int, identities: int = 2000,
                       pool: dict[str, np.ndarray] | None = None) -> float:
    """The explained share the headline model converges to: one dataset of the design with ``identities``
    people, the model trained on half of them and H and W measured on the other half (NaN without a headline).
    The truth the grid's estimates are compared with (the ideal scorer's share is reported beside it)."""
    from dataclasses import replace

    from artifactual.analyses.decomposition import headline_factory, mixed_sources, within_source_auroc
    from artifactual.analyses.refit import auroc

    if pool is not None:  # as many people as UTKFace's smaller gender allows
        identities = min(identities, 2 * int(np.bincount(pool["gender"]).min()))
    d, _, _ = verdict_dataset(replace(design, identities=identities), np.random.default_rng(seed), False, pool)
    test = np.random.default_rng(seed + 1).permutation(identities)[: identities // 2]
    te = np.isin(d.groups.astype(int), test)
    score = headline_factory(d.X, seed)().fit(d.X[~te], d.y[~te]).predict_score(d.X[te])
    h = auroc(d.y[te], score)
    mixed = mixed_sources(d.y[te], d.groups[te], d.source[te], 10)
    if h <= 0.55 or not mixed:
        return float("nan")
    return float(np.clip((h - within_source_auroc(d.y[te], score, d.source[te], mixed)[0]) / (h - 0.5), 0, 1))


def expected_verdicts(design: VerdictDesign) -> tuple[str, ...]:
    """The verdicts that are right for a design (used for the 'correct' column of the confusion table)."""
    if design.association == 0.5 or (design.artifact == "none" and design.trait == "none"):
        return ("no_confound_detected",)
    if design.artifact == "none":
        return ("inconclusive",) if design.association == 1.0 else ("no_confound_detected",)
    if design.trait == "none" or design.association == 1.0:
        return ("source_confound",)
    return ("partial_confound", "source_confound")


def run_one(design: VerdictDesign, seed: int, truth: float = float("nan"),
            pool: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Audit one dataset of ``design`` and return its row (verdict, truth, estimates)."""
    from artifactual.analyses.audit import HeadlineConfig, audit_in_memory
    from artifactual.analyses.audit_data import AuditConfig

    d, mark, side_a = verdict_dataset(design, np.random.default_rng(seed), pool=pool)
    cfg = AuditConfig(raw_side=SIDE, n_boot=200, n_perm=500, repeats=2, interval_draws=30, folds=5, seed=seed)
    head = HeadlineConfig(models=("pixel_logreg",), cv_repeats=2, interval_draws=20)
    verdict, _, checks, best = audit_in_memory(d, cfg, list(CHECKS_READ), headline=head,
                                               with_headline=False)
    table = best["decomposition"]["table"]
    row = {**asdict(design), "design": design.name, "seed": seed, "verdict": verdict,
           "correct": verdict in expected_verdicts(design), "ideal_share": ideal_share(d.y, mark, side_a, d.source),
           "truth_share": truth}
    for key in ("headline", "within_source", "gap", "explained_share"):
        q = table.get(key)
        row.update({f"{key}": q["estimate"] if q else np.nan, f"{key}_low": q["ci"][0] if q else np.nan,
                    f"{key}_high": q["ci"][1] if q else np.nan})
    for c in checks:
        if c.name in CHECKS_READ:
            row[f"p_{c.name}"] = c.p_holm
    return row


def grid(per_cell: int, quick: bool = False) -> list[tuple[VerdictDesign, int]]:
    cells = [VerdictDesign(t, a, p, s) for t, a, p, s in itertools.product(TRAITS, ARTIFACTS, ASSOCIATIONS, SOURCES)]
    if quick:
        cells = [c for c in cells if c.sources_per_class == 1 and c.association in (0.5, 0.8, 1.0)]
    return [(c, 90_000 + 1000 * i + r) for i, c in enumerate(cells) for r in range(per_cell)]


def real_grid(per_cell: int) -> list[tuple[VerdictDesign, int]]:
    """Real faces (UTKFace): trait none (random labels) or gender, no / subtle / strong artifact, one source
    per side, association 0.5 / 0.8 / 1.0 (the ideal scorer's share needs a mark, so it is NaN here)."""
    cells = [VerdictDesign(t, a, p, 1, kind="real_utkface")
             for t, a, p in itertools.product(("none", "strong"), ARTIFACTS, (0.5, 0.8, 1.0))]
    return [(c, 95_000 + 1000 * i + r) for i, c in enumerate(cells) for r in range(per_cell)]


def run_grid(per_cell: int = 3, workers: int = 2, quick: bool = False, data_root=None) -> pd.DataFrame:
    """The synthetic grid and, with a ``data_root`` holding UTKFace, the real-face grid."""
    from joblib import Parallel, delayed

    jobs = [(d, s, None) for d, s in grid(per_cell, quick)]
    pool = real_pool(data_root) if data_root is not None else None
    if pool is not None:
        jobs += [(d, s, pool) for d, s in real_grid(max(1, per_cell - 1))]
    cells = list(dict.fromkeys((d, id(p)) for d, _, p in jobs))
    pools = {id(p): p for _, _, p in jobs}
    truths = dict(zip(cells, Parallel(n_jobs=workers)(delayed(large_sample_share)(c, 7, pool=pools[k])
                                                      for c, k in cells)))
    return pd.DataFrame(Parallel(n_jobs=workers, batch_size=2)(
        delayed(run_one)(d, s, truths[(d, id(p))], p) for d, s, p in jobs))


def verdict_tables(rows: pd.DataFrame) -> dict[str, Any]:
    """Confusion matrix (design truth x verdict), the targets with Wilson intervals, the share's error."""
    from artifactual.analyses.calibration import wilson

    def rate(mask: pd.Series, hit: pd.Series) -> dict[str, Any]:
        k, n = int((mask & hit).sum()), int(mask.sum())
        lo, hi = wilson(k, n) if n else (np.nan, np.nan)
        return {"rate": k / n if n else np.nan, "k": k, "n": n, "ci": [lo, hi]}

    v = rows["verdict"]
    targets = {
        "false_source_confound_no_artifact": {**rate(rows["artifact"] == "none", v == "source_confound"),
                                              "target": "<= 0.05"},
        "flagged_strong_artifact_association_ge_0.8": {
            **rate((rows["artifact"] == "strong") & (rows["association"] >= 0.8),
                   v.isin(["source_confound", "partial_confound"])), "target": ">= 0.90"},
        "real_trait_no_artifact_association_le_0.6_called_source_confound": {
            **rate((rows["trait"] != "none") & (rows["artifact"] == "none") & (rows["association"] <= 0.6),
                   v == "source_confound"), "target": "<= 0.05"},
    }
    ok = rows[np.isfinite(rows["explained_share"]) & np.isfinite(rows["truth_share"])]
    err = ok["explained_share"] - ok["truth_share"]
    covered = (ok["explained_share_low"] <= ok["truth_share"]) & (ok["truth_share"] <= ok["explained_share_high"])
    targets["explained_share_within_0.1"] = {**rate(pd.Series(True, index=ok.index), err.abs() <= 0.1),
                                             "target": "share within 0.1 of the truth"}
    if "kind" not in rows.columns:
        rows = rows.assign(kind="synthetic")
        ok = ok.assign(kind="synthetic")
    share_by = (ok.assign(error=err, covered=covered).groupby(["kind", "trait", "artifact", "association"])
                .agg(n=("error", "size"), mean_error=("error", "mean"), mean_abs_error=("error", lambda e: e.abs().mean()),
                     coverage=("covered", "mean"), truth=("truth_share", "mean"), estimate=("explained_share", "mean"))
                .reset_index())
    confusion = pd.crosstab([rows["kind"], rows["trait"], rows["artifact"], rows["association"]], rows["verdict"])
    return {"targets": targets, "share_by_cell": share_by, "confusion": confusion,
            "accuracy": rate(pd.Series(True, index=rows.index), rows["correct"]),
            "accuracy_by_kind": {k: rate(rows["kind"] == k, rows["correct"]) for k in sorted(set(rows["kind"]))}}


def verdict_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """The ``verdict`` block of results/calibration/summary.json (JSON-ready)."""
    t = verdict_tables(rows)
    conf = t["confusion"].reset_index()
    conf.columns = [str(c) for c in conf.columns]
    met = {"false_source_confound_no_artifact": lambda r: r <= 0.05,
           "flagged_strong_artifact_association_ge_0.8": lambda r: r >= 0.90,
           "real_trait_no_artifact_association_le_0.6_called_source_confound": lambda r: r <= 0.05}
    targets = {k: {**v, "met": bool(met[k](v["rate"])) if k in met else None} for k, v in t["targets"].items()}
    return {"datasets": int(len(rows)), "cells": int(rows["design"].nunique()), "targets": targets,
            "accuracy": t["accuracy"], "accuracy_by_kind": t["accuracy_by_kind"], "confusion": conf.to_dict("records"),
            "share_by_cell": t["share_by_cell"].to_dict("records"),
            "verdict_counts": rows["verdict"].value_counts().to_dict()}


def calibrate_verdict(out, per_cell: int = 3, workers: int = 2, quick: bool = False, log=print,
                      data_root=None) -> pd.DataFrame:
    """Run the grid and write ``verdict_datasets.csv`` (``calibration.summarise`` reads it)."""
    import time
    from pathlib import Path

    t0 = time.perf_counter()
    real = f" + {len(real_grid(max(1, per_cell - 1)))} of real UTKFace faces" if data_root is not None else ""
    log(f"calibration: verdict grid, {len(grid(per_cell, quick))} synthetic datasets{real} on {workers} workers")
    rows = run_grid(per_cell, workers, quick, data_root)
    rows["seconds_total"] = round(time.perf_counter() - t0, 1)
    Path(out).mkdir(parents=True, exist_ok=True)
    rows.to_csv(Path(out) / "verdict_datasets.csv", index=False)
    log(f"calibration: verdict grid done in {time.perf_counter() - t0:.0f} s")
    return rows
