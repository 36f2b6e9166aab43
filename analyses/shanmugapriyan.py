"""Seed 001's watch-list identification on public faces, measured the field's way (NIST FRTE 1:N).

The watch-list is a **constructed watch-list of public faces** (LFW people; nobody is a criminal), built by
:mod:`artifactual.replication.designs.shanmugapriyan`. For each pipeline (seed 001's LBP + chi-square, with
and without its binarisation, and a real face-recognition CNN, dlib's 128-d ResNet), every photograph gets a
template once (cached); the enrolment templates go into an SQLite gallery (:mod:`~artifactual.replication.faceid.gallery`)
and the searches are scored against what the gallery returns. Then, with person-bootstrap intervals
(:mod:`artifactual.analyses.identification`):

- closed-set rank-1 and CMC and open-set FNIR at FPIR 0.1 / 0.01 / 0.001 for every gallery size;
- alerts at base rates 1e-2 .. 1e-5 at the FPIR-0.01 threshold of the largest gallery;
- FNIR at that fixed threshold with degraded mated probes (:mod:`~artifactual.replication.faceid.degrade`) and
  with probes captured differently from the gallery (the mugshot-style capture);
- FPIR and FNIR by gender at one common threshold (NISTIR 8280), Holm across the family.

A template that cannot be made (no face found by the Haar stand-in for YOLOv8) is never replaced: an
enrolment without one can match nothing, a mated search without one is a miss, a non-mated one raises no
alert (``FAILED_SCORE``); the counts are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from artifactual.analyses.identification import (IdentificationConfig, alerts_at_base_rates,
                                                 demographic_differentials, evaluate_identification,
                                                 fnir_at_fpir, operating_point, searches)
from artifactual.replication.cache import cached
from artifactual.replication.capture import MugshotCapture, apply_capture
from artifactual.replication.config import stable_hash, to_dict
from artifactual.replication.data.images import decode_file
from artifactual.replication.designs.shanmugapriyan import WatchlistDesign
from artifactual.replication.faceid.degrade import STANDARD, degrade
from artifactual.replication.faceid.dlib_embed import DlibConfig, cosine_similarity, dlib_templates
from artifactual.replication.faceid.gallery import Gallery
from artifactual.replication.faceid.lbp import LbpConfig, Templates, chi2_similarity, lbp_templates

FAILED_SCORE = -1e9  # the score of a pair where either side has no template (below every threshold)
SEED_CLAIM = {"rank1_at_50": 0.86, "gallery_size": 50,
              "source": "seed 001 cites a related work: '86% accuracy with a database of 50 records' (its only number)"}


@dataclass(frozen=True)
class Pipeline:
    name: str
    kind: str  # the gallery's template kind
    config: Any
    embed: Callable[..., Templates]
    similarity: Callable[[np.ndarray, np.ndarray], np.ndarray]
    describes: str


def pipelines() -> dict[str, Pipeline]:
    return {
        "dlib": Pipeline("dlib", "dlib128", DlibConfig(), dlib_templates, cosine_similarity,
                         "Haar face box -> dlib's 5-point alignment -> 128-d ResNet; cosine similarity"),
        "lbp": Pipeline("lbp", "lbp", LbpConfig(), lbp_templates, chi2_similarity,
                        "seed 001: greyscale, median filter, Haar face box, 7x7 uniform LBP; chi-square"),
        "lbp_binarised": Pipeline("lbp_binarised", "lbp", LbpConfig(binarise=True), lbp_templates, chi2_similarity,
                                  "seed 001 with its binarisation (Otsu on the face crop) before LBP"),
    }


@dataclass(frozen=True)
class ShanmugapriyanConfig:
    design: WatchlistDesign = field(default_factory=WatchlistDesign)
    pipelines: tuple[str, ...] = ("dlib", "lbp", "lbp_binarised")
    operating_fpir: float = 0.01  # the deployed threshold: FPIR 0.01 on the largest gallery's non-mated searches
    field_gallery: int = 1000  # degradations, capture mismatch and differentials use this gallery
    degrade: bool = True
    capture_mismatch: bool = True
    n_boot: int = 1000
    n_perm: int = 1000

    def __post_init__(self) -> None:
        unknown = sorted(set(self.pipelines) - set(pipelines()))
        if unknown or not self.pipelines:
            raise ValueError(f"unknown pipelines {unknown}; choose from {', '.join(pipelines())}")
        if not 0 < self.operating_fpir < 1:
            raise ValueError(f"operating_fpir must be in (0, 1), got {self.operating_fpir}")


def templates_of(pipe: Pipeline, root: Path, paths: list[str], what: str,
                 transform: Callable[[np.ndarray, tuple], np.ndarray] | None = None,
                 boxes: list | None = None) -> Templates:
    """Templates of ``paths`` (under ``root``), cached by pipeline, files and transform ``what``."""
    key = stable_hash({"pipe": pipe.name, "config": to_dict(pipe.config), "root": str(root), "paths": paths,
                       "what": what})

    def build() -> dict[str, Any]:
        if transform is None:
            items: list = [str(Path(root) / p) for p in paths]
        else:
            items = [transform(decode_file(Path(root) / p).pixels, b) for p, b in zip(paths, boxes)]
        t = pipe.embed(items, pipe.config)
        return {"vectors": t.vectors, "found": t.found,
                "meta": {"reasons": t.reasons, "boxes": [list(b) if b is not None else None for b in t.boxes]}}

    parts = cached("faceid-templates", key, build)[0]
    return Templates(np.asarray(parts["vectors"]), np.asarray(parts["found"]), parts["meta"]["reasons"],
                     [tuple(b) if b is not None else None for b in parts["meta"]["boxes"]])


def full(t: Templates, dim: int) -> np.ndarray:
    """One row per image; NaN rows where no template was made."""
    out = np.full((len(t.found), dim), np.nan, np.float32)
    out[t.found] = t.vectors
    return out


def scores(pipe: Pipeline, probes: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Similarity of every probe to every gallery identity; FAILED_SCORE where either template is missing.

    >>> g = np.array([[1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]], np.float32)
    >>> scores(pipelines()["dlib"], np.array([[1.0, 0.0], [np.nan, np.nan]], np.float32), g).round(3).tolist()
    [[1.0, 0.0, -1000000000.0], [-1000000000.0, -1000000000.0, -1000000000.0]]
    """
    S = np.full((len(probes), len(gallery)), FAILED_SCORE)
    ok_p, ok_g = ~np.isnan(probes).any(1), ~np.isnan(gallery).any(1)
    if ok_p.any() and ok_g.any():
        S[np.ix_(ok_p, ok_g)] = pipe.similarity(probes[ok_p], gallery[ok_g])
    return S


def enrol_gallery(path: Path, pipe: Pipeline, names: list[str], vectors: np.ndarray, dataset: str) -> np.ndarray:
    """Enrol the found templates into an SQLite gallery at ``path`` (rebuilt if present) and return the
    gallery's templates in ``names`` order (NaN for a person whose enrolment photograph gave none)."""
    path.unlink(missing_ok=True)
    ok = ~np.isnan(vectors).any(1)
    with Gallery.create(path, pipe.kind, vectors.shape[1]) as g:
        g.enrol_many((n, v[None], {"enrolled_from": dataset, "n_images": 1})
                     for n, v, good in zip(names, vectors, ok) if good)
        matrix, ident, gnames = g.templates()
    index = {n: i for i, n in enumerate(gnames)}
    out = np.full_like(vectors, np.nan)
    for row, n in enumerate(names):
        if n in index:
            out[row] = matrix[ident == index[n]][0]
    return out


def evaluate_pipeline(pipe: Pipeline, roles: pd.DataFrame, root: Path, cfg: ShanmugapriyanConfig,
                      sizes: list[int], folder: Path) -> dict[str, Any]:
    """Every number of one pipeline (see the module docstring)."""
    icfg = IdentificationConfig(n_boot=cfg.n_boot, n_perm=cfg.n_perm, seed=cfg.design.seed)
    enrol = roles[roles["role"] == "enrol"].sort_values("order")
    probes = roles[roles["role"] != "enrol"]
    t_enrol = templates_of(pipe, root, enrol["path"].tolist(), "clean")
    t_probe = templates_of(pipe, root, probes["path"].tolist(), "clean")
    dim = t_enrol.vectors.shape[1] if len(t_enrol.vectors) else t_probe.vectors.shape[1]
    G = enrol_gallery(folder / f"gallery-{pipe.name}.sqlite", pipe, enrol["identity"].tolist(),
                      full(t_enrol, dim), "lfw")
    P = full(t_probe, dim)
    S_all = scores(pipe, P, G)
    order = enrol["order"].to_numpy()
    mate_order = probes["order"].to_numpy()
    mated = (probes["role"] == "mated").to_numpy()
    person = probes["identity"].to_numpy()

    def at(size: int) -> tuple[np.ndarray, ...]:
        """The searches against the gallery of ``size``: its members' mated ones and every non-mated one."""
        keep = (mated & (mate_order < size)) | ~mated
        mate = np.where(mated[keep], mate_order[keep], -1)  # enrolment rows are sorted by order: index = order
        return S_all[np.ix_(keep, order < size)], mate.astype(int), person[keep], keep

    galleries = []
    for size in sizes:
        S, mate, who, _ = at(size)
        r = evaluate_identification(S, mate, who, icfg)
        r["det"] = {k: v[::max(1, len(v) // 400)] if isinstance(v, list) else v for k, v in r["det"].items()}
        galleries.append({"size": size, **r})
    out: dict[str, Any] = {
        "describes": pipe.describes, "config": to_dict(pipe.config),
        "templates": {"enrolment_without_face": int((~t_enrol.found).sum()), "enrolments": int(len(t_enrol.found)),
                      "searches_without_face": int((~t_probe.found).sum()), "searches": int(len(t_probe.found))},
        "galleries": galleries}
    # the deployed threshold: FPIR `operating_fpir` on the largest gallery's non-mated searches
    S, mate, who, _ = at(sizes[-1])
    s_big = searches(S, mate, who)
    point = fnir_at_fpir(s_big, (cfg.operating_fpir,), n_boot=cfg.n_boot, seed=cfg.design.seed)[0]
    threshold = point.get("threshold")
    if threshold is None:
        out["alerts"] = {"status": "not estimable", "reason": point.get("reason", "")}
        return out
    op = operating_point(s_big, threshold, n_boot=cfg.n_boot, seed=cfg.design.seed, return_draws=True)
    draws = op.pop("draws")
    out["operating_point"] = {"gallery": sizes[-1], "fpir_target": cfg.operating_fpir, **op}
    out["alerts"] = alerts_at_base_rates(op["fnir"]["estimate"], op["fpir"]["estimate"], draws["fnir"],
                                         draws["fpir"], n_nonmated=op["fpir"].get("n_searches"))
    field_size = max([g for g in sizes if g <= cfg.field_gallery] or sizes[:1])
    S, mate, who, keep = at(field_size)
    s_field = searches(S, mate, who)
    t_field = fnir_at_fpir(s_field, (cfg.operating_fpir,), n_boot=cfg.n_boot, seed=cfg.design.seed)[0]
    out["field"] = {"gallery": field_size, "threshold": t_field.get("threshold"),
                    "clean": operating_point(s_field, t_field["threshold"], cfg.n_boot, cfg.design.seed)
                    if t_field.get("threshold") is not None else None}
    if t_field.get("threshold") is None:
        return out
    th = t_field["threshold"]
    # probes degraded or captured differently: one mated search per enrolled person of the field gallery
    first = probes[mated & (mate_order < field_size)].groupby("identity").head(1)
    rows = probes.index.get_indexer(first.index)
    boxes = [t_probe.boxes[i] or _central_box(root, p) for i, p in zip(rows, first["path"])]
    nonmated_rows = np.flatnonzero(~mated)

    def fnir_with(what: str, fn: Callable[[np.ndarray, tuple], np.ndarray]) -> dict[str, Any]:
        t = templates_of(pipe, root, first["path"].tolist(), what, fn, boxes)
        Pd = np.vstack([full(t, dim), P[nonmated_rows]])
        cols = order < field_size
        Sd = scores(pipe, Pd, G[cols])
        mate = np.r_[mate_order[rows], -np.ones(len(nonmated_rows), int)].astype(int)
        who = np.r_[person[rows], person[nonmated_rows]]
        res = operating_point(searches(Sd, mate, who), th, cfg.n_boot, cfg.design.seed)
        return {"probe": what, "fnir": res["fnir"], "searches_without_face": int((~t.found).sum()),
                "n_probes": int(len(first))}

    out["field"]["clean_one_probe"] = fnir_with("clean", lambda px, b: px)
    if cfg.degrade:
        out["degradations"] = [{"degradation": d.label, **fnir_with(f"degrade:{d}", partial(degrade, d=d))}
                               for d in STANDARD]
    if cfg.capture_mismatch:
        cap = MugshotCapture()
        out["capture_mismatch"] = fnir_with(f"capture:{to_dict(cap)}", lambda px, b: apply_capture(px, cap)[0])
    if "gender" in roles.columns:
        S, mate, who, keep = at(field_size)
        gender = probes["gender"].to_numpy()[keep]
        ok = pd.notna(gender)
        out["differentials"] = demographic_differentials(S[ok], mate[ok], who[ok], {"gender": gender[ok].astype(str)},
                                                         threshold=th, config=icfg)
    return out


def _central_box(root: Path, path: str) -> tuple[int, int, int, int]:
    """Where no face was found, the central 40% box (LFW's faces are centred by construction)."""
    h, w = decode_file(Path(root) / path).pixels.shape[:2]
    return (int(w * 0.3), int(h * 0.3), int(w * 0.4), int(h * 0.4))

