"""Image classifiers, one published model per file, registered by name.

Every model takes uint8 image stacks ``(n, H, W)`` (seed 000's greyscale output) and returns
scores for class 1 (higher = more class-1-like)::

    model = MODELS.get("pixel_logreg")(config=None, seed=0)
    model.fit(X_train, y_train)
    scores = model.predict_score(X_test)

Examples
--------
>>> MODELS.names()
['fpt', 'knabenhans_cnn', 'pixel_logreg']
>>> rng = np.random.default_rng(0)
>>> X, y = rng.integers(0, 256, (20, 8, 8)).astype(np.uint8), np.arange(20) % 2
>>> model = MODELS.get("pixel_logreg")(config=None, seed=0).fit(X, y)
>>> model.predict_score(X).shape, model.trainable_params()  # one score per image; 32x32 pixels + intercept
((20,), 1025)
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from artifactual.replication.registry import Registry


class ImageClassifier(Protocol):
    CONFIG: type  # the model's frozen config dataclass
    PROTOCOL: str  # how an audit evaluates it: "cv" (repeated grouped CV) or "holdout" (networks, CPU)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ImageClassifier": ...

    def predict_score(self, X: np.ndarray) -> np.ndarray: ...

    def trainable_params(self) -> int: ...


MODELS: Registry = Registry("model")

from artifactual.replication.models import fpt, knabenhans_cnn, pixel_logreg  # noqa: E402,F401
