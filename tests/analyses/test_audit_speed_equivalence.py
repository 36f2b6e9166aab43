"""Issue 20's speed-ups of the seed-000 audit change no number: each is checked against the code it replaced."""

from __future__ import annotations

import os

import numpy as np

from artifactual.analyses.audit import passive_openmp
from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import ablations
from artifactual.analyses.evaluate import headline_model, repeated_cv_scores
from artifactual.replication.models.pixel_logreg import PixelLogReg, PixelLogRegConfig


class _NoPrepare:
    """pixel_logreg as it was: features recomputed inside every fit and every score."""

    def __init__(self) -> None:
        self.m = PixelLogReg(PixelLogRegConfig(side=16), seed=0)

    def fit(self, X, y):
        self.m.fit(X, y)
        return self

    def predict_score(self, X):
        return self.m.predict_score(X)

    def trainable_params(self):
        return self.m.trainable_params()


def _data(n=120, side=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    X = rng.integers(0, 255, (n, side, side)).astype(np.uint8)
    X[y == 1, :3] = np.minimum(X[y == 1, :3].astype(int) + 40, 255).astype(np.uint8)
    return X, y, np.arange(n) // 2


def test_headline_cv_with_features_once_is_bit_identical():
    X, y, g = _data()
    new = headline_model("pixel_logreg", X, y, g, 0, protocol="cv", repeats=2, interval_draws=3,
                         make_model=lambda: PixelLogReg(PixelLogRegConfig(side=16), seed=0))
    old = headline_model("pixel_logreg", X, y, g, 0, protocol="cv", repeats=2, interval_draws=3, make_model=_NoPrepare)
    assert np.array_equal(new.pop("_scores"), old.pop("_scores"), equal_nan=True)
    assert new == old


def test_prepared_rows_match_per_fold_features():
    X, y, g = _data(side=40)
    m = PixelLogReg(PixelLogRegConfig(side=16))
    a = repeated_cv_scores(X, y, g, _NoPrepare, 4, 1)
    from artifactual.analyses.evaluate import prepared

    F, make = prepared(X, lambda: PixelLogReg(PixelLogRegConfig(side=16)))
    b = repeated_cv_scores(F, y, g, make, 4, 1)
    assert np.array_equal(a[0][0], b[0][0], equal_nan=True) and np.array_equal(m.prepare(X)[5:9], m.prepare(X[5:9]))


def test_face_removed_face_only_images_unchanged(monkeypatch):
    """The uint8 rewrite gives the probe the same two image sets as the float64 original."""
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 255, (40, 32, 32, 3)).astype(np.uint8)
    d = AuditData.from_arrays(raw, np.tile([0, 1], 20), np.repeat(["a", "b"], 20))
    d.boxes = rng.integers(2, 12, (40, 4))
    grey = ablations._grey(d.raw).astype(np.float64)
    masks = ablations.face_masks(d.raw, d.boxes)
    removed = np.where(masks, 0, grey).astype(np.uint8)
    only = np.zeros_like(grey)
    for i in range(len(grey)):
        px = grey[i][masks[i]]
        sd = px.std() or 1.0
        only[i][masks[i]] = np.clip(128 + 40 * (px - px.mean()) / sd, 0, 255)
    seen = []
    monkeypatch.setattr(ablations, "probe", lambda X, *a, **k: seen.append(X) or _FakeProbe())
    monkeypatch.setattr(ablations.CheckResult, "from_probe", classmethod(lambda cls, *a, **k: None))
    monkeypatch.setattr(ablations, "fmt", lambda r: "")
    ablations.face_removed_face_only(d, AuditConfig())
    assert seen[0].dtype == seen[1].dtype == np.uint8
    assert np.array_equal(seen[0], removed) and np.array_equal(seen[1], only.astype(np.uint8))


class _FakeProbe:
    too_small = False


def test_passive_openmp_keeps_a_users_policy(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    passive_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    passive_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
