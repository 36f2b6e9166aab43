"""A mugshot-style capture transform: the photographic differences between seed 000's classes.

Seed 000's "criminal" images came from mugshot archives (NIST's decades-old greyscale mugshots,
The Smoking Gun, agency wanted pages) and its "non-criminal" images from portrait databases.
Mugshots share a capture style, not a kind of face: greyscale film or scans, a hard frontal
flash, a plain light wall behind the head, low resolution, heavy JPEG compression on web pages,
and borders from scanning or page layout. :class:`MugshotCapture` applies those differences to
any public face, one switchable part at a time, so the audit can show which part a classifier
reads. It changes photographs; it says nothing about the people in them.

Order of the parts (each can be switched off): greyscale -> flash -> plain background ->
low resolution -> padding -> JPEG re-encoding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class MugshotCapture:
    """Settings of the capture transform (defaults: every part on, at a moderate strength)."""

    greyscale: bool = True
    flash: bool = True
    flash_gamma: float = 0.7  # < 1 brightens mid-tones, as a frontal flash does
    flash_contrast: float = 1.4  # stretch about mid-grey: harder shadows and highlights
    plain_background: bool = True
    background_level: int = 230  # a light wall
    face_ellipse: float = 0.9  # ellipse axes as a fraction of the image's half-width/half-height
    low_resolution: bool = True
    low_resolution_side: int = 64  # shorter side after downscaling (then scaled back up)
    padding: bool = True
    padding_fraction: float = 0.08  # border added on each side, of the image width/height
    padding_level: int = 250
    jpeg: bool = True
    jpeg_quality: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")
        if not 0 < self.face_ellipse <= 1:
            raise ValueError(f"face_ellipse must be in (0, 1], got {self.face_ellipse}")
        if self.flash_gamma <= 0 or self.flash_contrast <= 0:
            raise ValueError("flash_gamma and flash_contrast must be positive")
        if self.low_resolution_side < 4:
            raise ValueError(f"low_resolution_side must be >= 4, got {self.low_resolution_side}")
        if not 0 <= self.padding_fraction < 0.5:
            raise ValueError(f"padding_fraction must be in [0, 0.5), got {self.padding_fraction}")

    def parts(self) -> list[str]:
        return [p for p in ("greyscale", "flash", "plain_background", "low_resolution", "padding", "jpeg")
                if getattr(self, p)]


def face_ellipse_mask(h: int, w: int, fraction: float) -> np.ndarray:
    """Boolean mask of the centred ellipse that stands for the face in a face-centred crop."""
    yy, xx = np.mgrid[0:h, 0:w]
    ay, ax = max(1.0, fraction * h / 2), max(1.0, fraction * w / 2)
    return ((yy - (h - 1) / 2) / ay) ** 2 + ((xx - (w - 1) / 2) / ax) ** 2 <= 1.0


def apply_capture(px: np.ndarray, cfg: MugshotCapture) -> tuple[np.ndarray, bytes | None]:
    """Apply the transform to uint8 pixels; returns the new pixels and, with ``jpeg``, the JPEG bytes.

    Examples
    --------
    >>> img = np.full((80, 60, 3), (200, 120, 90), np.uint8)
    >>> out, data = apply_capture(img, MugshotCapture())
    >>> out.ndim, out.dtype.name, data[:2] == b"\\xff\\xd8"
    (2, 'uint8', True)
    >>> apply_capture(img, MugshotCapture(greyscale=False, flash=False, plain_background=False,
    ...               low_resolution=False, padding=False, jpeg=False))[0].shape
    (80, 60, 3)
    """
    out = px.copy()
    if cfg.greyscale and out.ndim == 3:
        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    if cfg.flash:
        x = out.astype(np.float64) / 255.0
        x = np.clip((x - 0.5) * cfg.flash_contrast + 0.5, 0, 1) ** cfg.flash_gamma
        out = np.rint(x * 255).astype(np.uint8)
    if cfg.plain_background:
        mask = face_ellipse_mask(out.shape[0], out.shape[1], cfg.face_ellipse)
        out[~mask] = cfg.background_level
    if cfg.low_resolution:
        h, w = out.shape[:2]
        scale = cfg.low_resolution_side / min(h, w)
        if scale < 1:
            small = cv2.resize(out, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
            out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if cfg.padding and cfg.padding_fraction > 0:
        h, w = out.shape[:2]
        py, px_ = max(1, round(h * cfg.padding_fraction)), max(1, round(w * cfg.padding_fraction))
        value = (cfg.padding_level,) * (1 if out.ndim == 2 else 3)
        out = cv2.copyMakeBorder(out, py, py, px_, px_, cv2.BORDER_CONSTANT, value=value)
    encoded = None
    if cfg.jpeg:
        buf = io.BytesIO()
        Image.fromarray(out).save(buf, "JPEG", quality=cfg.jpeg_quality)
        encoded = buf.getvalue()
        out = np.asarray(Image.open(io.BytesIO(encoded)).convert("L" if out.ndim == 2 else "RGB"))
    return np.ascontiguousarray(out), encoded
