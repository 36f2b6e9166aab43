"""Seed 001 (Shanmugapriyan et al.) §3.3.7-3.3.8 and §3.4: greyscale, noise filter, binarisation, face
detection, LBP texture features, and a similarity between a probe and the templates of a watch-list.

Every template here is built from public faces in the dataset under study; the "watch-list" is a
constructed watch-list of public faces and nobody in it is a criminal.

The paper's steps and ours, one by one:

1. RGB -> greyscale (OpenCV's luminance weights; :func:`~artifactual.replication.preprocess.to_grey`).
2. "Noise filtering": the paper names no filter; we use a median filter of side ``median_size``
   (default 3, the smallest that removes salt-and-pepper noise; 1 = off).
3. "Binarization": Otsu's threshold, an option, default **off**. Binarising before LBP keeps only
   the sign pattern of a two-level image, so nearly every 3x3 neighbourhood becomes "flat" or an
   edge: the texture LBP is meant to capture is destroyed. The study measures it on and off.
   Deviation: the paper binarises before detection; a Haar cascade finds no face in a binary
   image, so we detect on the filtered greyscale and binarise the face crop.
4. Face detection: the paper uses YOLOv8 (§3.4) or a Region Proposal Network (§3.3.7), neither
   with published weights for faces. OpenCV's Haar frontal-face cascade stands in (seed 000's
   detector, :func:`~artifactual.replication.preprocess.detect_largest_face`, the largest box kept);
   ``whole_image=True`` skips detection when the images are already face crops. A face that is
   not found is reported (:class:`NoFaceError`, reason ``"no face found"``), never replaced.
5. Crop the box and resize it to ``size`` x ``size`` (area averaging to shrink, bilinear to enlarge).
6. LBP (Ojala et al. 2002) with scikit-image's ``local_binary_pattern``: the rotation-invariant
   uniform patterns (``method="uniform"``), P=8 neighbours at radius R=1, giving P+2 = 10 codes.
   The face is cut into a ``grid`` x ``grid`` grid of cells (7x7, Ahonen et al. 2006); each cell's
   10-bin histogram is normalised to sum 1 and the cells are concatenated: 7*7*10 = 490 numbers.
7. Comparison: chi-square distance ``sum((p - g)**2 / (p + g))`` over bins where ``p + g > 0``
   (no factor 1/2), turned into a similarity ``-distance`` so that higher = more alike everywhere
   in :mod:`~artifactual.replication.faceid`.

Examples
--------
>>> import numpy as np
>>> face = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
>>> cfg = LbpConfig(face=FaceFinder(whole_image=True))
>>> t = lbp_template(face, cfg)
>>> t.shape, t.dtype, round(float(t.sum()), 3)  # 49 cells, each histogram sums to 1
((490,), dtype('float32'), 49.0)
>>> float(chi2_similarity(t[None], t[None])[0, 0])
0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from artifactual.replication.data.images import ImageError, decode_file
from artifactual.replication.parallel import run_parallel
from artifactual.replication.preprocess import Goel2022Preprocess, detect_largest_face, to_grey

Box = tuple[int, int, int, int]  # (x, y, w, h) in the image's pixels


class NoFaceError(ImageError):
    """No face was found where one was looked for: the image is reported, not replaced."""


@dataclass(frozen=True)
class FaceFinder:
    """Where the face is: OpenCV's Haar cascade standing in for the paper's YOLOv8 / RPN, or the whole image.

    The cascade fields mean what they mean in
    :class:`~artifactual.replication.preprocess.Goel2022Preprocess` (OpenCV's defaults; the largest box is kept).
    ``whole_image=True`` is for datasets that are already face crops (scikit-image's LFW subset).
    """

    whole_image: bool = False
    cascade: str = "haarcascade_frontalface_default.xml"
    scale_factor: float = 1.1
    min_neighbors: int = 3
    detect_upscale: float = 1.0  # >1 only for images smaller than about 2x Haar's 24x24 window
    min_face_fraction: float = 0.0

    def __post_init__(self) -> None:
        if not self.whole_image:
            self.haar()  # the seed-000 config checks the values and that the cascade loads

    def haar(self) -> Goel2022Preprocess:
        """These settings as seed 000's preprocessing config, the one :func:`detect_largest_face` reads."""
        return Goel2022Preprocess(detect_face=True, cascade=self.cascade, scale_factor=self.scale_factor,
                                  min_neighbors=self.min_neighbors, detect_upscale=self.detect_upscale,
                                  min_face_fraction=self.min_face_fraction)


def find_face(px: np.ndarray, finder: FaceFinder, name: str = "<array>") -> Box:
    """The face's box in ``px``: the whole image, or the largest Haar detection; :class:`NoFaceError` if none.

    >>> find_face(np.zeros((30, 40), np.uint8), FaceFinder(whole_image=True))
    (0, 0, 40, 30)
    >>> find_face(np.zeros((60, 60), np.uint8), FaceFinder())
    Traceback (most recent call last):
    ...
    artifactual.replication.faceid.lbp.NoFaceError: <array>: no face found (Haar cascade ... found no frontal face; ...)
    """
    if finder.whole_image:
        return (0, 0, int(px.shape[1]), int(px.shape[0]))
    box, _ = detect_largest_face(to_grey(px), finder.haar())
    if box is None:
        raise NoFaceError(name, "no face found", f"Haar cascade {finder.cascade} found no frontal face; "
                                                 "the image is reported, not replaced")
    return box


@dataclass(frozen=True)
class LbpConfig:
    """Settings of the seed-001 LBP pipeline (module docstring); defaults follow the paper where it says anything."""

    median_size: int = 3  # side of the median filter (odd; 1 = no filter); the paper names no filter
    binarise: bool = False  # Otsu after cropping; off by default: it destroys the texture LBP reads
    face: FaceFinder = field(default_factory=FaceFinder)
    size: int = 112  # side of the resized face crop; 112 = 7 cells of 16 pixels
    grid: int = 7  # cells per side (7x7, Ahonen et al. 2006)
    points: int = 8  # LBP neighbours P
    radius: int = 1  # LBP radius R

    def __post_init__(self) -> None:
        if not isinstance(self.face, FaceFinder):
            raise TypeError(f"face must be a FaceFinder, got {type(self.face).__name__}")
        if self.median_size < 1 or self.median_size % 2 == 0:
            raise ValueError(f"median_size must be an odd number >= 1 (1 = no filter), got {self.median_size}")
        if self.median_size > 255:
            raise ValueError(f"median_size must be at most 255 (OpenCV's limit for uint8), got {self.median_size}")
        if self.points < 4 or self.points > 24:
            raise ValueError(f"points (LBP neighbours P) must be in 4..24, got {self.points}")
        if self.radius < 1:
            raise ValueError(f"radius (LBP R) must be >= 1 pixel, got {self.radius}")
        if self.grid < 1:
            raise ValueError(f"grid must be at least 1 cell per side, got {self.grid}")
        if self.size < 2 * self.grid or self.size < 2 * self.radius + 3:
            raise ValueError(f"size {self.size} is too small for a {self.grid}x{self.grid} grid at radius "
                             f"{self.radius}: give at least {max(2 * self.grid, 2 * self.radius + 3)} pixels")

    @property
    def dim(self) -> int:
        """Length of one template: cells x (P + 2) uniform codes."""
        return self.grid * self.grid * (self.points + 2)


def as_uint8(px: np.ndarray) -> np.ndarray:
    """uint8 pixels; floats in [0, 1] (scikit-image's convention) are scaled to 0..255."""
    px = np.asarray(px)
    if px.dtype == np.uint8:
        return px
    if np.issubdtype(px.dtype, np.floating) and px.size and np.nanmin(px) >= 0 and np.nanmax(px) <= 1:
        return np.round(px * 255).astype(np.uint8)
    raise ValueError(f"pixels must be uint8 or floats in [0, 1], got {px.dtype} in "
                     f"[{px.min() if px.size else '-'}, {px.max() if px.size else '-'}]")


def face_crop(px: np.ndarray, cfg: LbpConfig, name: str = "<array>") -> tuple[np.ndarray, Box]:
    """Steps 1-5: the ``size`` x ``size`` uint8 greyscale face that LBP reads, and the box it came from."""
    grey = to_grey(as_uint8(px))
    if cfg.median_size > 1:
        grey = cv2.medianBlur(np.ascontiguousarray(grey), cfg.median_size)
    x, y, w, h = find_face(grey, cfg.face, name)
    crop = grey[y:y + h, x:x + w]
    interp = cv2.INTER_AREA if max(h, w) > cfg.size else cv2.INTER_LINEAR
    crop = cv2.resize(crop, (cfg.size, cfg.size), interpolation=interp)
    if cfg.binarise:
        _, crop = cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return crop, (x, y, w, h)


def lbp_histograms(face: np.ndarray, cfg: LbpConfig) -> np.ndarray:
    """Step 6 on a square greyscale face: ``(grid * grid * (P + 2),)`` float32, each cell's histogram sums to 1."""
    from skimage.feature import local_binary_pattern

    codes = local_binary_pattern(face, cfg.points, cfg.radius, method="uniform").astype(np.int64)
    n_codes = cfg.points + 2
    edges = np.linspace(0, face.shape[0], cfg.grid + 1).round().astype(int)  # cells differ by at most a pixel
    cols = np.linspace(0, face.shape[1], cfg.grid + 1).round().astype(int)
    hists = np.empty((cfg.grid, cfg.grid, n_codes), np.float64)
    for i in range(cfg.grid):
        for j in range(cfg.grid):
            cell = codes[edges[i]:edges[i + 1], cols[j]:cols[j + 1]]
            hists[i, j] = np.bincount(cell.ravel(), minlength=n_codes) / cell.size
    return hists.reshape(-1).astype(np.float32)


def lbp_template(px: np.ndarray, cfg: LbpConfig, name: str = "<array>") -> np.ndarray:
    """One image (uint8 grey or RGB, or floats in [0, 1]) -> its LBP template; :class:`NoFaceError` if no face."""
    face, _ = face_crop(px, cfg, name)
    return lbp_histograms(face, cfg)


def chi2_distance(probes: np.ndarray, gallery: np.ndarray, chunk_elements: int = 1 << 24) -> np.ndarray:
    """Chi-square distances ``(n_probes, n_gallery)`` between rows of histograms; 0/0 bins count 0.

    Computed in probe chunks of at most ``chunk_elements`` numbers of the ``(chunk, n_gallery, dim)``
    broadcast, so 100 probes against 5,000 templates of 490 numbers need ~64 MB, not 1 GB.

    >>> chi2_distance(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5], [1.0, 0.0]])).round(4).tolist()
    [[0.0, 0.6667]]
    """
    p = np.asarray(probes, np.float64)
    g = np.asarray(gallery, np.float64)
    if p.ndim != 2 or g.ndim != 2 or p.shape[1] != g.shape[1]:
        raise ValueError(f"probes {p.shape} and gallery {g.shape} must be 2-D with the same number of columns")
    if (p < 0).any() or (g < 0).any():
        raise ValueError("chi-square distance is for histograms: found negative values")
    out = np.empty((len(p), len(g)), np.float64)
    step = max(1, chunk_elements // max(1, g.size))
    for a in range(0, len(p), step):
        pc = p[a:a + step, None, :]  # (chunk, 1, dim) against (1, n_gallery, dim)
        num = (pc - g[None]) ** 2
        den = pc + g[None]
        out[a:a + step] = np.divide(num, den, out=np.zeros_like(num), where=den > 0).sum(axis=2)
    return out


def chi2_similarity(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``-chi2_distance``: higher = more alike, as every similarity in this package.

    >>> chi2_similarity(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])).tolist()
    [[-2.0]]
    """
    return 0.0 - chi2_distance(probes, gallery)  # 0.0 - : a perfect match is 0.0, not -0.0


# -- many images ------------------------------------------------------------------------------

@dataclass
class Templates:
    """Templates of many images: ``vectors`` holds a row for each image whose face was found.

    ``found[i]`` says whether image ``i`` has a row (rows are in image order), ``reasons[i]`` why not,
    ``boxes[i]`` the face box used (None when not found).
    """

    vectors: np.ndarray  # (n_found, dim) float32
    found: np.ndarray  # (n_images,) bool
    reasons: list[str]
    boxes: list[Box | None]

    @property
    def rows(self) -> np.ndarray:
        """Image index of each row of ``vectors``."""
        return np.flatnonzero(self.found)


def _load(item: np.ndarray | str | Path) -> tuple[np.ndarray, str]:
    if isinstance(item, (str, Path)):
        return decode_file(Path(item)).pixels, str(item)
    return np.asarray(item), "<array>"


def embed_item(embed: Callable[[np.ndarray, str], tuple[np.ndarray, Box]],
             item: np.ndarray | str | Path) -> dict[str, Any]:
    """One item: its vector and box, or the reason it has none (a bad file, no face)."""
    try:
        px, name = _load(item)
        vec, box = embed(px, name)
    except ImageError as err:
        return {"vector": None, "box": None, "reason": err.reason + (f": {err.detail}" if err.detail else "")}
    return {"vector": vec, "box": box, "reason": ""}


def collect(results: list[dict[str, Any]], dim: int) -> Templates:
    """Per-image results of :func:`embed_item` -> :class:`Templates`."""
    found = np.array([r["vector"] is not None for r in results], bool)
    vecs = [r["vector"] for r in results if r["vector"] is not None]
    vectors = np.stack(vecs).astype(np.float32) if vecs else np.empty((0, dim), np.float32)
    return Templates(vectors, found, [r["reason"] for r in results], [r["box"] for r in results])


def _lbp_one(cfg: LbpConfig, px: np.ndarray, name: str) -> tuple[np.ndarray, Box]:
    face, box = face_crop(px, cfg, name)
    return lbp_histograms(face, cfg), box


def lbp_templates(images: Sequence[np.ndarray | str | Path], cfg: LbpConfig,
                  workers: int | None = None, progress: bool | None = None) -> Templates:
    """LBP templates of many images (arrays or image files) on all cores; faces not found are reported.

    ``workers``/``progress`` override the ambient settings (:func:`~artifactual.replication.parallel.use_settings`).

    >>> import skimage.data
    >>> out = lbp_templates([skimage.data.astronaut(), np.zeros((60, 60), np.uint8)], LbpConfig(), progress=False)
    >>> out.vectors.shape, out.found.tolist(), out.reasons[1].split(":")[0], out.rows.tolist()
    ((1, 490), [True, False], 'no face found', [0])
    """
    results = run_parallel(partial(embed_item, partial(_lbp_one, cfg)), list(images), "LBP templates",
                           workers=workers, progress=progress)
    return collect(results, cfg.dim)
