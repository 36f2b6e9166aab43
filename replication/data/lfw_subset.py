"""Data card: ``lfw_subset`` — scikit-image's bundled LFW subset (the embedded default).

What: 200 greyscale 25x25 patches shipped inside scikit-image (``skimage.data.lfw_subset``):
the first 100 are faces cropped from Labeled Faces in the Wild, the next 100 are non-face patches.
No network is needed, so ``make run`` works on any fresh machine.
Citation: G. B. Huang et al., Labeled Faces in the Wild, UMass TR 07-49, 2007; S. van der Walt
et al., scikit-image, PeerJ 2014.
Terms: LFW is distributed for research; the photographers keep their copyright. The arrays are
read from the installed package and never copied into this repository.
Labels: ``face`` = 1 for the first 100 patches, 0 for the rest (scikit-image's documented order).
Identity: not given (NA), so each patch is its own group in identity-grouped splits.
Quirks: pixel values are floats in [0, 1]; we store them as uint8 (x*255, rounded) and record
that conversion. At 25x25 the faces are barely above the Haar cascade's 24x24 window.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, new_table

SOURCE = "skimage_lfw_subset"


@register_dataset("lfw_subset", needs="none")
def load(location: None = None, workers: int | None = None, progress: bool | None = None) -> Dataset:
    """The 200 patches as an in-memory dataset: 100 faces (``face`` = 1), then 100 non-faces.

    Examples
    --------
    >>> ds = load(progress=False)
    >>> len(ds), ds.arrays.shape, ds.arrays.dtype.name
    (200, (200, 25, 25), 'uint8')
    >>> int(ds.table["face"].sum()), ds.table["face"].iloc[[0, 99, 100, 199]].tolist()
    (100, [1, 1, 0, 0])
    >>> ds.image(3).shape, ds.root is None, ds.table["status"].unique().tolist()
    ((25, 25), True, ['ok'])
    """
    from skimage.data import lfw_subset

    raw = lfw_subset()  # (200, 25, 25) float64 in [0, 1]
    arrays = np.rint(np.clip(raw, 0, 1) * 255).astype(np.uint8)
    n = len(arrays)
    rows = [
        {"path": f"skimage.data.lfw_subset[{i}]", "source": SOURCE, "identity": pd.NA,
         "face": int(i < n // 2), "array_index": i}
        for i in range(n)
    ]
    table = new_table(rows, ["path", "source", "identity", "face", "array_index"])
    table["identity"] = table["identity"].astype("string")
    table["format"] = "ndarray"
    table["mode"] = "F"
    table["width"] = raw.shape[2]
    table["height"] = raw.shape[1]
    table["bytes"] = raw[0].nbytes
    table["n_frames"] = 1
    table["sha256"] = [hashlib.sha256(a.tobytes()).hexdigest() for a in arrays]
    table["conversions"] = "float [0,1] -> 8-bit grey (x*255, rounded)"
    return Dataset("lfw_subset", table, None, ["face"], [], arrays=arrays, card=__doc__ or "")
