"""dlib's 128-d face ResNet as the deep template of seed 001's "CrimeNet" comparison (§3.4).

The paper trains its own "CrimeNet" DCNN and publishes neither weights nor data; we use a public,
published face-recognition network in its place: dlib's ResNet (``dlib_face_recognition_resnet_model_v1``,
King 2017; 99.38% on LFW's verification benchmark by its author), applied directly with ``import dlib``.
The model files come with the ``face-recognition-models`` package; we find them by its install folder
and never import it (it imports ``pkg_resources``).

One template per image:

1. the face box: OpenCV's Haar cascade (:class:`~artifactual.replication.faceid.lbp.FaceFinder`, standing
   in for the paper's YOLOv8) or the whole image for face crops; a face not found is reported;
2. images whose face is narrower than ``min_face_side`` (80) pixels are enlarged (bicubic) first, so the
   5-point landmark model does not work from a handful of pixels (scikit-image's 25x25 LFW crops);
   larger faces are left alone: dlib resamples every face to its 150x150 chip anyway;
3. dlib's 5-point shape predictor (``shape_predictor_5_face_landmarks``) inside the box: eye corners and
   nose, which align the face;
4. ``compute_face_descriptor``: the aligned 150x150 chip (``padding`` 0.25, dlib's default) through the
   ResNet -> 128 float32 numbers. Their norm is not 1 (about 1.3-1.6 on LFW).

Similarity: cosine (default, :func:`cosine_similarity`) or minus the Euclidean distance
(:func:`euclidean_similarity`). dlib's author calls two faces the same person when the Euclidean
distance is below 0.6 (:data:`DLIB_SAME_PERSON_DISTANCE`; 99.38% on LFW pairs); here, on the first 100
LFW deep-funnelled images with Haar boxes, 99.5% of same-person pairs and 0.7% of different-person
pairs fell below it.

Speed, measured on this 2-core machine (no GPU) on the first 100 LFW deep-funnelled images (250x250 JPEGs,
every face found by Haar), decoding and detection included: 9.3 faces/s in one process (dlib runs on one
thread: Haar ~16 ms, landmarks and ResNet ~75 ms an image), 18.4 faces/s through :func:`dlib_templates`
with 2 warm workers (14 faces/s counting the workers' start and model loading, 0.2 s a process).

Models are loaded once per process (:func:`models`).

Examples
--------
>>> import numpy as np, skimage.data
>>> face = skimage.data.lfw_subset()[0]  # a 25x25 greyscale face crop, floats in [0, 1]
>>> cfg = DlibConfig(face=FaceFinder(whole_image=True))
>>> t = dlib_template(face, cfg)
>>> t.shape, t.dtype, bool(np.array_equal(t, dlib_template(face, cfg)))
((128,), dtype('float32'), True)
>>> round(float(cosine_similarity(t[None], t[None])[0, 0]), 5)
1.0
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from artifactual.replication.faceid.lbp import Box, FaceFinder, Templates, as_uint8, collect, embed_item, find_face
from artifactual.replication.parallel import run_parallel

DIM = 128
#: dlib's own same-person threshold on the Euclidean distance between two of its descriptors
DLIB_SAME_PERSON_DISTANCE = 0.6
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
RESNET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"


@dataclass(frozen=True)
class DlibConfig:
    """Settings of a dlib template (module docstring)."""

    face: FaceFinder = field(default_factory=FaceFinder)
    min_face_side: int = 80  # enlarge images whose face is narrower than this before landmarking
    padding: float = 0.25  # dlib's default margin around the aligned chip
    num_jitters: int = 0  # dlib's default: no random re-crops averaged (each one costs a full forward pass)

    def __post_init__(self) -> None:
        if not isinstance(self.face, FaceFinder):
            raise TypeError(f"face must be a FaceFinder, got {type(self.face).__name__}")
        if not 1 <= self.min_face_side <= 1000:
            raise ValueError(f"min_face_side must be in 1..1000 pixels, got {self.min_face_side}")
        if not (np.isfinite(self.padding) and 0 <= self.padding <= 1):
            raise ValueError(f"padding must be in [0, 1] (a fraction of the chip), got {self.padding}")
        if not 0 <= self.num_jitters <= 100:
            raise ValueError(f"num_jitters must be in 0..100, got {self.num_jitters}")


def model_dir() -> Path:
    """Folder of dlib's model files, from the ``face-recognition-models`` package (found, not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("dlib's model files are missing: pip install face-recognition-models "
                           "(and dlib-bin for dlib itself)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    for name in (SHAPE_MODEL, RESNET_MODEL):
        if not (folder / name).is_file():
            raise RuntimeError(f"dlib model file {folder / name} is missing: reinstall face-recognition-models")
    return folder


_MODELS: dict[str, Any] = {}


def models() -> tuple[Any, Any]:
    """``(shape_predictor, face_recognition_model)``, loaded once per process (~0.2 s)."""
    if not _MODELS:
        import dlib

        folder = model_dir()
        _MODELS["shape"] = dlib.shape_predictor(os.fspath(folder / SHAPE_MODEL))
        _MODELS["resnet"] = dlib.face_recognition_model_v1(os.fspath(folder / RESNET_MODEL))
    return _MODELS["shape"], _MODELS["resnet"]


def _embed(cfg: DlibConfig, px: np.ndarray, name: str = "<array>") -> tuple[np.ndarray, Box]:
    import dlib

    px = as_uint8(px)
    rgb = np.repeat(px[..., None], 3, axis=2) if px.ndim == 2 else px
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{name}: expected a greyscale or RGB image, got shape {px.shape}")
    box = find_face(rgb, cfg.face, name)
    x, y, w, h = box
    scale = max(1.0, cfg.min_face_side / max(1, w))
    if scale > 1:  # enlarge the whole image, so the box keeps its context for the chip's padding
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)),
                         interpolation=cv2.INTER_CUBIC)
        x, y, w, h = (round(v * scale) for v in box)
    shape_model, resnet = models()
    rgb = np.ascontiguousarray(rgb)
    shape = shape_model(rgb, dlib.rectangle(x, y, x + w - 1, y + h - 1))
    vec = np.asarray(resnet.compute_face_descriptor(rgb, shape, cfg.num_jitters, cfg.padding), np.float32)
    return vec, box


def dlib_template(px: np.ndarray, cfg: DlibConfig, name: str = "<array>") -> np.ndarray:
    """One image (uint8 grey or RGB, or floats in [0, 1]) -> its 128 float32 numbers;
    :class:`~artifactual.replication.faceid.lbp.NoFaceError` when no face is found."""
    return _embed(cfg, px, name)[0]


def dlib_templates(images: Sequence[np.ndarray | str | Path], cfg: DlibConfig,
                   workers: int | None = None, progress: bool | None = None) -> Templates:
    """dlib templates of many images (arrays or image files) through the one executor
    (:func:`~artifactual.replication.parallel.run_parallel`; ``workers``/``progress`` override the ambient
    settings); a face not found or a bad file is reported in ``reasons``, not replaced.

    >>> import skimage.data
    >>> faces = skimage.data.lfw_subset()[:2]
    >>> out = dlib_templates(list(faces), DlibConfig(face=FaceFinder(whole_image=True)), progress=False)
    >>> out.vectors.shape, out.found.tolist()
    ((2, 128), [True, True])
    """
    results = run_parallel(partial(embed_item, partial(_embed, cfg)), list(images), "dlib templates",
                           workers=workers, progress=progress)
    return collect(results, DIM)


def _rows(a: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(a, np.float32)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of templates (one a row), got shape {a.shape}")
    return a


def cosine_similarity(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``(n_probes, n_gallery)`` cosine similarities in [-1, 1]; a zero template scores 0 against everything.

    >>> cosine_similarity(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 3.0]])).tolist()
    [[1.0, 0.0]]
    """
    p, g = _rows(probes, "probes"), _rows(gallery, "gallery")
    pn = np.linalg.norm(p, axis=1, keepdims=True)
    gn = np.linalg.norm(g, axis=1, keepdims=True)
    return (p / np.where(pn > 0, pn, 1)) @ (g / np.where(gn > 0, gn, 1)).T


def euclidean_similarity(probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """``-(Euclidean distance)``, ``(n_probes, n_gallery)``: above ``-DLIB_SAME_PERSON_DISTANCE`` = dlib's "same".

    >>> euclidean_similarity(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])).tolist()
    [[-5.0]]
    """
    p, g = _rows(probes, "probes"), _rows(gallery, "gallery")
    sq = (p * p).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2 * (p @ g.T)
    return -np.sqrt(np.maximum(sq, 0))
