"""Pieces the torch models share: device choice, images -> tensor, batched class-1 scores.

torch is imported inside each function: the package must import without it being loaded.
"""

from __future__ import annotations

import numpy as np

from artifactual.replication.models.pixel_logreg import pixels_to_features


def pick_device(name: str):
    """``"auto"`` picks CUDA when present (GPU runs scale up), else the CPU; any other name as given."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def images_to_tensor(X: np.ndarray, side: int):
    """(n, H, W[, 3]) images -> float32 tensor (n, 1, side, side), uint8 scaled to [0, 1]."""
    import torch

    return torch.from_numpy(pixels_to_features(X, side).reshape(-1, 1, side, side).astype(np.float32))


def class_one_scores(net, xt, device, batch: int = 512) -> np.ndarray:
    """Softmax probability of class 1 for every row of ``xt``, in batches, without gradients."""
    import torch

    net.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(xt), batch):
            out.append(torch.softmax(net(xt[start:start + batch].to(device)), 1)[:, 1].cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)
