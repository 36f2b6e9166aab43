"""Seed 002's CNNs: exact parameter counts (its Table 2) and the choose-epoch-then-refit protocol."""

from __future__ import annotations

import numpy as np
import pytest

from artifactual.analyses.knabenhans2024 import SEED
from artifactual.replication.models.knabenhans_cnn import KnabenhansCNN, KnabenhansCNNConfig, build_network


@pytest.mark.parametrize("variant", [1, 2, 3])
def test_parameter_counts_equal_the_seeds_table_2(variant):
    net = build_network(variant)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    assert trainable == SEED["table2"][variant]["trainable"]
    # the seed's "total" is Keras' count after training: + Adam's two moment slots + 2 optimizer scalars
    assert 3 * trainable + 2 == SEED["table2"][variant]["total"]


def test_48x48_input_flattens_to_9x9x64():
    import torch

    net = build_network(1)
    x = torch.zeros(2, 1, 48, 48)
    assert net[:9](x).shape == (2, 9 * 9 * 64)


def _toy(n, rng):
    y = rng.integers(0, 2, n)
    X = (rng.random((n, 48, 48)) * 127).astype(np.uint8)
    X[y == 1, 10:20, 10:20] += 128  # a visible square on class 1
    return X, y


def test_the_network_learns_a_visible_square():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    X, y = _toy(200, rng)
    Xv, yv = _toy(60, rng)
    m = KnabenhansCNN(KnabenhansCNNConfig(variant=1, epochs=4, batch_size=32), seed=0).fit(X, y, Xv, yv)
    assert roc_auc_score(yv, m.predict_score(Xv)) > 0.95


def test_already_scaled_pixels_are_refused():
    m = KnabenhansCNN(KnabenhansCNNConfig(variant=1, epochs=1))
    with pytest.raises(ValueError, match="0-255"):
        m.fit(np.full((20, 48, 48), 0.5, np.float32), np.r_[np.zeros(10), np.ones(10)])


def test_refit_trains_a_fresh_network_for_the_best_epoch_count():
    rng = np.random.default_rng(0)
    X, y = _toy(120, rng)
    Xv, yv = _toy(40, rng)
    m = KnabenhansCNN(KnabenhansCNNConfig(variant=1, epochs=3, batch_size=32, refit=True), seed=0)
    m.fit(X, y, Xv, yv)
    assert len(m.first_run) == 3
    best = min(m.first_run, key=lambda h: h["val_loss"])["epoch"]
    assert m.best_epoch == best and len(m.history) == best and all(h["refit"] for h in m.history)
    # the refit is a new run (new initialisation), not the first run's weights
    assert m.history[0]["train_loss"] != m.first_run[0]["train_loss"]
    s = m.predict_score(Xv)
    assert s.shape == (40,) and np.all((s >= 0) & (s <= 1))


def test_without_refit_the_best_epoch_weights_are_kept():
    rng = np.random.default_rng(1)
    X, y = _toy(100, rng)
    m = KnabenhansCNN(KnabenhansCNNConfig(variant=3, epochs=2, batch_size=32), seed=0).fit(X, y)
    assert len(m.history) == 2 and m.first_run == [] and m.best_epoch in (1, 2)
