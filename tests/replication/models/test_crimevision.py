"""Seed 004's frame classifiers: they run, learn an easy task, repeat themselves, and load real weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from artifactual.replication.models.crimevision import (
    FrameNetConfig,
    efficientnet_lite0,
    fit_frame_net,
    frame_features,
    frames_to_tensor,
    imagenet_normalise,
)

COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]])  # one mean colour per class


def _colour_frames(n: int, seed: int, side: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy frames whose class (0, 1, 2) is their mean colour: a task any classifier should solve."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = COLOURS[y][:, None, None, :] + rng.normal(0, 40, (n, side, side, 3))
    return np.clip(X, 0, 255).astype(np.uint8), y


# one thread: two OpenMP threads spin-waiting beside other busy processes ran DenseNet121 ~20x slower here
TINY = FrameNetConfig(arch="densenet121", side=32, epochs=1, batch_size=16, threads=1, device="cpu")


def test_frozen_efficientnet_probe_learns_mean_colour():
    X, y = _colour_frames(60, seed=0)
    Xt, yt = _colour_frames(30, seed=1)
    model, info = fit_frame_net(X, y, FrameNetConfig(arch="efficientnet_lite0", mode="frozen", side=32,
                                                                threads=1))
    p = model.predict_proba(Xt)
    assert p.shape == (30, 3) and np.allclose(p.sum(1), 1)
    assert (p.argmax(1) == yt).mean() > 0.8  # chance is 1/3
    assert info["weights"].startswith("ImageNet") and info["trainable_params"] == 3 * 1280 + 3


def test_densenet_runs_and_reports():
    X, y = _colour_frames(40, seed=0)
    model, info = fit_frame_net(X, y, dataclasses.replace(TINY, epochs=2))
    p = model.predict_proba(X[:7])
    assert p.shape == (7, 3) and np.allclose(p.sum(1), 1) and np.all(p >= 0)
    assert info["weights"] == "random initialisation (no ImageNet DenseNet121 weights offline)"
    assert info["epochs_run"] == 2 and info["best_epoch"] in (1, 2) and len(info["history"]) == 2
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(info["history"][0])
    assert info["train_images"] + info["val_images"] == 40 and info["val_images"] == 4
    # MONAI's DenseNet121 + one Linear(1024, 3): the seed's single added dense layer
    assert info["trainable_params"] == info["total_params"] == 6_956_931
    assert info["seconds"] > 0 and info["config"]["arch"] == "densenet121"


def test_same_seed_same_probabilities():
    X, y = _colour_frames(24, seed=3)
    cfg = dataclasses.replace(TINY, max_train_images=20)
    p1 = fit_frame_net(X, y, cfg)[0].predict_proba(X)
    p2 = fit_frame_net(X, y, cfg)[0].predict_proba(X)
    assert np.array_equal(p1, p2)


def test_subsample_is_reported():
    X, y = _colour_frames(30, seed=4)
    _, info = fit_frame_net(X, y, dataclasses.replace(TINY, max_train_images=12, validation_fraction=0.0))
    assert info["images_given"] == 30 and info["train_images"] == 12 and info["val_images"] == 0


def test_imagenet_weights_are_real():
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from skimage.data import chelsea

    a, b = efficientnet_lite0(), efficientnet_lite0()
    random = EfficientNet.from_name("efficientnet-lite0")
    for (name, pa), pb, pr in zip(a.state_dict().items(), b.state_dict().values(), random.state_dict().values()):
        assert torch.equal(pa, pb), name
        if name.endswith("weight") and pa.numel() > 100:
            assert not torch.equal(pa, pr), name
    # a known answer: ImageNet's Egyptian cat (285) for scikit-image's photograph of Chelsea the cat
    with torch.no_grad():
        logits = a.eval()(imagenet_normalise(frames_to_tensor(chelsea()[None], 224)))
    assert int(logits.argmax()) == 285


def test_frame_features_are_pooled_and_batch_independent():
    X, _ = _colour_frames(5, seed=5)
    F1, F2 = (frame_features(X, side=32, batch=b, device="cpu", threads=1) for b in (2, 5))
    assert F1.shape == (5, 1280) and F1.dtype == np.float32
    assert np.allclose(F1, F2, atol=1e-5) and np.all(F1 >= 0)  # after ReLU6, averaged: never negative


def test_grouped_validation_never_shares_a_video(monkeypatch):
    from artifactual.replication.models import crimevision

    seen = {}

    def spy(net, X, y, train, val, cfg, dev, rng, log):
        seen["train"], seen["val"] = train, val
        return [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.0, "seconds": 0.0}]

    monkeypatch.setattr(crimevision, "_train", spy)
    monkeypatch.setattr(crimevision, "build_network", lambda arch, k, side: __import__("torch").nn.Flatten())
    X, y = _colour_frames(60, seed=6, side=8)
    videos = np.repeat([f"v{i}" for i in range(12)], 5)
    fit_frame_net(X, y, dataclasses.replace(TINY, validation_fraction=0.25), groups=videos)
    assert len(seen["val"]) and not set(videos[seen["train"]]) & set(videos[seen["val"]])
    assert len(seen["train"]) + len(seen["val"]) == 60


@pytest.mark.parametrize("field, value", [("arch", "resnet50"), ("mode", "linear"), ("side", 16), ("epochs", 0),
                                          ("batch_size", 1), ("lr", 0.0), ("validation_fraction", 1.0),
                                          ("max_train_images", -1), ("seed", 1.5), ("augment", "yes"),
                                          ("device", "tpu"), ("probe_C", -1.0)])
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        FrameNetConfig(**{field: value})


def test_frozen_densenet_is_refused():
    with pytest.raises(ValueError, match="frozen.*efficientnet_lite0"):
        FrameNetConfig(arch="densenet121", mode="frozen")


def test_bad_data_is_refused():
    X, y = _colour_frames(12, seed=7)
    with pytest.raises(ValueError, match="at least 2 classes"):
        fit_frame_net(X, np.zeros(12, int), TINY)
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        fit_frame_net(X[..., 0], y, TINY)
    with pytest.raises(ValueError, match=r"\(n, H, W, 3\)"):
        fit_frame_net(X.astype(np.float32), y, TINY)
    with pytest.raises(ValueError, match="one integer class per frame"):
        fit_frame_net(X, y[:5], TINY)
    with pytest.raises(ValueError, match="groups"):
        fit_frame_net(X, y, TINY, groups=np.arange(5))


def test_efficientnet_finetune_trains_every_layer():
    X, y = _colour_frames(30, seed=8)
    cfg = dataclasses.replace(TINY, arch="efficientnet_lite0", lr=3e-4, patience=1, augment=False)
    model, info = fit_frame_net(X, y, cfg, n_classes=4)  # a fourth class absent from these frames
    assert model.predict_proba(X[:5]).shape == (5, 4)
    assert info["trainable_params"] == info["total_params"] == 3_371_008 + 4 * 1281
    assert info["weights"].startswith("ImageNet")
