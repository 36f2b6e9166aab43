"""Pieces the torch models share: device choice, images -> tensor, batched class-1 scores.

torch is imported inside each function: the package must import without it being loaded.
"""

from __future__ import annotations

import contextlib

import numpy as np

from artifactual.replication.models.pixel_logreg import pixels_to_features


def pick_device(name: str):
    """``"auto"`` picks CUDA when present (GPU runs scale up), else the CPU; any other name as given."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def images_to_tensor(X: np.ndarray, side: int):
    """(n, H, W[, 3]) images -> float32 tensor (n, 1, side, side), uint8 scaled to [0, 1].

    Examples
    --------
    >>> X = np.full((3, 10, 10), 255, np.uint8)
    >>> X[1] = 0
    >>> xt = images_to_tensor(X, 8)
    >>> tuple(xt.shape), str(xt.dtype), xt[:, 0, 0, 0].tolist()
    ((3, 1, 8, 8), 'torch.float32', [1.0, 0.0, 1.0])
    """
    import torch

    return torch.from_numpy(pixels_to_features(X, side).reshape(-1, 1, side, side).astype(np.float32))


def class_one_scores(net, xt, device, batch: int = 512) -> np.ndarray:
    """Softmax probability of class 1 for every row of ``xt``, in batches, without gradients.

    Examples
    --------
    A linear net whose class-1 logit is ln(3) times the mean pixel: a white image scores
    3 / (1 + 3) = 0.75, a black one 0.5.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    >>> with torch.no_grad():
    ...     _ = net[1].weight.zero_()
    ...     _ = net[1].weight[1].fill_(float(np.log(3)) / 64)
    ...     _ = net[1].bias.zero_()
    >>> X = np.full((3, 8, 8), 255, np.uint8)
    >>> X[1] = 0
    >>> class_one_scores(net, images_to_tensor(X, 8), pick_device("cpu"), batch=2).round(4).tolist()
    [0.75, 0.5, 0.75]
    """
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(xt), batch):
            out.append(torch.softmax(net(xt[start:start + batch].to(device)), 1)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def validation_split(n: int, fraction: float, seed: int, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) row indices for early stopping; with ``groups`` whole identities go one way.

    Without groups the split is by image, so a person with several images can sit on both sides and
    the validation loss is optimistic (seed 002's UTKFace has no identities, so it has no choice).

    Examples
    --------
    >>> groups = np.repeat(np.arange(10), 3)  # 10 people, 3 images each
    >>> train, val = validation_split(30, 0.2, seed=0, groups=groups)
    >>> len(val), set(groups[train]) & set(groups[val])
    (6, set())
    """
    from sklearn.model_selection import GroupShuffleSplit

    idx = np.arange(n)
    if groups is None:
        perm = np.random.default_rng(seed).permutation(n)
        n_val = max(1, int(round(fraction * n)))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    groups = np.asarray(groups)
    if len(np.unique(groups)) < 2:
        raise ValueError(f"a grouped validation split needs at least 2 identities; got {len(np.unique(groups))}")
    split = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    train, val = next(split.split(idx, groups=groups))
    return np.sort(train), np.sort(val)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch CPU threads (0 = leave torch's setting), then restore the old count.

    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            torch.set_num_threads(before)
