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


def test_a_dropped_network_frees_its_body_at_once():
    """Issue 20: a network class closing over its body kept every body built (0.1-0.5 GB each) until the
    cyclic collector ran; the study builds dozens. Now dropping the network frees the body by reference count."""
    import gc
    import weakref

    net, _ = build_fpt(FPTConfig(body="minilm", pretrained=False, side=16))
    body = weakref.ref(net.body)
    gc.disable()
    try:
        del net
        assert body() is None
    finally:
        gc.enable()


def _gpt2_step(checkpointed: bool, side: int, batch: int, use_cache: bool = True):
    """One training pass of the GPT-2-shaped FPT: loss, trainable gradients, and the next random draws."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, _ = build_fpt(FPTConfig(body="gpt2", side=side, patch=4), 0)
    new_names = hasattr(net.body, "activation_checkpointing_disable")  # transformers >= 5.x
    if not checkpointed:
        getattr(net.body, "activation_checkpointing_disable" if new_names else "gradient_checkpointing_disable")()
        net.body.config.use_cache = use_cache
    assert getattr(net.body, "is_activation_checkpointing" if new_names else "is_gradient_checkpointing") \
        == checkpointed
    net.train()
    torch.manual_seed(1)
    x = torch.rand(batch, 1, side, side)
    loss = torch.nn.functional.cross_entropy(net(x), torch.arange(batch) % 2)
    loss.backward()
    return [loss.detach()] + [p.grad for p in net.parameters() if p.requires_grad] + [torch.rand(2)]


def test_gpt2_checkpointed_training_is_bitwise_the_same():
    """Issue 20: GPT-2's blocks are recomputed in the backward pass (memory). Dropout included, the loss, every
    trainable gradient and the random stream after are exactly those of a plain pass: at the study's 64 tokens
    (side 32, patch 4) as the study ran before, and at any size once the plain pass also skips transformers'
    key/value cache (checkpointed training turns it off; at a few tokens the cache alone moves the last bits)."""
    import torch

    study_shape = zip(_gpt2_step(True, 32, 4), _gpt2_step(False, 32, 4))
    few_tokens = zip(_gpt2_step(True, 8, 3), _gpt2_step(False, 8, 3, use_cache=False))
    assert all(torch.equal(u, v) for u, v in study_shape)
    assert all(torch.equal(u, v) for u, v in few_tokens)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# -- issue 13: equal tuning, grouped validation, paired equivalence reading, a pinned design --------

from types import SimpleNamespace  # noqa: E402

from artifactual.analyses.goel2022_fpt import COMPARISONS, FPTStudyConfig, _model_zoo, _split, stable_order  # noqa: E402
from artifactual.analyses.model_comparison import (TuningBudget, equivalence_reading,  # noqa: E402
                                                   paired_auroc_difference)
from artifactual.replication.models.torch_common import validation_split  # noqa: E402


def _reading(y, a, b, groups=None, seed=0):
    d = paired_auroc_difference(y, a, b, groups, level=1 - 0.05 / 3, n_boot=1000, seed=seed)
    return equivalence_reading(d["ci_low"], d["ci_high"], 0.03), d


def test_equivalence_reading_on_made_up_scores():
    rng = np.random.default_rng(0)
    # match: b is a with a little noise; 2,000 test items give a narrow paired interval
    y = np.repeat([0, 1], 1000)
    a = y + rng.normal(0, 1, 2000)
    reading, d = _reading(y, a, a + rng.normal(0, 0.05, 2000))
    assert reading == "matches" and -0.03 < d["ci_low"] <= d["ci_high"] < 0.03
    # better: a separates well, b barely (AUROC ~0.76 vs ~0.56)
    reading, d = _reading(y, a, y * 0.2 + rng.normal(0, 1, 2000))
    assert reading == "a_better" and d["ci_low"] > 0.03
    reading, _ = _reading(y, y * 0.2 + rng.normal(0, 1, 2000), a)
    assert reading == "b_better"
    # cannot tell: two unrelated noisy models on 40 items, the interval holds 0 and passes the margin
    y40 = np.repeat([0, 1], 20)
    reading, d = _reading(y40, y40 + rng.normal(0, 1, 40), y40 + rng.normal(0, 1, 40))
    assert reading == "cannot_tell" and d["ci_low"] < 0 < d["ci_high"]


def test_paired_difference_resamples_identities_not_images():
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(40), 10)  # 40 people, 10 near-identical images each
    y = (ids % 2).astype(int)
    a = np.repeat(rng.normal(0, 1, 40), 10) + y
    b = np.repeat(rng.normal(0, 1, 40), 10) + y
    by_image = paired_auroc_difference(y, a, b, None, n_boot=500)
    by_person = paired_auroc_difference(y, a, b, ids, n_boot=500)
    assert by_person["units"] == 40 and by_image["units"] == 400
    # images of one person are not independent: the honest interval is much wider
    assert (by_person["ci_high"] - by_person["ci_low"]) > 2 * (by_image["ci_high"] - by_image["ci_low"])


def test_every_compared_model_gets_the_same_budget():
    cfg = FPTStudyConfig()
    zoo = {m["name"]: m for m in _model_zoo(cfg)}
    compared = {n for pair in COMPARISONS for n in pair}
    assert compared <= set(zoo)
    assert {len(zoo[n]["settings"]) for n in compared} == {cfg.budget.candidates} == {3}
    assert not any(zoo[n].get("outside_budget") for n in compared)
    assert zoo["fpt_gpt2_shaped"].get("outside_budget")  # CPU: said in its row, kept out of the comparison
    # the networks are built with the budget's epochs and patience
    fpt, cnn = zoo["fpt_minilm_pretrained"]["make"](1e-3), zoo["knabenhans_cnn"]["make"](1e-3)
    assert (fpt.config.epochs, fpt.config.patience, fpt.config.lr_sweep) == (6, 2, (1e-3,))
    assert (cnn.config.epochs, cnn.config.patience, cnn.config.lr) == (6, 2, 1e-3)
    with pytest.raises(ValueError, match="lr_grid has 2 settings"):
        FPTStudyConfig(lr_grid=(1e-3, 3e-3))
    with pytest.raises(ValueError, match="TuningBudget needs"):
        TuningBudget(candidates=0)


def test_study_splits_never_share_a_person_and_do_not_move_when_one_person_leaves():
    groups = np.repeat([f"p{i}" for i in range(50)], 4)
    d = SimpleNamespace(groups=groups, n=len(groups))
    parts = _split(d, FPTStudyConfig())
    sets = {k: set(groups[v]) for k, v in parts.items()}
    assert not (sets["fit"] & sets["validation"]) and not (sets["fit"] & sets["test"])
    assert not (sets["validation"] & sets["test"])
    assert sum(len(v) for v in parts.values()) == len(groups)
    assert len(sets["test"]) == 15  # ceil(0.3 * 50) identities
    # one person fewer: every other person stays where they were
    keep = groups != "p7"
    d2 = SimpleNamespace(groups=groups[keep], n=int(keep.sum()))
    parts2 = {k: set(groups[keep][v]) for k, v in _split(d2, FPTStudyConfig()).items()}
    moved = [p for p in set(groups) - {"p7"} for k in parts2 if (p in parts2[k]) != (p in sets[k])]
    assert len(moved) <= 2 * 2  # at most the person at each part's boundary changes side
    assert stable_order(np.array(["a", "b"]), 0, "x").tolist() == stable_order(np.array(["b", "a"]), 0, "x").tolist()


def test_grouped_validation_split_in_the_networks():
    groups = np.repeat(np.arange(12), 5)
    train, val = validation_split(60, 0.25, seed=3, groups=groups)
    assert not set(groups[train]) & set(groups[val]) and len(train) + len(val) == 60
    with pytest.raises(ValueError, match="at least 2 identities"):
        validation_split(5, 0.2, 0, np.zeros(5))
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, (60, 16, 16)).astype(np.uint8)
    y = (groups % 2).astype(int)
    X[y == 1, :4] = 255
    m = FPT(FPTConfig(side=16, epochs=1, lr_sweep=(3e-3,), batch_size=16), seed=0).fit(X, y, groups=groups)
    assert m.history[0]["val_acc"] is not None


def test_embedded_study_designs_are_pinned():
    """The embedded default's two study datasets: which images they hold is a decision (issue 13)."""
    from artifactual.analyses.goel2022_fpt import design_fingerprint
    from artifactual.analyses.studies.goel2022_fpt import load_datasets
    from artifactual.replication.parallel import use_settings
    from artifactual.replication.study import RunContext

    with use_settings(progress=False):
        ds = load_datasets(FPTStudyConfig(data="embedded", per_dataset=0), RunContext())
    fp = {k: (v["images"], v["sha256"][:16]) for k, v in ((k, design_fingerprint(d)) for k, d in ds.items())}
    assert fp == {"confounded_design": (38, "fe747310719e54f6"), "real_signal_one_source": (200, "afc539665918c7d3")}
