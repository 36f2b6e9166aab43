"""Seed 000's design rebuilt from public, non-criminal faces: the label is the photo source.

Goel et al. (seed 000, §4.1, Table 1) took their "criminal" class from mugshot collections and
their "non-criminal" class from portrait databases, so class and source coincide. We rebuild the
same structure. Nobody here is a criminal: class A is a constructed, source-defined class.

- class A, "A: mugshot-style sources" (stands in for the paper's "criminal" class);
- class B, "B: portrait sources".

Real data (default): A = ORL (greyscale laboratory capture) + half of UTKFace passed through
:class:`~artifactual.replication.capture.MugshotCapture`; B = LFW + the other half of UTKFace,
untouched. UTKFace gives no identities; byte-identical files (99 groups in crop_part1) are treated
as one identity so that copies never straddle a split, and the halves are split by that identity.
Classes are balanced by sampling LFW identities until LFW matches ORL's image count (each class
then holds one small laboratory/news source and one UTKFace half). ``per_class`` subsamples both
classes proportionally for a CPU budget; the summary says by how much.

Embedded default: the 100 faces of scikit-image's LFW subset, split at random into two halves;
one half passes through the capture transform (class A), the other stays as it is (class B).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from artifactual.replication.capture import MugshotCapture, apply_capture
from artifactual.replication.config import stable_hash, to_dict
from artifactual.replication.data import load_dataset
from artifactual.replication.data.dataset import Dataset, PixelRule
from artifactual.replication.data.images import Decoded

CLASS_A = "A: mugshot-style sources"
CLASS_B = "B: portrait sources"
CLASS_NAMES = {1: CLASS_A, 0: CLASS_B}


#: Seed 000's own numbers (Goel et al. 2022, abstract and Figure 5; 4,000 test images): the one place
#: the code holds them. The audit's run and the FPT study read them from here.
SEED_CLAIMS = {"auroc": 0.99, "average_precision": 0.98, "encrypted_auroc": 0.98, "encrypted_average_precision": 0.97,
               "test_images": 4000}


def embedded_capture() -> MugshotCapture:
    # 25x25 patches: "low resolution" has to mean fewer than 25 pixels.
    return MugshotCapture(low_resolution_side=12)


@dataclass(frozen=True)
class Goel2022Design:
    """What :func:`build_design` builds: real data under a data root, or the embedded default.

    Examples
    --------
    >>> Goel2022Design(data="embedded").per_class
    0
    >>> Goel2022Design(data="web")
    Traceback (most recent call last):
    ...
    ValueError: design data must be 'real' or 'embedded', got 'web'
    """

    data: str = "real"  # "real" (ORL + UTKFace + LFW under a data root) or "embedded"
    capture: MugshotCapture = field(default_factory=MugshotCapture)
    per_class: int = 0  # 0 = every image the balanced design allows
    seed: int = 0

    def __post_init__(self) -> None:
        if self.data not in ("real", "embedded"):
            raise ValueError(f"design data must be 'real' or 'embedded', got {self.data!r}")


@dataclass(frozen=True)
class DesignPixelRule(PixelRule):
    """Loads a row from its base dataset, then applies the capture transform when ``captured``."""

    rules: Mapping[str, PixelRule] = field(default_factory=dict)
    capture: MugshotCapture = field(default_factory=MugshotCapture)

    columns = ("base", "path", "array_index", "captured")

    def describe(self) -> str:
        return "capture:" + stable_hash(to_dict(self.capture))

    def load(self, row: Mapping[str, Any]) -> Decoded:
        decoded = self.rules[row["base"]].load(row)
        if not row.get("captured"):
            return decoded
        px, encoded = apply_capture(decoded.pixels, self.capture)
        note = f"mugshot capture: {'+'.join(self.capture.parts())}"
        return Decoded(px, decoded.facts, decoded.conversions + [note], encoded=encoded)


def utkface_identity(t: pd.DataFrame) -> pd.Series:
    # UTKFace has no identities: byte-identical copies share one, so they stay on one side.
    return "utkface:" + t["sha256"].astype(str).str[:16]


def _subset_identity(t: pd.DataFrame) -> pd.Series:
    return "lfw_subset:" + t["array_index"].astype(str)


def _rows(ds: Dataset, source: str, label: int, captured: bool, identity=None) -> pd.DataFrame:
    """Design rows of ``ds``'s usable images; ``identity`` computes identities from a table's own rows."""
    t = ds.usable().table.copy()
    out = pd.DataFrame({
        "base": ds.name, "path": t["path"].astype(str),
        "array_index": t["array_index"] if "array_index" in t.columns else pd.NA,
        "source": source, "identity": (identity(t) if identity is not None else t["identity"]).astype("string"),
        "label": label, "claimed_class": CLASS_NAMES[label], "captured": captured,
    })
    for col in ("format", "mode", "width", "height", "bytes", "n_frames", "sha256", "status", "reason", "conversions"):
        out[col] = t[col].to_numpy()
    for col in ("gender", "smiling", "age", "race"):
        if col in t.columns:
            out[col] = t[col].astype("object").to_numpy()
    return out


def sample_identities(frame: pd.DataFrame, n_images: int, rng: np.random.Generator | None,
                      order: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """Whole identities in random order, each taken only if it still fits, up to ``n_images``.

    ``order`` (identities -> the same identities, reordered) replaces the shuffle: a study that must
    not change when an unrelated image leaves the pool orders identities by a hash of their name.

    Never splits a person; skipping people who would overshoot keeps the classes balanced
    even when a few identities have hundreds of images (LFW's George_W_Bush has 530).

    Examples
    --------
    ``big`` (5 images) never fits in 4, whatever the order; the three others fill it exactly.

    >>> frame = pd.DataFrame({"identity": ["big"] * 5 + ["a", "a", "b", "c"]})
    >>> sample_identities(frame, 4, np.random.default_rng(0))["identity"].tolist()
    ['a', 'a', 'b', 'c']
    """
    ids = frame["identity"].drop_duplicates().to_numpy()
    if order is not None:
        ids = order(ids)
    else:
        rng.shuffle(ids)
    sizes = frame.groupby("identity").size()
    keep, total = [], 0
    for i in ids:
        if total >= n_images:
            break
        if total + int(sizes[i]) <= n_images:
            keep.append(i)
            total += int(sizes[i])
    return frame[frame["identity"].isin(keep)]


def build_design(cfg: Goel2022Design, data_root: str | Path | None = None) -> Dataset:
    """The confounded design as a dataset: ``label`` 1 = class A, 0 = class B, by source.

    The loaders decode with the ambient settings (:func:`~artifactual.replication.parallel.use_settings`).

    Examples
    --------
    The embedded default, subsampled to 10 images per class: class A images are captured
    mugshot-style when their pixels are loaded (greyscale, padded, re-encoded), class B ones are not.

    >>> cfg = Goel2022Design(data="embedded", capture=embedded_capture(), per_class=10)
    >>> ds = build_design(cfg)
    >>> ds.notes
    {'n_lfw_subset': 10, 'n_lfw_subset_mugshot_capture': 10}
    >>> ds.table.groupby("label")["captured"].mean().to_dict(), ds.table["identity"].is_unique
    ({0: 0.0, 1: 1.0}, True)
    >>> a, b = ds.table.index[ds.table["captured"]][0], ds.table.index[~ds.table["captured"]][0]
    >>> ds.image(a).shape, ds.image(b).shape
    ((29, 29), (25, 25))
    """
    rng = np.random.default_rng(cfg.seed)
    if cfg.data == "embedded":
        base = load_dataset("lfw_subset")
        faces = base.subset((base.table["face"] == 1).to_numpy())
        n = len(faces.table)
        half = np.zeros(n, bool)
        half[rng.permutation(n)[: n // 2]] = True
        parts = [
            _rows(faces.subset(half), "lfw_subset_mugshot_capture", 1, True, _subset_identity),
            _rows(faces.subset(~half), "lfw_subset", 0, False, _subset_identity),
        ]
        rules = {"lfw_subset": base.pixel_rule()}
    else:
        orl = load_dataset("orl", data_root=data_root)
        utk = load_dataset("utkface", data_root=data_root)
        lfw = load_dataset("lfw", data_root=data_root)
        utk_ident = utkface_identity(utk.table)
        groups = utk_ident[utk.table["status"] == "ok"].drop_duplicates().to_numpy()
        rng.shuffle(groups)
        a_mask = utk_ident.isin(set(groups[: len(groups) // 2])).to_numpy()
        orl_rows = _rows(orl, "orl", 1, False)
        utk_a = _rows(utk.subset(a_mask), "utkface_mugshot_capture", 1, True, utkface_identity)
        utk_b = _rows(utk.subset(~a_mask), "utkface", 0, False, utkface_identity)
        lfw_rows = sample_identities(_rows(lfw, "lfw", 0, False), len(orl_rows) + len(utk_a) - len(utk_b), rng)
        parts = [orl_rows, utk_a, utk_b, lfw_rows]
        rules = {"orl": orl.pixel_rule(), "utkface": utk.pixel_rule(), "lfw": lfw.pixel_rule()}
    table = pd.concat(parts, ignore_index=True)
    if cfg.per_class:
        keep = []
        for _, cls in table.groupby("label"):
            frac = min(1.0, cfg.per_class / len(cls))
            for _, src in cls.groupby("source"):
                keep.append(sample_identities(src, int(round(frac * len(src))), rng))
        table = pd.concat(keep, ignore_index=True)
    notes = {f"n_{s}": int(n) for s, n in table["source"].value_counts().sort_index().items()}
    rule = DesignPixelRule(root=None, rules=rules, capture=cfg.capture)
    subgroups = [c for c in ("gender", "age", "race", "smiling") if c in table.columns]
    return Dataset("goel2022_design", table, None, ["label"], subgroups + ["captured"], notes=notes,
                   card=__doc__ or "", rule=rule)
