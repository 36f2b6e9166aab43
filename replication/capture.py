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

:func:`apply_capture` is for giving a capture to images that lack it. To remove the difference
between classes that already differ in capture, :func:`apply_floor` brings every image down to one
:class:`CommonFloor` (the worst of every source's capture) instead: it leaves out the flash, which
would change images twice, and applying it to an image already at the floor changes little.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True)
class CommonFloor:
    """One photographic floor that every image of an audit is brought down to (see :func:`apply_floor`).

    The floor is the worst of every source's capture: no colour, the coarsest effective
    resolution, the lowest JPEG quality and the widest constant frame. Brought down to it, images
    from different sources no longer differ in those respects, whatever capture each already had.

    Parameters
    ----------
    side : int
        Effective resolution, in pixels, of the coarsest source: images keep no more detail than
        an image whose shorter side is ``side`` pixels. At least 4.
    jpeg_quality : int
        Quality (1..100) of the one JPEG encode/decode.
    frame_fraction : float
        Width of the constant frame laid over each edge, as a fraction of that edge's perpendicular
        side (rows for the top and bottom bars, columns for the left and right ones); in [0, 0.5).
    frame_level : int
        Grey level (0..255) of the frame.

    Examples
    --------
    >>> CommonFloor(side=32, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    CommonFloor(side=32, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    >>> CommonFloor(side=32, jpeg_quality=0, frame_fraction=0.05, frame_level=255)
    Traceback (most recent call last):
    ...
    ValueError: jpeg_quality must be in 1..100, got 0
    """

    side: int
    jpeg_quality: int
    frame_fraction: float
    frame_level: int

    def __post_init__(self) -> None:
        if self.side < 4:
            raise ValueError(f"side must be at least 4 pixels, got {self.side}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")
        if not 0 <= self.frame_fraction < 0.5:
            raise ValueError(f"frame_fraction must be in [0, 0.5), got {self.frame_fraction}")
        if not 0 <= self.frame_level <= 255:
            raise ValueError(f"frame_level must be in 0..255, got {self.frame_level}")


def _axis_matrix(n_in: int, n_out: int, interpolation: int) -> np.ndarray:
    """(n_out, n_in) matrix of cv2's resizing of one axis from n_in to n_out samples."""
    # in blocks of 256 columns: no (n_in, n_in) identity in memory for a large image
    blocks = [np.ascontiguousarray(np.eye(n_in)[:, i:i + 256]) for i in range(0, n_in, 256)]
    return np.hstack([cv2.resize(b, (b.shape[1], n_out), interpolation=interpolation) for b in blocks])


@lru_cache(maxsize=64)
def _resolution_matrices(big: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Downscaling (n, big) and INTER_LINEAR upscaling (big, n) matrices of one axis, with down @ up = I.

    ``down`` is cv2's INTER_AREA matrix ``D`` plus the smallest correction (in the sum of squared
    entries) that makes it a left inverse of the upscale ``U``: ``D + (I - D U) pinv(U)``. INTER_AREA
    alone is no left inverse (``D U`` is a blur, [1/8, 3/4, 1/8] at an integer factor), which is why an
    INTER_AREA/INTER_LINEAR round trip blurs again at every pass.
    """
    d = _axis_matrix(big, n, cv2.INTER_AREA)
    u = _axis_matrix(n, big, cv2.INTER_LINEAR)
    down = d + (np.eye(n) - d @ u) @ np.linalg.pinv(u)
    down.flags.writeable = False
    u.flags.writeable = False
    return down, u


def _frame_rows(m: np.ndarray, k: int) -> tuple[int, int]:
    """Low-resolution rows that the first and the last ``k`` rows of an upscale by ``m`` read from."""
    lo = int(np.flatnonzero(m[:k].any(axis=0)).max()) + 1
    hi = m.shape[1] - int(np.flatnonzero(m[m.shape[0] - k:].any(axis=0)).min())
    return lo, hi


def apply_floor(px: np.ndarray, floor: CommonFloor) -> np.ndarray:
    """Bring any image down to ``floor``: greyscale -> constant frame -> low resolution -> one JPEG.

    Unlike :func:`apply_capture`, every step either overwrites (greyscale, frame) or projects onto
    what the floor can hold (resolution), so an image that is already at the floor comes back
    (nearly) unchanged, and images from sources with different captures meet at the same floor.

    1. Greyscale (OpenCV's RGB -> grey weights; grey input is kept as is).
    2. The frame: ``round(frame_fraction * H)`` rows at the top and bottom and
       ``round(frame_fraction * W)`` columns at each side are overwritten with ``frame_level``
       (overwritten, not added, so a second pass writes the same values over the same pixels).
    3. Low resolution, when the shorter side is above ``floor.side``: the image becomes cv2's
       INTER_LINEAR upscale of an image whose shorter side is ``side`` pixels. That small image is
       cv2's INTER_AREA downscale, corrected so that downscaling an upscale gives the small image
       back exactly (see ``_resolution_matrices``), and clipped to 0..255. Without the correction
       every pass would blur again (see Notes). With it, an image that already is such an upscale
       is mapped onto itself. The frame is then laid on the low-resolution grid too, wide enough
       for the upscale to keep step 2's frame exactly, so the frame edge does not blur inwards pass
       after pass (the frame's inner edge becomes a ramp about one low-resolution pixel wide).
    4. One JPEG encode/decode at ``jpeg_quality`` (PIL).

    Parameters
    ----------
    px : np.ndarray
        uint8 pixels, (H, W) grey or (H, W, 3) RGB.
    floor : CommonFloor
        The floor to bring the image down to.

    Returns
    -------
    np.ndarray
        uint8 (H, W, 3), three equal channels.

    Notes
    -----
    Idempotency, measured: ``apply_floor(apply_floor(x, f), f)`` against ``apply_floor(x, f)`` on
    skimage's astronaut, camera, coffee and chelsea (full size and resized to 64 x 64) and on four
    random smooth images (64 x 64 twice, 100 x 80, 200 x 150), for every floor with side 16, 24,
    32, 48 or 56, JPEG quality 10, 30, 50, 75 or 95 and frame_fraction 0, 0.02, 0.05 or 0.1
    (1,200 cases):

    - mean absolute difference per case: at most 2.85 grey levels (median 0.27);
    - largest difference at one pixel: 80 levels at quality 10 and at most 41 at quality 30 or
      more. The largest ones are mostly JPEG ringing along the frame's inner edge. Without a frame
      the largest is 36 levels, and at most 21 at quality 30 or more.

    That is JPEG noise: a second pass re-encodes once more, after a projection that keeps most of
    the first pass's JPEG error. Re-encoding the same outputs once at the same quality, with no
    other step, moves them by up to 0.99 levels on average and 26 at one pixel. An uncorrected
    INTER_AREA/INTER_LINEAR round trip would drift by 4.0 levels on average in the median case and
    by up to 12.3. ``tests/analyses/checks/test_ablations.py`` asserts the tolerance: a mean of at most 3 levels,
    and at most 90 levels at one pixel (45 at quality 30 or more).

    The price of idempotency: the floor of a sharp image keeps a little more detail than an
    INTER_AREA/INTER_LINEAR round trip to ``side`` would, so a sharp picture and the same picture
    already brought to ``side`` that way meet at the floor only approximately. No projection onto
    the upscales can do both, because the round trip blurs even an image that already is an
    upscale.

    Examples
    --------
    >>> yy, xx = np.mgrid[0:48, 0:40]
    >>> img = np.stack([4 * yy, 5 * xx, 2 * (yy + xx)], axis=2).astype(np.uint8)
    >>> floor = CommonFloor(side=16, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    >>> out = apply_floor(img, floor)
    >>> out.shape, out.dtype.name, bool((out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all())
    ((48, 40, 3), 'uint8', True)
    >>> frame = np.concatenate([out[:2, :, 0].ravel(), out[:, :2, 0].ravel()])  # frame: 255 up to JPEG noise
    >>> bool(np.abs(frame.astype(int) - 255).max() <= 12)
    True
    >>> bool(np.abs(apply_floor(out, floor).astype(int) - out).mean() < 1)  # a second pass: JPEG noise
    True
    """
    if px.dtype != np.uint8 or not (px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)) or px.size == 0:
        raise ValueError(f"px must be non-empty uint8 (H, W) grey or (H, W, 3) RGB, got {px.dtype} {px.shape}")
    grey = cv2.cvtColor(px, cv2.COLOR_RGB2GRAY) if px.ndim == 3 else px.copy()
    h, w = grey.shape
    fy, fx = round(floor.frame_fraction * h), round(floor.frame_fraction * w)
    grey[:fy], grey[h - fy:] = floor.frame_level, floor.frame_level  # fy == 0 writes nothing
    grey[:, :fx], grey[:, w - fx:] = floor.frame_level, floor.frame_level
    scale = floor.side / min(h, w)
    if scale < 1:
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        (dh, uh), (dw, uw) = _resolution_matrices(h, nh), _resolution_matrices(w, nw)
        # clipping the low-resolution image (not the upscale) keeps the upscale in 0..255 and exactly
        # in the set of upscales, which a second pass maps to itself
        small = np.clip(dh @ grey.astype(np.float64) @ dw.T, 0, 255)
        if fy:
            top, bottom = _frame_rows(uh, fy)
            small[:top], small[nh - bottom:] = floor.frame_level, floor.frame_level
        if fx:
            left, right = _frame_rows(uw, fx)
            small[:, :left], small[:, nw - right:] = floor.frame_level, floor.frame_level
        big = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        grey = np.clip(np.rint(big), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, "JPEG", quality=floor.jpeg_quality)
    grey = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
