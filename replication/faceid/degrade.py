"""The degradations seed 001 claims its system handles (scarves, masks, low resolution), applied to a probe.

Each takes an RGB ``uint8`` photograph and the face's box ``(x, y, w, h)`` (the Haar box, or the image's
central box for LFW's centred faces) and returns a photograph of the same size, so the recogniser sees the
degraded face where it expects one:

- ``face_px``: the photograph shrunk until the face is ``side`` pixels wide, then enlarged back (a far camera);
- ``blur``: Gaussian blur with ``sigma`` a fraction of the face width (motion, focus);
- ``jpeg``: JPEG at ``quality`` (a compressed CCTV stream);
- ``lower_occlusion``: the lower ``fraction`` of the face box filled with a flat grey (a mask or a scarf:
  synthetic, documented as such);
- ``greyscale``: the luminance copied to the three channels (a monochrome camera).

>>> px = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
>>> out = degrade(px, (30, 30, 40, 40), Degradation("face_px", 12))
>>> out.shape, out.dtype, bool((out != px).any())
((100, 100, 3), dtype('uint8'), True)
>>> bool((degrade(px, (30, 30, 40, 40), Degradation("lower_occlusion", 0.5))[52:70, 30:70] == 128).all())
True
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

KINDS = ("face_px", "blur", "jpeg", "lower_occlusion", "greyscale")


@dataclass(frozen=True)
class Degradation:
    kind: str
    level: float = 0.0  # face_px: face width in pixels; blur: sigma / face width; jpeg: quality; occlusion: fraction

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown degradation {self.kind!r}; the kinds are {', '.join(KINDS)}")
        if self.kind == "face_px" and self.level < 4:
            raise ValueError(f"face_px needs a face width of at least 4 pixels, got {self.level}")
        if self.kind == "jpeg" and not 1 <= self.level <= 100:
            raise ValueError(f"jpeg quality must be in 1..100, got {self.level}")
        if self.kind in ("blur", "lower_occlusion") and not 0 < self.level <= 1:
            raise ValueError(f"{self.kind} level must be in (0, 1], got {self.level}")

    @property
    def label(self) -> str:
        return {"face_px": f"face {self.level:g} px", "blur": f"blur sigma {self.level:g} x face",
                "jpeg": f"JPEG q{self.level:g}", "lower_occlusion": f"lower {100 * self.level:.0f}% of face covered",
                "greyscale": "greyscale"}[self.kind]


def degrade(px: np.ndarray, box: tuple[int, int, int, int], d: Degradation) -> np.ndarray:
    """``px`` degraded by ``d`` (see the module docstring); the size and the face's place are kept."""
    h, w = px.shape[:2]
    x, y, bw, bh = box
    if d.kind == "face_px":
        scale = min(1.0, d.level / max(1, bw))
        small = cv2.resize(px, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if d.kind == "blur":
        return cv2.GaussianBlur(px, (0, 0), sigmaX=max(0.1, d.level * bw))
    if d.kind == "jpeg":
        buf = io.BytesIO()
        Image.fromarray(px).save(buf, "JPEG", quality=int(d.level))
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    if d.kind == "lower_occlusion":
        out = px.copy()
        top = y + round(bh * (1 - d.level))
        out[max(0, top):min(h, y + bh), max(0, x):min(w, x + bw)] = 128
        return out
    grey = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY)
    return np.repeat(grey[..., None], 3, axis=2)


#: the degradations the study measures (seed 001 names scarves, masks and low resolution)
STANDARD = (Degradation("face_px", 24), Degradation("face_px", 16), Degradation("face_px", 12),
            Degradation("blur", 0.05), Degradation("jpeg", 20), Degradation("lower_occlusion", 0.45),
            Degradation("greyscale"))
