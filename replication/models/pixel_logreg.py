"""``pixel_logreg``: logistic regression on (resized) greyscale pixels.

The simplest model that can read a photo's capture style: if it matches a "universal" classifier
on a confounded design, the design, not the model, explains the number.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from artifactual.replication.models import MODELS


@dataclass(frozen=True)
class PixelLogRegConfig:
    side: int = 32  # images resized to side x side before flattening (1,024 features)
    C: float = 0.01  # strong L2: far more pixels than images per identity
    max_iter: int = 2000


def pixels_to_features(X: np.ndarray, side: int) -> np.ndarray:
    """(n, H, W[, 3]) pixels on the 0-255 scale -> (n, side*side) float in [0, 1] (colour averaged to grey).

    Floats that all lie within [0, 1] are refused: they are almost surely images scaled already, and
    dividing them by 255 again leaves a black picture that a network cannot learn from.
    """
    X = np.asarray(X)
    if X.dtype.kind == "f" and X.size and float(np.nanmax(X)) <= 1.0:
        raise ValueError("pixels must be on the 0-255 scale (uint8); these floats all lie in [0, 1], "
                         "so they look scaled already")
    if X.ndim == 4:
        X = X.mean(axis=3)
    if X.shape[1:3] != (side, side):
        X = np.stack([cv2.resize(np.asarray(x, np.float32), (side, side), interpolation=cv2.INTER_AREA) for x in X])
    return X.reshape(len(X), -1).astype(np.float64) / 255.0


def one_blas_thread() -> threadpool_limits:
    """Context: NumPy/SciPy's BLAS on one thread, for logistic-regression fits on images.

    lbfgs on a few thousand images x 1,024 pixels makes many small matrix-vector products; OpenBLAS
    spreading each over two threads costs more than it saves. Measured on this 2-core machine
    (one fit, 1,024 features): 480 images 0.34 s -> 0.042 s, 3,000 images 0.40 -> 0.29 s,
    6,000 images 0.51 -> 0.38 s. It also lets two audit units run side by side without
    oversubscribing the cores.
    """
    return threadpool_limits(limits=1, user_api="blas")


@MODELS.register("pixel_logreg")
class PixelLogReg:
    """Standardised pixels -> L2 logistic regression (scikit-learn, lbfgs).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 255, (40, 16, 16)).astype(np.uint8); y = np.r_[np.zeros(20), np.ones(20)]
    >>> X[y == 1, :4] = 255
    >>> m = PixelLogReg(PixelLogRegConfig(side=16)).fit(X, y)
    >>> bool(m.predict_score(X)[y == 1].mean() > m.predict_score(X)[y == 0].mean())
    True
    """

    CONFIG = PixelLogRegConfig
    PROTOCOL = "cv"  # cheap: repeated identity-grouped cross-validation

    def __init__(self, config: PixelLogRegConfig | None = None, seed: int = 0) -> None:
        self.config = config or PixelLogRegConfig()
        self.seed = seed
        self.pipe = make_pipeline(StandardScaler(), LogisticRegression(C=self.config.C, max_iter=self.config.max_iter))

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """The per-image, label-free feature step (:func:`pixels_to_features`). Rows of ``prepare(X)`` equal
        ``prepare`` of those rows, bit for bit, so cross-validation computes it once for every fold's fit
        (``fit(..., prepared=True)``) instead of once per fit (9% of the headline's time, issue 20).

        >>> X = np.random.default_rng(0).integers(0, 255, (6, 64, 64)).astype(np.uint8)
        >>> m = PixelLogReg()
        >>> bool((m.prepare(X)[2:5] == m.prepare(X[2:5])).all())
        True
        """
        return pixels_to_features(X, self.config.side)

    def fit(self, X: np.ndarray, y: np.ndarray, prepared: bool = False) -> "PixelLogReg":
        """Fit on images, or on rows of :meth:`prepare`'s features with ``prepared=True``."""
        with one_blas_thread():
            self.pipe.fit(X if prepared else self.prepare(X), np.asarray(y).astype(int))
        return self

    def predict_score(self, X: np.ndarray, prepared: bool = False) -> np.ndarray:
        with one_blas_thread():
            return self.pipe.predict_proba(X if prepared else self.prepare(X))[:, 1]

    def trainable_params(self) -> int:
        return self.config.side ** 2 + 1
