"""Everything the audit battery looks at, computed once and cached.

- ``X``: the images after seed 000's §4.1 pipeline (what the replicated classifier sees);
- ``raw``: the same images before that pipeline, as delivered by their source (RGB, resized with
  padding to ``raw_side``), for checks that edit or harmonise photographs (d, f, i);
- ``boxes``: each image's Haar face rectangle, in ``raw`` coordinates;
- ``properties``: non-facial statistics of each full-resolution image (analyses.probes);
- ``y`` (0/1), ``source``, ``groups`` (identity, or the row when unknown).

The raw arrays and properties are cached beside the preprocessing cache (one checked entry of
:mod:`artifactual.replication.cache`), keyed by the manifest hash and the settings, so a second
audit of the same data decodes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from artifactual.analyses.probes import PROPERTY_NAMES, image_properties
from artifactual.replication.data.dataset import Dataset
from artifactual.replication.data.images import Decoded
from artifactual.replication.preprocess import (Goel2022Preprocess, detection_rates, ellipse_mask, preprocess_dataset,
                                                 resize_with_padding, to_grey)

if TYPE_CHECKING:  # only for the annotation: refit imports this module
    from artifactual.analyses.refit import ProbeConfig


@dataclass(frozen=True)
class AuditConfig:
    """Settings of the battery (saved with every result; the run folder is named by their hash)."""

    raw_side: int = 64
    folds: int = 5
    repeats: int = 5  # repeated identity-grouped CV: repeats x folds test folds per estimate
    n_boot: int = 1000  # identity bootstrap replicates (Cramér's V, the headline's curves and hold-out metrics)
    n_perm: int = 1000  # most permutations of a test (Besag-Clifford stops earlier when p is large)
    exceedances: int = 10  # Besag & Clifford's h
    interval_draws: int = 100  # permuted refits behind each probe interval (analyses.refit.null_sd_interval)
    # Fewest identities per class for a probe check to report a number, chosen from make calibrate (1,600
    # datasets): the tests hold their level at every size (false-positive rate 0.024-0.067 from 5 to 100
    # per class), but at 5 per class the 95% interval is 0.80-0.84 wide (AUROC ~0.1-0.9: no information),
    # at 10 it is 0.53-0.60, at 20 0.37-0.43, at 100 0.18-0.21. Below 10 a number would mislead.
    min_identities: int = 10
    dose_max_images: int = 600  # images of the one source that receives injected artifacts (check i)
    blur_sigma_fraction: float = 0.1  # Gaussian sigma as a fraction of the image side (check e)
    seed: int = 0

    def probe(self) -> "ProbeConfig":
        from artifactual.analyses.refit import ProbeConfig

        return ProbeConfig(folds=self.folds, repeats=self.repeats, max_perm=self.n_perm, exceedances=self.exceedances,
                           interval_draws=self.interval_draws, seed=self.seed)


@dataclass
class AuditData:
    """What the battery reads (see the module docstring); :meth:`from_arrays` builds one from pixels.

    >>> rng = np.random.default_rng(0)
    >>> d = AuditData.from_arrays(rng.integers(0, 255, (8, 16, 16, 3)).astype(np.uint8), np.tile([0, 1], 4),
    ...                           np.repeat(["a", "b"], 4), np.repeat(np.arange(4), 2))
    >>> d.n, d.X.shape, d.boxes[0].tolist(), d.properties.shape, d.label_values
    (8, (8, 16, 16), [0, 0, 16, 16], (8, 13), {0: '0', 1: '1'})
    """

    X: np.ndarray
    raw: np.ndarray
    boxes: np.ndarray
    y: np.ndarray
    source: np.ndarray
    groups: np.ndarray
    properties: pd.DataFrame
    table: pd.DataFrame
    preprocess: Goel2022Preprocess
    label_values: dict[int, str] = field(default_factory=dict)
    preprocessing_report: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.y)

    @classmethod
    def from_arrays(cls, raw: np.ndarray, y: np.ndarray, source: np.ndarray, groups: np.ndarray | None = None,
                    label_values: dict[int, str] | None = None) -> "AuditData":
        """Audit data from square uint8 photos (n, S, S, 3) that need no face detection: the whole
        photo is the face box, §4.1's pipeline runs without detection at size S, properties are measured."""
        raw = np.asarray(raw)
        if raw.ndim != 4 or raw.shape[1] != raw.shape[2] or raw.dtype != np.uint8:
            raise ValueError(f"raw must be uint8 (n, S, S, 3), got {raw.dtype} {raw.shape}")
        n, side = len(raw), raw.shape[1]
        boxes = np.tile([0, 0, side, side], (n, 1))
        pp = Goel2022Preprocess(detect_face=False, size=side)
        groups = np.arange(n).astype(str) if groups is None else np.asarray(groups).astype(str)
        from artifactual.analyses.probes import property_table

        return cls(X=pipeline_from_raw(raw, boxes, pp), raw=raw, boxes=boxes, y=np.asarray(y).astype(int),
                   source=np.asarray(source).astype(str), groups=groups, properties=property_table(list(raw)),
                   table=None, preprocess=pp, label_values=label_values or {0: "0", 1: "1"})


def binary_labels(values: pd.Series, positive: Any | None = None) -> tuple[np.ndarray, dict[int, str]]:
    """Map a two-valued label column to 0/1 (``positive`` -> 1, else the larger sorted value).

    >>> binary_labels(pd.Series(["clear", "flagged", "clear"]), positive="flagged")
    (array([0, 1, 0]), {0: 'clear', 1: 'flagged'})
    >>> binary_labels(pd.Series(["x", "x"]))
    Traceback (most recent call last):
    ValueError: the audit needs a label with exactly two classes; found 1: ['x'] (one class: nothing to separate)
    """
    levels = sorted(values.dropna().unique().tolist(), key=str)
    if len(levels) != 2:
        raise ValueError(f"the audit needs a label with exactly two classes; found {len(levels)}: "
                         f"{levels[:10]}" + (" (one class: nothing to separate)" if len(levels) == 1 else ""))
    pos = positive if positive is not None else levels[1]
    if pos not in levels:
        raise ValueError(f"positive class {pos!r} is not among the labels {levels}")
    neg = levels[0] if levels[1] == pos else levels[1]
    return (values == pos).astype(int).to_numpy(), {0: str(neg), 1: str(pos)}


def box_in_raw(box: str, decoded_hw: str, side: int) -> tuple[int, int, int, int]:
    """Map a Haar box from original pixels to the ``side`` x ``side`` padded raw array.

    With no box (detection switched off), the whole image stands for the face: exactly the pixels
    that :func:`~artifactual.replication.preprocess.resize_with_padding` fills, which keeps at least
    one row and one column of a very thin picture (a 400 x 2 strip is 64 x 1 in a 64 frame, not 64 x 0).

    >>> box_in_raw("", "2,400", 64), box_in_raw("", "40,30", 64), box_in_raw("10,10,20,20", "40,40", 64)
    ((0, 31, 64, 1), (8, 0, 48, 64), (16, 16, 32, 32))
    """
    h, w = (int(v) for v in decoded_hw.split(","))
    scale = side / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))  # as resize_with_padding sizes the picture
    top, left = (side - nh) // 2, (side - nw) // 2
    if not box:
        return left, top, nw, nh
    x, y, bw, bh = (int(v) for v in box.split(","))
    return left + round(x * scale), top + round(y * scale), max(2, round(bw * scale)), max(2, round(bh * scale))


def inside_frame(box: np.ndarray | tuple[int, int, int, int], side: int) -> tuple[int, int, int, int]:
    """The part of an (x, y, w, h) box that lies in a ``side`` x ``side`` frame, at least one pixel.

    A box can poke out of the frame by rounding (a Haar box at the picture's edge, a face moved by
    injected padding) or lie outside it; a crop of zero pixels has no face to keep, so the nearest
    pixel of the frame stands for it.

    >>> inside_frame((60, -3, 10, 10), 64), inside_frame((0, 64, 64, 0), 64)
    ((60, 0, 4, 7), (0, 63, 64, 1))
    """
    x, y, w, h = (int(v) for v in box)
    x0, y0 = min(max(x, 0), side - 1), min(max(y, 0), side - 1)
    x1, y1 = max(min(x + w, side), x0 + 1), max(min(y + h, side), y0 + 1)
    return x0, y0, x1 - x0, y1 - y0


def pipeline_from_raw(raw: np.ndarray, boxes: np.ndarray, cfg: Goel2022Preprocess) -> np.ndarray:
    """§4.1's crop -> ellipse -> grey -> resize on raw arrays, reusing each image's face box.

    Used when a check edits photographs (harmonisation, injected artifacts): an edit that moves
    the face (padding) passes the moved boxes (checks/dose_response.inject), so re-running Haar
    detection would only cost time. Each box is first brought inside the frame (:func:`inside_frame`).
    """
    out = []
    for px, box in zip(raw, boxes):
        x, y, w, h = inside_frame(box, px.shape[0]) if cfg.crop_face else (0, 0, 0, 0)
        crop = px[y:y + h, x:x + w] if cfg.crop_face else px
        if cfg.ellipse_mask:
            crop = ellipse_mask(crop, cfg.mask_value)
        if cfg.greyscale:
            crop = to_grey(crop)
        out.append(resize_with_padding(crop, cfg.size, cfg.pad_value, cfg.pad_to_square))
    return np.stack(out) if out else np.zeros((0, cfg.size, cfg.size), np.uint8)


@dataclass(frozen=True)
class AuditImage:
    """What the battery needs of each image besides §4.1's output, computed while preprocessing decodes it
    (``replication.preprocess.PerImage``): the whole photograph as RGB ``raw_side`` x ``raw_side``
    (for the checks that edit photographs) and its image properties (with the face box)."""

    raw_side: int

    def __call__(self, decoded: Decoded, box: tuple[int, int, int, int] | None) -> dict[str, Any]:
        px = decoded.pixels if decoded.pixels.ndim == 3 else np.repeat(decoded.pixels[..., None], 3, axis=2)
        return {"raw": resize_with_padding(px, self.raw_side, 0, True),
                "properties": image_properties(decoded.pixels, decoded.encoded, box)}


def rebalance(kept: pd.DataFrame, y: np.ndarray, seed: int) -> np.ndarray:
    """Boolean mask keeping whole identities of the larger class until both classes are equal.

    Seed 000 balanced its classes after preprocessing (Table 1: 10,336 each, FFHQ added to the
    non-criminal side); face detection drops sources at different rates, so a design balanced
    before preprocessing is not balanced after it.
    """
    from artifactual.replication.designs.goel2022 import sample_identities

    counts = np.bincount(y, minlength=2)
    big = int(np.argmax(counts))
    frame = kept.assign(identity=kept["identity"].astype(str).where(kept["identity"].notna(),
                                                                    "row:" + kept.index.astype(str)))
    chosen = sample_identities(frame[y == big], int(counts.min()), np.random.default_rng(seed))
    return (y != big) | kept.index.isin(chosen.index)


def build_audit_data(ds: Dataset, label_col: str, pp_cfg: Goel2022Preprocess, cfg: AuditConfig,
                     positive: Any | None = None, balance: bool = False) -> AuditData:
    """Preprocess ``ds`` (with the ambient settings, :func:`~artifactual.replication.parallel.use_settings`) and
    gather what every check reads: arrays, raw photographs, face boxes, properties, binary labels."""
    # one decode per image: §4.1's output, the raw photograph and its properties in the same pass
    pp = preprocess_dataset(ds, pp_cfg, per_image=AuditImage(cfg.raw_side))
    table = pp.table
    kept = table[(table["array_row"] >= 0) & table[label_col].notna()].copy()
    if kept.empty:
        raise ValueError(f"no usable images with a {label_col!r} label after preprocessing "
                         f"(outcomes: {table['pp_status'].value_counts().to_dict()})")
    y, names = binary_labels(kept[label_col], positive)
    n_before = len(kept)
    if balance:
        keep = rebalance(kept, y, cfg.seed)
        kept, y = kept[keep], y[keep]
    rows = kept["array_row"].to_numpy()
    raw = np.asarray(pp.extra["raw"])[rows]
    props = pp.extra["properties"][list(PROPERTY_NAMES)].iloc[rows]
    boxes = np.array([inside_frame(box_in_raw(b, hw, cfg.raw_side), cfg.raw_side)
                      for b, hw in zip(kept["face_box"], kept["decoded_hw"])]).reshape(-1, 4)
    ident = kept["identity"].astype("object")
    groups = np.where(ident.isna(), "row:" + kept.index.astype(str), ident.astype(str))
    X = np.asarray(pp.arrays)[kept["array_row"].to_numpy()]
    report = {"status_counts": table["pp_status"].value_counts().to_dict(), "kept": int(len(kept)),
              "rebalanced_after_preprocessing": {"from": int(n_before), "to": int(len(kept))} if balance else None,
              "from_cache": pp.from_cache,
              # unequal face-detection rates by source are themselves a confound: reported, with intervals
              "detection_rates": detection_rates(table, "source") if pp_cfg.detect_face else []}
    return AuditData(X=X, raw=raw, boxes=boxes, y=y, source=kept["source"].astype(str).to_numpy(),
                     groups=np.asarray(groups, dtype=str), properties=props.reset_index(drop=True),
                     table=kept.reset_index(drop=True), preprocess=pp_cfg, label_values=names,
                     preprocessing_report=report)


