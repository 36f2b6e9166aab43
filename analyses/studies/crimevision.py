"""Study ``crimevision`` (seed 004): a crime-class frame classifier on UCF-Crime frames, under three protocols.

Units recorded in the run folder (``runs/crimevision-<hash>/records.jsonl``): one per model and protocol
(``<model>@<protocol>``, holding each fold's test rows and class probabilities) and ``video_naming``; a rerun
after an interruption trains only what is missing, and every table (metrics with video-bootstrap intervals,
near-duplicates, image properties) is recomputed from the records and the frames in seconds. The audit
battery (label: crime vs normal; source: the video) keeps its own resumable run folder under ``audit/``.
The analysis is :mod:`artifactual.analyses.crimevision`, the tables and readings
:mod:`artifactual.analyses.crimevision_report`.

``artifactual replicate crimevision --data-root DIR`` runs it (real data only: DIR holds ``ucfcrime/``).
Nothing here classifies anyone's footage: the classes are UCF-Crime's video labels, and the point is what a
frame classifier's accuracy is made of.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from artifactual.analyses.audit import AuditRun, HeadlineConfig, run_audit
from artifactual.analyses.crimevision import (MODEL_TEXT, NETWORKS, PROTOCOL_TEXT, SEED_CLAIM, CrimeVisionConfig,
                                              feature_sets, fit_predict, protocol_folds, video_naming)
from artifactual.analyses.crimevision_report import assemble, write_summary
from artifactual.analyses.formatting import clean
from artifactual.replication.config import to_dict
from artifactual.replication.data import DATA_ENV, load_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError
from artifactual.replication.data.ucfcrime import layout_problems
from artifactual.replication.preprocess import Goel2022Preprocess
from artifactual.replication.runs import RunDir
from artifactual.replication.study import RunContext, Study, register

NEEDS = ("crimevision needs the real data: --data-root DIR (or $ARTIFACTUAL_DATA) holding ucfcrime/ (UCF-Crime "
         "frames in the Kaggle layout, train/<Class>/<Video>_x264_<frame>.png and test/...; README 'Data'). It has "
         "no embedded version: scikit-image's bundled faces are not video frames.")


def frames(ds: Dataset, side: int) -> np.ndarray:
    """(n, side, side, 3) uint8 RGB frames of every row (greyscale frames repeated to 3 channels)."""
    rule, out = ds.pixel_rule(), np.empty((len(ds), side, side, 3), np.uint8)
    for i, row in enumerate(ds.table[["path"]].to_dict("records")):
        px = rule.load(row).pixels
        px = np.repeat(px[..., None], 3, axis=2) if px.ndim == 2 else px[..., :3]
        out[i] = px if px.shape[:2] == (side, side) else cv2.resize(px, (side, side), interpolation=cv2.INTER_AREA)
    return out


def select_classes(ds: Dataset, cfg: CrimeVisionConfig) -> tuple[Dataset, list[str], list[str]]:
    """The usable frames of the configured classes, the class names (sorted) and notes on classes left out."""
    usable = ds.usable()
    found = sorted(usable.table["crime_class"].dropna().unique())
    if cfg.classes:
        missing = [c for c in cfg.classes if c not in found]
        if missing:
            raise ValueError(f"classes {missing} are not in the data (found: {found}); check --set classes=")
        found = sorted(cfg.classes)
    sub = usable.subset(usable.table["crime_class"].isin(found).to_numpy())
    notes = []
    for c in found:
        vids = sub.table.loc[sub.table["crime_class"] == c, "video"].nunique()
        if vids < 2:
            notes.append(f"class {c!r} has {vids} video: no video-grouped split can both train and test it")
    if len(found) < 2:
        raise ValueError(f"crimevision needs at least 2 classes with usable frames; found {found}")
    return sub, found, notes


def run(cfg: CrimeVisionConfig, out: Path, ctx: RunContext) -> dict[str, Any]:
    """The seed-004 replication into ``out`` (real data only).

    Examples
    --------
    With neither ``data_root`` nor ``$ARTIFACTUAL_DATA`` it stops at once, says what it needs, writes nothing:

    >>> import tempfile
    >>> from unittest import mock
    >>> tmp = tempfile.mkdtemp()
    >>> with mock.patch.dict(os.environ):  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     _ = os.environ.pop(DATA_ENV, None)
    ...     run(CrimeVisionConfig(), Path(tmp), RunContext())
    Traceback (most recent call last):
    ...
    artifactual.replication.data.dataset.DatasetError: crimevision needs the real data: --data-root DIR ...
    >>> os.listdir(tmp)
    []
    """
    if not (ctx.data_root or os.environ.get(DATA_ENV)):
        raise DatasetError(NEEDS)
    out, log = Path(out), ctx.log
    full = load_dataset("ucfcrime", data_root=ctx.data_root)
    problems = layout_problems(full.root, full.table)
    for p in problems:
        log(f"ucfcrime: {p}")
    ds, classes, class_notes = select_classes(full, cfg)
    t = ds.table
    y = t["crime_class"].map({c: i for i, c in enumerate(classes)}).to_numpy(int)
    videos, split = t["video"].astype(str).to_numpy(), t["split"].astype(str).to_numpy()
    log(f"reading {len(t):,} frames of {len(set(videos))} videos ({', '.join(classes)}) ...")
    X = frames(ds, cfg.side)
    rd = RunDir.create(out / "runs", "crimevision", to_dict(cfg), ds.manifest_hash)
    done = {r["unit"]: r for r in rd.records()}
    folds = {p: protocol_folds(p, y, videos, split, cfg.folds, cfg.seed) for p in cfg.protocols}
    features: dict[str, np.ndarray] = {}
    units = [(m, p) for p in cfg.protocols for m in cfg.models]
    for model, protocol in units:
        unit = f"{model}@{protocol}"
        if unit in done:
            continue
        if not features:
            log("features: thumbnails, colour histograms, EfficientNet-Lite0 (frozen) ...")
            features = feature_sets(X, cfg.models, cfg)
        use = folds[protocol][:cfg.net_folds] if model in NETWORKS else folds[protocol]
        t0, rec_folds = time.perf_counter(), []
        for f, (train, test) in enumerate(use):
            log(f"{unit}: fold {f + 1}/{len(use)}, {len(train):,} training frames ...")
            proba, info = fit_predict(model, features, X, y, videos, train, test, len(classes), cfg, log)
            rec_folds.append({"test": test.tolist(), "proba": np.round(proba, 6).tolist(), "info": clean(info)})
        rec = {"unit": unit, "folds": rec_folds, "seconds": round(time.perf_counter() - t0, 1)}
        rd.append(rec)
        done[unit] = rec
    if "video_naming" not in done:
        if not features:
            features = feature_sets(X, cfg.models, cfg)
        log("video naming: which of the videos does one frame come from? ...")
        named = video_naming(features, videos, y, cfg)
        rec = {"unit": "video_naming", "predicted": {k: v.tolist() for k, v in named.items()}}
        rd.append(rec)
        done["video_naming"] = rec
    rd.require("unit", [f"{m}@{p}" for m, p in units] + ["video_naming"])
    rd.mark_done()
    audit = _audit(ds, classes, cfg, out / "audit", log)
    summary, duplicate_frames = assemble(cfg, full, ds, classes, X, y, videos, split, folds, done, audit, rd,
                                         problems + class_notes)
    write_summary(summary, out, X, y, videos, split, classes, duplicate_frames)
    return summary


def _audit(ds: Dataset, classes: list[str], cfg: CrimeVisionConfig, out: Path, log) -> dict[str, Any]:
    """The audit battery on crime vs normal with source = video (the battery is binary; the four-class task
    is reduced to the anomaly question UCF-Crime was built for), or why it cannot run."""
    if not cfg.with_audit:
        return {"verdict": None, "skipped": "switched off (--set with_audit=false)"}
    if "Normal" not in classes:
        return {"verdict": None, "skipped": "no Normal class: the audit reads crime vs normal"}
    table = ds.table.assign(crime_vs_normal=np.where(ds.table["crime_class"] == "Normal", "normal", "crime"))
    view = Dataset(ds.name, table, ds.root, ["crime_vs_normal"], list(ds.subgroup_columns), ds.arrays,
                   dict(ds.notes), ds.card, ds.rule)
    run = AuditRun(name="crimevision-audit", dataset=view, label_col="crime_vs_normal", positive="crime",
                   preprocess=Goel2022Preprocess(detect_face=False, crop_face=False, ellipse_mask=False,
                                                 greyscale=True, size=cfg.audit_side),
                   audit=cfg.audit, headline=HeadlineConfig(models=("pixel_logreg",)),
                   class_names={1: "crime", 0: "normal"},
                   data_description="UCF-Crime frames: crime (every crime class) vs normal, source = the video")
    log(f"audit: crime vs normal, source = video ({len(table):,} frames) ...")
    s = run_audit(run, out)
    log(f"  audit verdict: {s['verdict']}")
    return s


STUDY = register(Study(
    name="crimevision", title="seed 004: a crime-scene frame classifier, and what its accuracy is made of",
    # every seed of the real preset derives from the study's name (Study.seed): folds, bootstraps, networks
    presets={"real": lambda: CrimeVisionConfig(seed=STUDY.seed("crimevision"))}, run=run, needs=NEEDS))

__all__ = ["MODEL_TEXT", "PROTOCOL_TEXT", "SEED_CLAIM", "STUDY", "run"]
