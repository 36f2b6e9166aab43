"""Checks d (face removed / face only), e (blur ablation), f (harmonisation)."""

from __future__ import annotations

import cv2
import numpy as np

from artifactual.analyses.audit_data import AuditConfig, AuditData, pipeline_from_raw
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, image_auroc
from artifactual.replication.capture import MugshotCapture, apply_capture


def face_masks(raw: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n, side, side) boolean masks of the ellipse inscribed in each face box."""
    n, side = raw.shape[0], raw.shape[1]
    masks = np.zeros((n, side, side), np.uint8)
    for m, (x, y, w, h) in zip(masks, boxes):
        cv2.ellipse(m, (int(x + w / 2), int(y + h / 2)), (max(1, int(w / 2)), max(1, int(h / 2))), 0, 0, 360, 1, -1)
    return masks.astype(bool)


def _grey(raw: np.ndarray) -> np.ndarray:
    return raw if raw.ndim == 3 else np.stack([cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in raw])


@CHECKS.register("face_removed_face_only")
def face_removed_face_only(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    grey = _grey(d.raw).astype(np.float64)
    masks = face_masks(d.raw, d.boxes)
    removed = np.where(masks, 0, grey).astype(np.uint8)
    # face only, photometrically normalised: each face's pixels z-scored, then mapped to 128 +- 40,
    # so brightness and contrast of the capture cannot carry the label
    only = np.zeros_like(grey)
    for i in range(len(grey)):
        px = grey[i][masks[i]]
        sd = px.std() or 1.0
        only[i][masks[i]] = np.clip(128 + 40 * (px - px.mean()) / sd, 0, 255)
    e_removed, _ = image_auroc(removed, d.y, d.groups, cfg.seed, cfg.folds)
    e_only, _ = image_auroc(only.astype(np.uint8), d.y, d.groups, cfg.seed, cfg.folds)
    return [
        CheckResult.from_estimate("face_removed", "auroc", e_removed,
                                  f"with every face blacked out, the rest of the photo predicts the label with AUROC {fmt(e_removed)}"),
        CheckResult.from_estimate("face_only_normalised", "auroc", e_only,
                                  f"the face alone, brightness and contrast normalised, gives AUROC {fmt(e_only)}"),
    ]


@CHECKS.register("blur_ablation")
def blur_ablation(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    side = d.X.shape[1]
    sigma = cfg.blur_sigma_fraction * side
    blurred = np.stack([cv2.GaussianBlur(x, (0, 0), sigma) for x in d.X])
    est, _ = image_auroc(blurred, d.y, d.groups, cfg.seed, cfg.folds)
    return [CheckResult.from_estimate(
        "blur_ablation", "auroc", est,
        f"after a Gaussian blur of sigma {sigma:.1f} px ({cfg.blur_sigma_fraction:.0%} of the side), which erases facial "
        f"morphology, AUROC is {fmt(est)} (Leuner 2019 kept 63%/72% accuracy on heavily blurred faces)",
        sigma_px=sigma)]


@CHECKS.register("harmonisation")
def harmonisation(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    capture = MugshotCapture(low_resolution_side=max(8, d.raw.shape[1] // 2), padding=False)
    same = np.stack([apply_capture(x, capture)[0] for x in d.raw])
    same = np.stack([np.repeat(x[..., None], 3, 2) if x.ndim == 2 else x for x in same])
    X_same = pipeline_from_raw(same, d.boxes, d.preprocess)
    e_same, _ = image_auroc(X_same, d.y, d.groups, cfg.seed, cfg.folds)
    # histogram equalisation maps every image's grey-level histogram onto the same (flat) target
    X_eq = np.stack([cv2.equalizeHist(x if x.ndim == 2 else cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)) for x in d.X])
    e_eq, _ = image_auroc(X_eq, d.y, d.groups, cfg.seed, cfg.folds)
    return [
        CheckResult.from_estimate("harmonised_same_capture", "auroc", e_same,
                                  f"with both classes passed through the same capture transform, AUROC is {fmt(e_same)}",
                                  capture=capture.parts()),
        CheckResult.from_estimate("harmonised_histograms", "auroc", e_eq,
                                  f"with every image's histogram equalised, AUROC is {fmt(e_eq)}"),
    ]
