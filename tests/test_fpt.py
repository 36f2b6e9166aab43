"""FPT (seed 000 §5 / Lu et al. 2021): what is trainable, where gradients go, a tiny end-to-end run."""

from __future__ import annotations

import numpy as np
import pytest

from artifactual.replication.models.fpt import BODIES, FPT, FPTConfig, build_fpt, trainable_parameter_names

# input (16 -> width) + output (width -> 2) + position table + every layer norm, by hand:
EXPECTED = {
    # MiniLM-L6: width 384, 512 positions, embedding LN + 6 layers x 2 LNs
    "minilm": (16 * 384 + 384) + (384 * 2 + 2) + 512 * 384 + (1 + 6 * 2) * 2 * 384,
    # GPT-2 small: width 768, 1024 positions, 12 layers x 2 LNs + final LN
    "gpt2": (16 * 768 + 768) + (768 * 2 + 2) + 1024 * 768 + (12 * 2 + 1) * 2 * 768,
}


@pytest.mark.parametrize("body", BODIES.names())
@pytest.mark.parametrize("pretrained", [True, False])
def test_trainable_parameter_count(body, pretrained):
    with pytest.warns(UserWarning, match="RANDOM weights") if (body == "gpt2" and pretrained) else _nothing():
        net, loaded = build_fpt(FPTConfig(body=body, pretrained=pretrained))
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == EXPECTED[body]
    assert loaded == (pretrained and body == "minilm")  # no GPT-2 weights offline: said, not hidden


def test_gradients_reach_only_trainable_parameters():
    import torch

    net, _ = build_fpt(FPTConfig(body="minilm", side=16))
    x = torch.randn(3, 1, 16, 16)
    net(x).sum().backward()
    names = set(trainable_parameter_names(net))
    for name, p in net.named_parameters():
        if name in names:
            assert p.grad is not None, name
        else:
            assert p.grad is None, name
    frozen = [n for n in dict(net.named_parameters()) if n not in names]
    assert any("attention.self.query" in n for n in frozen) and any("intermediate.dense" in n for n in frozen)
    assert {"input.weight", "output.weight", "body.embeddings.position_embeddings.weight"} <= names


def test_pretrained_and_random_minilm_differ_only_in_weights():
    a, _ = build_fpt(FPTConfig(body="minilm", pretrained=True))
    b, _ = build_fpt(FPTConfig(body="minilm", pretrained=False))
    qa = dict(a.named_parameters())["body.encoder.layer.0.attention.self.query.weight"]
    qb = dict(b.named_parameters())["body.encoder.layer.0.attention.self.query.weight"]
    assert qa.shape == qb.shape and not np.allclose(qa.detach().numpy(), qb.detach().numpy())


def test_tiny_end_to_end_fit():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (48, 16, 16)).astype(np.uint8)
    y = np.tile([0, 1], 24)
    X[y == 1, :4] = 255  # a bright band: trivially learnable
    m = FPT(FPTConfig(side=16, epochs=3, lr_sweep=(3e-3,), batch_size=16), seed=0).fit(X, y)
    s = m.predict_score(X)
    assert s.shape == (48,) and s[y == 1].mean() > s[y == 0].mean()
    assert m.history and {"train_loss", "val_loss", "val_acc"} <= set(m.history[0])
    assert m.sweep[0]["lr"] == 3e-3 and m.trainable_params() == EXPECTED["minilm"]


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False
