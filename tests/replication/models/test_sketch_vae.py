"""Seed 003's generators: the product of experts and the KL ramp by hand, a planted attribute learned,
repeatable generations, safe files, and clear errors."""

from __future__ import annotations

import dataclasses

import artifactual.replication.models.sketch_vae as sv
import numpy as np
import pytest
from artifactual.replication.models.sketch_vae import (
    SketchVAEConfig,
    build_networks,
    fit_sketch_vae,
    kl_annealing_factor,
    load,
    product_of_experts,
    save,
)

# small networks and one thread (two OpenMP threads beside other busy processes run slower here)
TINY = SketchVAEConfig(approach="mvae", latent=8, width=8, image_hidden=32, attr_hidden=32, epochs=2,
                       batch_size=10, lr=3e-3, anneal_epochs=5, device="cpu", threads=1)


def _planted(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Attribute 0 says whether the image is bright (mean 200) or dark (mean 50); the others are 0."""
    rng = np.random.default_rng(seed)
    attrs = np.zeros((n, 40), int)
    attrs[:, 0] = np.arange(n) % 2
    base = np.where(attrs[:, 0] == 1, 200, 50)[:, None, None, None]
    return np.clip(base + rng.normal(0, 20, (n, 64, 64, 3)), 0, 255).astype(np.uint8), attrs


def _numpy_poe(mus: list, variances: list) -> tuple[np.ndarray, np.ndarray]:
    """Precision-weighted product of Gaussians, written out (with the reference's 1e-8 on each variance)."""
    precisions = [1.0 / (np.asarray(v, float) + 1e-8) for v in variances]
    total = sum(precisions)
    return sum(np.asarray(m, float) * t for m, t in zip(mus, precisions)) / total, 1.0 / total


@pytest.fixture(scope="module")
def planted():
    return _planted(40, seed=0)


@pytest.fixture(scope="module")
def mvae(planted):
    return fit_sketch_vae(*planted, TINY)


def test_product_of_experts_matches_hand_computation():
    import torch

    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    var1, var2 = rng.uniform(0.1, 3, (3, 5)), rng.uniform(0.1, 3, (3, 5))
    prior_mu, prior_var = np.zeros((3, 5)), np.ones((3, 5))
    for mus, variances in (([prior_mu, mu1, mu2], [prior_var, var1, var2]), ([prior_mu, mu1], [prior_var, var1])):
        m, lv = product_of_experts(torch.tensor(np.stack(mus)), torch.tensor(np.log(np.stack(variances))))
        want_mu, want_var = _numpy_poe(mus, variances)
        assert np.allclose(m.numpy(), want_mu) and np.allclose(np.exp(lv.numpy()), want_var)
    # one expert of variance 1 beside the prior: the mean halves, the variance halves
    m, lv = product_of_experts(torch.tensor([[[0.0]], [[3.0]]]), torch.zeros(2, 1, 1))
    assert np.isclose(m.item(), 1.5) and np.isclose(np.exp(lv.item()), 0.5)


def test_image_posterior_includes_the_prior_expert(mvae, planted):
    import torch

    model, _ = mvae
    model.nets.eval()
    with torch.no_grad():
        raw = model.nets["image_encoder"](sv._image_tensor(planted[0][:4], model.device)).numpy()
    expert_mu, expert_var = raw[:, :8], np.exp(raw[:, 8:])
    want_mu, want_var = _numpy_poe([np.zeros_like(expert_mu), expert_mu], [np.ones_like(expert_var), expert_var])
    mu, logvar = model.encode_image(planted[0][:4])
    assert np.allclose(mu, want_mu, atol=1e-5) and np.allclose(np.exp(logvar), want_var, atol=1e-5)


def test_kl_annealing_schedule_per_batch():
    # the reference's (batch + (epoch - 1) * N + 1) / (A * N), epochs from 1, batches from 0
    assert kl_annealing_factor(1, 0, 10, 20) == pytest.approx(1 / 200)
    assert kl_annealing_factor(10, 4, 10, 20) == pytest.approx(95 / 200)
    assert kl_annealing_factor(19, 9, 10, 20) == pytest.approx(0.95)  # the ramp's last value
    assert kl_annealing_factor(20, 0, 10, 20) == kl_annealing_factor(55, 3, 10, 20) == 1.0
    assert kl_annealing_factor(1, 0, 10, 0) == 1.0  # no warm-up
    with pytest.raises(ValueError, match="epoch counts from 1"):
        kl_annealing_factor(0, 0, 10, 20)


def test_training_records_the_ramp_and_loss_parts(mvae):
    _, info = mvae  # 40 images in batches of 10: N = 4 batches, A = 5 epochs
    weights = [h["kl_weight"] for h in info["history"]]
    assert weights == pytest.approx([np.mean([(i + 1) / 20 for i in range(4)]),
                                     np.mean([(i + 5) / 20 for i in range(4)])])
    h = info["history"][0]
    assert h["loss"] > 0 and h["recon_image"] > 0 and h["recon_attributes"] > 0 and h["kl"] > 0
    assert np.isnan(h["val_loss"]) and h["seconds"] > 0 and info["seconds_per_epoch"] > 0
    assert info["approach"] == "mvae" and info["epochs"] == 2 and info["config"]["latent"] == 8
    assert info["params"] == sum(p.numel() for p in build_networks(TINY).parameters())


def test_architecture_follows_the_seed():
    from torch import nn

    for approach, act in (("cross_modal", nn.LeakyReLU), ("mvae", nn.SiLU)):
        nets = build_networks(dataclasses.replace(TINY, approach=approach))
        assert any(isinstance(m, act) for m in nets.modules())
        ups = [m for m in nets["image_decoder"] if isinstance(m, nn.ConvTranspose2d)]
        assert [(m.in_channels, m.stride) for m in ups] == [(64, (2, 2)), (32, (2, 2)), (16, (2, 2)), (8, (2, 2))]
        assert sum(isinstance(m, nn.Linear) for m in nets["attr_encoder"]) == 3
    assert sorted(build_networks(dataclasses.replace(TINY, approach="cross_modal"))) == ["attr_encoder",
                                                                                          "image_decoder"]
    convs = [m for m in build_networks(TINY)["image_encoder"] if isinstance(m, nn.Conv2d)]  # w..8w, 4x4, stride 2
    assert [(m.out_channels, m.kernel_size, m.stride) for m in convs] == [(c, (4, 4), (2, 2)) for c in (8, 16, 32, 64)]


@pytest.mark.parametrize("approach", ["cross_modal", "mvae"])
def test_generate_shape_and_repeatability(approach, planted):
    cfg = dataclasses.replace(TINY, approach=approach)
    X, A = planted
    m1, info = fit_sketch_vae(X, A, cfg, val=(X[:6], A[:6]))
    m2, _ = fit_sketch_vae(X, A, cfg)
    g1 = m1.generate(A[:3], n_samples=2, seed=5)
    assert g1.shape == (6, 64, 64, 3) and g1.dtype == np.uint8
    assert np.array_equal(g1, m2.generate(A[:3], n_samples=2, seed=5))
    assert not np.array_equal(g1, m1.generate(A[:3], n_samples=2, seed=6))  # the seed draws z
    assert np.array_equal(m1.generate(A[:2], use_mean=True), m1.generate(A[:2], use_mean=True, seed=9))
    assert np.isfinite(info["history"][-1]["val_loss"])


@pytest.mark.parametrize("approach", ["cross_modal", "mvae"])
def test_attribute_only_generation_learns_a_planted_attribute(approach, planted):
    model, _ = fit_sketch_vae(*planted, dataclasses.replace(TINY, approach=approach, epochs=20))
    bright, dark = np.zeros((1, 40)), np.zeros((1, 40))
    bright[0, 0] = 1
    means = [model.generate(a, n_samples=4, use_mean=True).mean() for a in (bright, dark)]
    assert means[0] - means[1] > 30, means  # images 200 vs 50; seeds 0-5 gave differences of 70 to 150


def test_test_mse_against_direct_computation(mvae, planted):
    model, _ = mvae
    X, A = planted
    r = sv.test_mse(model, X[:12], A[:12])
    real = X[:12] / 255.0
    assert r["mse"] == pytest.approx(((model.reconstruct_from_attributes(A[:12]) - real) ** 2).mean(), rel=1e-5)
    assert r["sse_per_image"] == pytest.approx(r["mse"] * 64 * 64 * 3) and r["n"] == 12
    assert r["mse_mean_image"] == pytest.approx(((real - real.mean(0)) ** 2).mean(), rel=1e-5)
    assert r["per_image"].shape == (12,) and np.isfinite(r["mse_logits"])


def test_save_load_round_trip_and_refusals(mvae, planted, tmp_path):
    import torch

    model, _ = mvae
    path = save(model, tmp_path / "mvae.pt")
    back = load(path)
    assert back.cfg == model.cfg
    A = planted[1][:3]
    assert np.array_equal(back.generate(A, n_samples=2, seed=1), model.generate(A, n_samples=2, seed=1))
    # a pickled object is refused (weights_only), and so is a container that is not name -> tensor
    torch.save({"config": TINY}, tmp_path / "obj.pt")
    (tmp_path / "obj.pt.json").write_text((tmp_path / "mvae.pt.json").read_text())
    with pytest.raises(ValueError, match="refusing to unpickle"):
        load(tmp_path / "obj.pt")
    torch.save([torch.zeros(2)], tmp_path / "obj.pt")
    with pytest.raises(ValueError, match="is not a state dict"):
        load(tmp_path / "obj.pt")
    with pytest.raises(FileNotFoundError, match="missing"):
        load(tmp_path / "nowhere.pt")


def test_bad_inputs_name_the_value(mvae, planted):
    X, A = planted
    model, _ = mvae
    with pytest.raises(ValueError, match=r"got shape \(40, 32, 32, 3\)"):
        fit_sketch_vae(X[:, :32, :32], A, TINY)
    with pytest.raises(ValueError, match=r"got values \[-1, 1\]"):
        fit_sketch_vae(X, 2 * A - 1, TINY)
    with pytest.raises(ValueError, match=r"shape \(m, 40\); got shape \(40, 18\)"):
        fit_sketch_vae(X, A[:, :18], TINY)
    with pytest.raises(ValueError, match="at least 2 images.*got 1"):
        fit_sketch_vae(X[:1], A[:1], TINY)
    with pytest.raises(ValueError, match="40 images but 39 attribute rows"):
        fit_sketch_vae(X, A[:39], TINY)
    with pytest.raises(ValueError, match="min -0.5"):
        fit_sketch_vae(np.full((4, 64, 64, 3), -0.5), A[:4], TINY)
    with pytest.raises(ValueError, match="got shape \\(3, 41\\)"):
        model.generate(np.zeros((3, 41)))
    with pytest.raises(ValueError, match="n_samples"):
        model.generate(A[:1], n_samples=0)
    with pytest.raises(ValueError, match="trains no image encoder"):
        fit_sketch_vae(X, A, dataclasses.replace(TINY, approach="cross_modal", epochs=1))[0].encode_image(X[:2])
    with pytest.raises(ValueError, match="approach must be one of"):
        SketchVAEConfig(approach="vae")
    with pytest.raises(ValueError, match="recon_reduction"):
        SketchVAEConfig(recon_reduction="max")
