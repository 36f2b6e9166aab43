"""Check i: dose-response. Inject ONE artifact into a random half of ONE source at increasing
strength; the half with the artifact is labelled 1. AUROC against strength shows how little of a
photographic difference a classifier needs to "find" a class.

Artifacts act on the raw photograph (before §4.1), then the pipeline runs with each image's face
box: greyscale and a background change outside the face can be removed by the pipeline, and the
curves show whether they are.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from artifactual.analyses.audit_data import AuditConfig, AuditData, pipeline_from_raw
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, image_auroc
from artifactual.analyses.stats import Estimate
from artifactual.replication.capture import face_ellipse_mask

STRENGTHS = {
    "jpeg_quality": [95, 70, 50, 30, 10],
    "gamma": [1.0, 0.9, 0.8, 0.7, 0.5],
    "greyscale": [0.0, 0.25, 0.5, 0.75, 1.0],
    "padding": [0.0, 0.02, 0.05, 0.1, 0.15],
    "background": [0, 10, 20, 40, 80],
}


def inject(px: np.ndarray, artifact: str, s: float) -> np.ndarray:
    """One artifact at strength ``s`` on an RGB uint8 image."""
    if artifact == "jpeg_quality":
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, "JPEG", quality=int(s))
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    if artifact == "gamma":
        return np.rint(((px / 255.0) ** s) * 255).astype(np.uint8)
    if artifact == "greyscale":
        g = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY)[..., None].astype(float)
        return np.rint((1 - s) * px + s * g).astype(np.uint8)
    if artifact == "padding":
        h, w = px.shape[:2]
        p = int(round(s * w))
        if p == 0:
            return px
        inner = cv2.resize(px, (w - 2 * p, h - 2 * p), interpolation=cv2.INTER_AREA)
        return cv2.copyMakeBorder(inner, p, p, p, p, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    if artifact == "background":
        out = px.astype(int)
        out[~face_ellipse_mask(*px.shape[:2], 0.9)] += int(s)
        return np.clip(out, 0, 255).astype(np.uint8)
    raise KeyError(f"unknown artifact {artifact!r}")


@CHECKS.register("dose_response")
def dose_response(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    src = pd.Series(d.source).value_counts().index[0]
    idx = np.flatnonzero(d.source == src)
    rng = np.random.default_rng(cfg.seed)
    if len(idx) > cfg.dose_max_images:
        idx = np.sort(rng.choice(idx, cfg.dose_max_images, replace=False))
    groups = d.groups[idx]
    uniq = np.unique(groups)
    if len(uniq) < 10:
        return [CheckResult.not_applicable("dose_response", "auroc", f"source {src} has fewer than 10 identities")]
    lab = dict(zip(uniq, rng.permutation(np.arange(len(uniq)) % 2)))
    yy = np.array([lab[g] for g in groups])
    raw = d.raw[idx]
    rows = []
    for artifact, levels in STRENGTHS.items():
        curve = []
        for s in levels:
            edited = np.stack([inject(x, artifact, s) if t else x for x, t in zip(raw, yy)])
            X = pipeline_from_raw(edited, d.boxes[idx], d.preprocess)
            est, _ = image_auroc(X, yy, groups, cfg.seed, cfg.folds, test=(s == levels[-1]))
            curve.append({"strength": s, **est.as_dict()})
        top = curve[-1]
        est = Estimate(top["estimate"], top["ci_low"], top["ci_high"], top["n"], top["p_value"])
        rows.append(CheckResult.from_estimate(
            f"dose_response_{artifact}", "auroc at strongest dose", est,
            f"{artifact} injected into half of {src}: AUROC {curve[0]['estimate']:.3f} at strength {levels[0]}, "
            f"{fmt(est)} at {levels[-1]}",
            source=src, curve=curve))
    return rows
