"""Source-specific evidence: what a photo's capture says about its label once no face is left in it.

Whole-image properties, the blacked-out ellipse and a heavy blur (checks c, d, e) all keep some
face: luminance includes the skin, the inscribed ellipse leaves hair, ears and jaw line, and a
blur keeps the face's low-frequency shape. A label that a face really carries can therefore pass
them. The two checks here keep nothing of the person:

- ``capture_properties`` (confirmatory): file and capture properties only (original width,
  height and aspect, greyscale or colour, JPEG quality read from the file's quantisation table,
  constant borders; not blockiness, which is measured over the whole picture and so reads a face's
  edges too: a mark drawn on the face moved it in the known-answer tests)
  plus the background OUTSIDE a dilated face mask (its brightness, contrast and edge energy);
- ``face_removed_dilated`` (confirmatory): the photo with the face ellipse grown by
  :data:`DILATE` (hair, ears and jaw line go too) blacked out, read by the probe.

With one declared source, ``capture_properties`` is also how the verdict notices a capture
difference hiding inside that "source" (analyses.verdict: ``hidden_capture_difference``).
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS, CheckResult, fmt, probe
from artifactual.replication.preprocess import box_ellipse

#: Properties of the file and the capture that are measured without the face (analyses.probes).
FILE_PROPERTIES: tuple[str, ...] = ("is_greyscale", "jpeg_quality", "border_fraction", "width",
                                    "height", "aspect_ratio")
#: Growth of the face ellipse's horizontal and vertical axes: the Haar box hugs eyebrows to mouth,
#: so 1.5 x its width takes the ears, and 1.7 x its height the hair line above and the jaw and chin below.
DILATE: tuple[float, float] = (1.5, 1.7)


def dilated_face_masks(boxes: np.ndarray, side: int, grow: tuple[float, float] = DILATE) -> np.ndarray:
    """(n, side, side) boolean masks of each face box's inscribed ellipse with its axes grown by ``grow``.

    >>> m = dilated_face_masks(np.array([[8, 8, 16, 16]]), 32)
    >>> m.shape, bool(m[0, 16, 16]), bool(m[0, 16, 5]), bool(m[0, 0, 0])  # 5: outside the box, inside the dilation
    ((1, 32, 32), True, True, False)
    """
    boxes = np.asarray(boxes)
    return (np.stack([box_ellipse(b, (side, side), grow) for b in boxes]) if len(boxes)
            else np.zeros((0, side, side), bool))


def _grey(raw: np.ndarray) -> np.ndarray:
    return raw.astype(np.float64) if raw.ndim == 3 else np.stack(
        [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in raw]).astype(np.float64)


def background_table(raw: np.ndarray, boxes: np.ndarray) -> pd.DataFrame:
    """Brightness, contrast and edge energy of each raw image outside its dilated face mask (NaN when
    the mask covers the whole frame, e.g. a tight face crop).

    >>> raw = np.zeros((2, 32, 32, 3), np.uint8); raw[1] = 200
    >>> background_table(raw, np.array([[12, 12, 8, 8]] * 2))["background_mean"].tolist()
    [0.0, 200.0]
    """
    masks = dilated_face_masks(boxes, raw.shape[1])
    rows = []
    for px, m in zip(raw, masks):  # one image at a time: four float64 copies of every image took 0.8 GiB (issue 20)
        g = _grey(px[None])[0]
        gy, gx = np.gradient(g)  # per image, the same differences as along axes 1 and 2 of the whole stack
        e = np.hypot(gx, gy)
        out = ~m
        rows.append((g[out].mean(), g[out].std(), e[out].mean()) if out.sum() >= 4 else (np.nan,) * 3)
    return pd.DataFrame(rows, columns=["background_mean", "background_std", "background_edge_energy"])


def capture_table(d: AuditData) -> pd.DataFrame:
    """The capture evidence of every image: :data:`FILE_PROPERTIES` and :func:`background_table`."""
    props = d.properties[[c for c in FILE_PROPERTIES if c in d.properties.columns]].reset_index(drop=True)
    return pd.concat([props, background_table(d.raw, d.boxes)], axis=1)


def _varies(v: np.ndarray) -> bool:
    v = v[np.isfinite(v)]
    return len(v) > 1 and float(v.std()) > 0


@CHECKS.register("capture_properties")
def capture_properties(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Confirmatory: the probe on capture properties that carry no face (refit permutation test)."""
    table = capture_table(d)
    varying = [c for c in table.columns if _varies(table[c].to_numpy(float))]
    if not varying:
        return [CheckResult.degenerate("capture_properties", "auroc (capture properties, ridge probe)",
                                       "every capture property is constant across the images", d.n,
                                       role="confirmatory")]
    r = probe(table[varying].to_numpy(float), d.y, d.groups, cfg, test=True)
    return [CheckResult.from_probe(
        "capture_properties", "auroc (capture properties, ridge probe)", r,
        f"file and capture properties with no face in them ({', '.join(varying)}) predict the label with AUROC "
        f"{fmt(r) if not r.too_small else 'n/a'}", role="confirmatory", min_identities=cfg.min_identities,
        properties=varying)]


@CHECKS.register("face_removed_dilated")
def face_removed_dilated(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Confirmatory: the probe on the photo with a dilated face ellipse (hair, ears, jaw) blacked out."""
    masks = dilated_face_masks(d.boxes, d.raw.shape[1])
    kept = float((~masks).mean())
    if kept < 0.02:
        return [CheckResult.not_applicable("face_removed_dilated", "auroc", f"the dilated face mask covers "
                                           f"{1 - kept:.0%} of the frame: no background is left to read", d.n,
                                           role="confirmatory")]
    removed = np.where(masks, 0, _grey(d.raw)).astype(np.uint8)
    r = probe(removed, d.y, d.groups, cfg, test=True)
    return [CheckResult.from_probe(
        "face_removed_dilated", "auroc", r,
        f"with the face, hair, ears and jaw line blacked out ({kept:.0%} of the frame left), the rest of the photo "
        f"predicts the label with AUROC {fmt(r) if not r.too_small else 'n/a'}", role="confirmatory",
        min_identities=cfg.min_identities, background_fraction=kept, dilation=list(DILATE))]
