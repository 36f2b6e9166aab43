"""Seed 002's task under a change of source: UTKFace and LFW faces labelled with gender.

Seed 002 (Knabenhans) trains a gender classifier on UTKFace only. Here both sources carry the
same label, as their annotators gave it: UTKFace's ``gender`` (0 male, 1 female) and LFW's
gender from its name lists (``M`` -> 0, ``F`` -> 1; names in both lists or in neither stay NA and
are left out, counted in the notes). Gender is then present in both sources, so for the audit
this design is the real-signal control: a label the faces carry, whatever the source.

Identity: LFW names; UTKFace has none, so byte-identical files share one (as in the seed-000
design). ``per_source`` samples whole identities from each source for a CPU budget.

``balance_gender`` (default) takes as many women as men from each source. Left in their natural
mix the sources differ in gender (LFW is about three quarters men, UTKFace about half), a
Cramér's V near 0.3: a source association of its own, which would blur the control. Balanced,
the label is independent of the source, and what the audit finds is what a real label looks like.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from artifactual.replication.capture import MugshotCapture
from artifactual.replication.data import load_dataset
from artifactual.replication.data.dataset import Dataset
from artifactual.replication.designs.goel2022 import DesignPixelRule, sample_identities, utkface_identity

GENDER_NAMES = {0: "male", 1: "female"}  # UTKFace's coding; LFW's M/F are mapped onto it
LFW_GENDER = {"M": 0, "F": 1}


@dataclass(frozen=True)
class GenderSourcesDesign:
    per_source: int = 0  # 0 = every usable image with a gender label
    seed: int = 0
    balance_gender: bool = True  # equal numbers of each gender within each source


def balance_genders(rows: pd.DataFrame, per_source: int, rng: np.random.Generator) -> pd.DataFrame:
    """Whole identities of each gender, as many of one as of the other (``per_source // 2`` at most).

    Examples
    --------
    Three men (``m1`` with two images) and two women: two images of each gender are kept, and
    ``m1`` is kept with both of his images or not at all.

    >>> rows = pd.DataFrame({"identity": ["m1", "m1", "m2", "m3", "f1", "f2"], "gender": [0, 0, 0, 0, 1, 1]})
    >>> out = balance_genders(rows, 0, np.random.default_rng(0))
    >>> out["gender"].value_counts().sort_index().to_dict(), out["identity"].tolist()
    ({0: 2, 1: 2}, ['m2', 'm3', 'f1', 'f2'])
    >>> balance_genders(rows, 2, np.random.default_rng(0))["gender"].tolist()  # per_source caps each gender
    [0, 1]
    >>> balance_genders(rows[rows["gender"] == 0], 0, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    ValueError: cannot balance gender: the rows hold only [0]
    """
    counts = rows["gender"].value_counts()
    if len(counts) < 2:
        raise ValueError(f"cannot balance gender: the rows hold only {sorted(counts.index.tolist())}")
    k = int(counts.min()) if not per_source else min(int(counts.min()), per_source // 2)
    return pd.concat([sample_identities(rows[rows["gender"] == g], k, rng) for g in sorted(counts.index)])


def gender_rows(ds: Dataset) -> pd.DataFrame:
    """Usable rows of ``utkface`` or ``lfw`` with integer ``gender`` (0 male, 1 female) and identity."""
    t = ds.usable().table.copy()
    if ds.name == "lfw":
        gender = t["gender"].astype("object").map(LFW_GENDER)
        identity = t["identity"].astype(str)
    elif ds.name == "utkface":
        gender = pd.to_numeric(t["gender"], errors="coerce")
        identity = utkface_identity(t)
    else:
        raise ValueError(f"gender rows are defined for utkface and lfw, not {ds.name!r}")
    out = pd.DataFrame({"base": ds.name, "path": t["path"].astype(str), "array_index": pd.NA, "source": ds.name,
                        "identity": identity.astype("string").to_numpy(), "gender": gender.to_numpy(),
                        "captured": False})
    for col in ("format", "mode", "width", "height", "bytes", "n_frames", "sha256", "status", "reason", "conversions"):
        out[col] = t[col].to_numpy()
    for col in ("age", "race"):
        out[col] = t[col].astype("object").to_numpy() if col in t.columns else pd.NA
    out = out[out["gender"].notna()].reset_index(drop=True)
    out["gender"] = out["gender"].astype(int)
    return out


def build_gender_sources(cfg: GenderSourcesDesign, data_root: str | Path | None = None) -> Dataset:
    """UTKFace + LFW with ``gender`` as the label and ``source`` naming the dataset (decoded with the ambient
    settings, :func:`~artifactual.replication.parallel.use_settings`)."""
    rng = np.random.default_rng(cfg.seed)
    parts, rules, notes = [], {}, {}
    for name in ("utkface", "lfw"):
        ds = load_dataset(name, data_root=data_root)
        rows = gender_rows(ds)
        notes[f"{name}_without_gender"] = int((ds.table["status"] == "ok").sum() - len(rows))
        if cfg.balance_gender:
            rows = balance_genders(rows, cfg.per_source, rng)
        elif cfg.per_source and len(rows) > cfg.per_source:
            rows = sample_identities(rows, cfg.per_source, rng)
        parts.append(rows)
        rules[name] = ds.pixel_rule()
    table = pd.concat(parts, ignore_index=True)
    notes.update({f"n_{s}": int(n) for s, n in table["source"].value_counts().sort_index().items()})
    rule = DesignPixelRule(root=None, rules=rules, capture=MugshotCapture())  # captured is False on every row
    return Dataset("gender_sources", table, None, ["gender"], ["age", "race"], notes=notes, card=__doc__ or "",
                   rule=rule)
