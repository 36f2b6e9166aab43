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
from artifactual.analyses.checks import CHECKS, CheckResult, DegenerateProbe, constant_scores, fmt, fmt_p, probe
from artifactual.analyses.formatting import fmt_num
from artifactual.analyses.stats import stream
from artifactual.replication.capture import face_ellipse_mask

STRENGTHS = {
    "jpeg_quality": [95, 70, 50, 30, 10],
    "gamma": [1.0, 0.9, 0.8, 0.7, 0.5],
    "greyscale": [0.0, 0.25, 0.5, 0.75, 1.0],
    "padding": [0.0, 0.02, 0.05, 0.1, 0.15],
    "background": [0, 10, 20, 40, 80],
}


Box = tuple[int, int, int, int]


def inject(px: np.ndarray, artifact: str, s: float, box: Box | np.ndarray) -> tuple[np.ndarray, Box | np.ndarray]:
    """One artifact at strength ``s`` on an RGB uint8 image, and where the face is afterwards.

    Parameters
    ----------
    px : np.ndarray
        uint8 (H, W, 3) RGB pixels.
    artifact : str
        A key of :data:`STRENGTHS`: ``jpeg_quality`` (re-encode at quality ``s``), ``gamma``
        (levels raised to the power ``s``), ``greyscale`` (blend of fraction ``s`` towards grey),
        ``padding`` (the picture shrunk into a white border of ``round(s * W)`` pixels on every
        side) or ``background`` (``s`` grey levels added outside the central face ellipse).
    s : float
        Strength; the first entry of each list in :data:`STRENGTHS` changes nothing or nearly so.
    box : (x, y, w, h)
        The face rectangle in ``px``'s pixel coordinates.

    Returns
    -------
    pixels : np.ndarray
        The edited uint8 (H, W, 3) image.
    box : (x, y, w, h)
        The face rectangle in the edited image. Only padding moves the face: the inner picture is
        resized to (W - 2p, H - 2p) and placed at offset p, so ``x' = p + x (W - 2p) / W``,
        ``w' = w (W - 2p) / W`` (likewise y and h with H), rounded, widths and heights at least 2.
        Every other artifact, and padding of 0 pixels, returns ``box`` itself.

    Examples
    --------
    >>> img = np.zeros((100, 100, 3), np.uint8)
    >>> out, box = inject(img, "padding", 0.1, (20, 30, 40, 50))
    >>> out.shape, box, int(out[0, 0, 0])
    ((100, 100, 3), (26, 34, 32, 40), 255)
    >>> inject(img, "gamma", 0.8, (20, 30, 40, 50))[1]
    (20, 30, 40, 50)
    """
    if artifact == "jpeg_quality":
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, "JPEG", quality=int(s))
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")), box
    if artifact == "gamma":
        return np.rint(((px / 255.0) ** s) * 255).astype(np.uint8), box
    if artifact == "greyscale":
        g = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY)[..., None].astype(float)
        return np.rint((1 - s) * px + s * g).astype(np.uint8), box
    if artifact == "padding":
        h, w = px.shape[:2]
        p = int(round(s * w))
        if p == 0:
            return px, box
        inner = cv2.resize(px, (w - 2 * p, h - 2 * p), interpolation=cv2.INTER_AREA)
        padded = cv2.copyMakeBorder(inner, p, p, p, p, cv2.BORDER_CONSTANT, value=(255, 255, 255))
        sx, sy = (w - 2 * p) / w, (h - 2 * p) / h
        bx, by, bw, bh = (float(v) for v in box)
        moved = (round(p + bx * sx), round(p + by * sy), max(2, round(bw * sx)), max(2, round(bh * sy)))
        return padded, moved
    if artifact == "background":
        out = px.astype(int)
        out[~face_ellipse_mask(*px.shape[:2], 0.9)] += int(s)
        return np.clip(out, 0, 255).astype(np.uint8), box
    raise KeyError(f"unknown artifact {artifact!r}")


def expected_to_show(artifact: str, d: AuditData) -> bool:
    """Whether correct code should detect ``artifact`` at its strongest dose after this pipeline:
    yes when the artifact changes pixels that the pipeline keeps.

    Greyscale vanishes when the pipeline greys every image; a background change outside the face
    vanishes when the pipeline crops to the face and masks everything outside its ellipse. JPEG,
    gamma and padding (which shrinks the face, so it is resampled) change the face itself.
    """
    if artifact == "greyscale":
        return not d.preprocess.greyscale
    if artifact == "background":
        # Without detection the face box is the whole frame, and the pipeline's ellipse (inscribed in the
        # frame) is wider than the 0.9 ellipse outside which the background is changed: a ring survives.
        return not (d.preprocess.detect_face and d.preprocess.crop_face and d.preprocess.ellipse_mask)
    return True


@CHECKS.register("dose_response")
def dose_response(d: AuditData, cfg: AuditConfig) -> list[CheckResult]:
    """Positive controls: one artifact injected into a random half of the identities of ONE source.

    Each curve gives the probe's AUROC at every strength (repeated identity-grouped CV, the
    refit-permutation interval). At the strongest dose a refit permutation test says whether the
    artifact was detected; the control holds when that matches what correct code should do
    (:func:`expected_to_show`). Unadjusted p: controls are not in the verdict's family.
    """
    src = pd.Series(d.source).value_counts().index[0]
    idx = np.flatnonzero(d.source == src)
    rng = stream(cfg.seed, "control labels")
    if len(idx) > cfg.dose_max_images:
        idx = np.sort(rng.choice(idx, cfg.dose_max_images, replace=False))
    groups = d.groups[idx]
    uniq = np.unique(groups)
    if len(uniq) < 2 * cfg.min_identities:
        return [CheckResult.not_applicable("dose_response", "auroc",
                                           f"source {src} has {len(uniq)} identities, fewer than 2 x {cfg.min_identities}",
                                           role="control")]
    lab = dict(zip(uniq, rng.permutation(np.arange(len(uniq)) % 2)))
    yy = np.array([lab[g] for g in groups])
    raw = d.raw[idx]
    rows = []
    for artifact, levels in STRENGTHS.items():
        curve, flat, top = [], [], None
        for s in levels:
            # padding moves the face, so each edited image comes back with its own face box
            pairs = [inject(x, artifact, s, b) if t else (x, b) for x, b, t in zip(raw, d.boxes[idx], yy)]
            edited = np.stack([px for px, _ in pairs])
            X = pipeline_from_raw(edited, np.array([b for _, b in pairs]), d.preprocess)
            top = probe(X, yy, groups, cfg, test=(s == levels[-1]))
            why = top.why if isinstance(top, DegenerateProbe) else constant_scores(top)
            if why:  # no number at this strength: the curve holds measured points only
                flat.append({"strength": s, "degenerate": why})
                continue
            curve.append({"strength": s, "estimate": top.estimate, "ci_low": top.ci_low, "ci_high": top.ci_high,
                          "n": top.n, "p_value": top.p_value})
        should = expected_to_show(artifact, d)
        if flat and flat[-1]["strength"] == levels[-1]:  # even the strongest dose left nothing to tell apart
            row = CheckResult.degenerate(f"dose_response_{artifact}", "auroc at strongest dose",
                                         f"with {artifact} at {levels[-1]} injected into half of {src}, "
                                         f"{flat[-1]['degenerate']}", top.n, role="control")
            row.details = {"source": src, "degenerate_strengths": flat, "measured": curve}
            rows.append(row)
            continue
        detected = top.p_value < 0.05
        row = CheckResult.from_probe(
            f"dose_response_{artifact}", "auroc at strongest dose", top,
            f"{artifact} injected into half of {src}: AUROC {fmt_num(curve[0]['estimate'])} at strength "
            f"{curve[0]['strength']}, "
            f"{fmt(top)} at {levels[-1]} (p {fmt_p(top.p_value)}): "
            + ("detected" if detected else "not detected") + (", as expected" if detected == should else
                                                               ", NOT as expected"),
            role="control", min_identities=cfg.min_identities, source=src, curve=curve,
            **({"degenerate_strengths": flat} if flat else {}))
        row.expected = ("detected at the strongest dose (refit permutation p < 0.05)" if should else
                        "not detected (the pipeline removes these pixels)")
        row.held = bool(detected == should)
        rows.append(row)
    return rows
