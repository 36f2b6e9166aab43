"""Study ``adams2020`` (seed 003): faces generated from CelebA attributes, and what they can and cannot do.

Units recorded in the run folder (``runs/adams2020-<hash>/records.jsonl``): ``train:<approach>`` (the trained
weights are saved beside the records, ``<approach>.pt``, and read back with ``torch.load(weights_only=True)``
only from this run's own folder), ``classifier`` (the attribute classifier's accuracy on real test images) and
``evaluate:<approach>`` (fidelity, identification, collapse, prior leakage). A rerun trains nothing already
trained. The analysis is :mod:`artifactual.analyses.adams2020`, the tables and readings
:mod:`artifactual.analyses.adams2020_report`.

``artifactual replicate adams2020 --data-root DIR`` runs it (real data only: DIR holds ``celeba/``). The
seed calls its descriptions "criminals"; here they are "description 1-3", and a generated face is a picture of
nobody: the point is to measure what such a "sketch" carries.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.analyses.adams2020 import (DESCRIPTIONS, Adams2020Config, description_vector,
                                            fit_attribute_classifier, fidelity, identification_ranks, leakage,
                                            mean_with_ci,
                                            random_split, rank_summary, rms, spread, square_crop)
from artifactual.analyses.adams2020_report import assemble, write_summary
from artifactual.analyses.formatting import clean
from artifactual.analyses.stats import stream
from artifactual.replication.config import to_dict
from artifactual.replication.data import DATA_ENV, load_dataset
from artifactual.replication.data.celeba import ATTRIBUTES
from artifactual.replication.data.dataset import Dataset, DatasetError
from artifactual.replication.runs import RunDir
from artifactual.replication.study import RunContext, Study, register

NEEDS = ("adams2020 needs the real data: --data-root DIR (or $ARTIFACTUAL_DATA) holding celeba/ (CelebA images "
         "with list_attr_celeba.txt and list_eval_partition.txt; README 'Real data'). It has no embedded version: "
         "scikit-image's bundled faces carry no attributes.")


def arrays(ds: Dataset, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, side, side, 3) uint8 centred squares and (n, 40) 0/1 attributes of the usable rows."""
    rule = ds.pixel_rule()
    X = np.empty((len(ds), side, side, 3), np.uint8)
    for i, row in enumerate(ds.table[["path"]].to_dict("records")):
        px = rule.load(row).pixels
        X[i] = square_crop(np.repeat(px[..., None], 3, axis=2) if px.ndim == 2 else px[..., :3], side)
    return X, ds.table[list(ATTRIBUTES)].to_numpy(np.int64)


def run(cfg: Adams2020Config, out: Path, ctx: RunContext) -> dict[str, Any]:
    """The seed-003 replication into ``out`` (real data only).

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> tmp = tempfile.mkdtemp()
    >>> with mock.patch.dict(os.environ):  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     _ = os.environ.pop(DATA_ENV, None)
    ...     run(Adams2020Config(), Path(tmp), RunContext())
    Traceback (most recent call last):
    ...
    artifactual.replication.data.dataset.DatasetError: adams2020 needs the real data: --data-root DIR ...
    >>> os.listdir(tmp)
    []
    """
    if not (ctx.data_root or os.environ.get(DATA_ENV)):
        raise DatasetError(NEEDS)
    out, log = Path(out), ctx.log
    full = load_dataset("celeba", data_root=ctx.data_root)
    ds = full.usable()
    if len(ds) < 50:
        raise DatasetError(f"adams2020 needs at least 50 usable CelebA images; {len(ds)} of {len(full)} are usable")
    log(f"reading {len(ds):,} CelebA images at {cfg.side}x{cfg.side} ...")
    X, A = arrays(ds, cfg.side)
    split = random_split(len(X), cfg.split, cfg.seed)
    tr, te = split["train"], split["test"]
    rd = RunDir.create(out / "runs", "adams2020", to_dict(cfg), ds.manifest_hash)
    done = {r["unit"]: r for r in rd.records()}
    models = {}
    for approach in cfg.approaches:
        models[approach] = _train_or_load(approach, cfg, X, A, split, rd, done, log)
    if "classifier" not in done or any(f"evaluate:{a}" not in done for a in cfg.approaches):
        log("attribute classifier: EfficientNet-Lite0 features of the real images, one probe per attribute ...")
        feats_real = _features(X)
        clf = fit_attribute_classifier(feats_real[tr], A[tr], list(ATTRIBUTES), cfg.probe_side, cfg.probe_C, cfg.seed)
        real_scores = clf.scores(feats_real[te])
        if "classifier" not in done:
            rec = {"unit": "classifier", "attributes": sorted(clf.models),
                   "real_test": fidelity(A[te], real_scores, real_scores, list(ATTRIBUTES), cfg.n_boot, cfg.seed)}
            rd.append(rec)
            done["classifier"] = rec
        pool_templates = None
        for approach in cfg.approaches:
            if f"evaluate:{approach}" in done:
                continue
            if pool_templates is None:
                pool_templates = _dlib(X[te], log)
            rec = {"unit": f"evaluate:{approach}", **clean(_evaluate(models[approach], clf, real_scores, X, A, split,
                                                                     pool_templates, cfg, log))}
            rd.append(rec)
            done[rec["unit"]] = rec
    rd.require("unit", [f"train:{a}" for a in cfg.approaches] + ["classifier"]
               + [f"evaluate:{a}" for a in cfg.approaches])
    rd.mark_done()
    summary = assemble(cfg, full, ds, A, split, done, rd)
    write_summary(summary, out, _figure_data(models, X, A, split, cfg))
    return summary


def _features(X: np.ndarray) -> np.ndarray:
    from artifactual.replication.models.crimevision import frame_features

    return frame_features(X, 64, threads=1)


def _dlib(images: np.ndarray, log) -> Any:
    from artifactual.replication.faceid.dlib_embed import DlibConfig, dlib_templates
    from artifactual.replication.faceid.lbp import FaceFinder

    log(f"dlib templates of {len(images):,} faces (whole image: CelebA is aligned) ...")
    return dlib_templates(list(images), DlibConfig(face=FaceFinder(whole_image=True)))


def _train_or_load(approach: str, cfg: Adams2020Config, X, A, split, rd: RunDir, done: dict, log):
    from artifactual.replication.models.sketch_vae import fit_sketch_vae, load, save, test_mse

    weights = rd.path / f"{approach}.pt"
    unit = f"train:{approach}"
    if unit in done and weights.is_file():
        return load(weights)  # this run's own folder only; tensors only (weights_only=True)
    vcfg = replace(getattr(cfg, approach), seed=cfg.seed)
    log(f"{approach}: training {vcfg.epochs} epochs on {len(split['train']):,} images ...")
    t0 = time.perf_counter()
    model, info = fit_sketch_vae(X[split["train"]], A[split["train"]], vcfg,
                                 val=(X[split["validation"]], A[split["validation"]]), log=log)
    save(model, weights)
    mse = test_mse(model, X[split["test"]], A[split["test"]])
    per = mse.pop("per_image")
    rng = stream(cfg.seed, "mse", list(("cross_modal", "mvae")).index(approach))
    ci = mean_with_ci(per, cfg.n_boot, rng)
    mse["interval"] = [ci["ci_low"], ci["ci_high"]]
    rec = {"unit": unit, "info": clean(info), "test_mse": clean(mse), "seconds": round(time.perf_counter() - t0, 1)}
    rd.append(rec)
    done[unit] = rec
    return model


def _evaluate(model, clf, real_scores, X, A, split, pool, cfg: Adams2020Config, log) -> dict[str, Any]:
    """Fidelity, identification, collapse and leakage of one trained generator."""
    te, tr = split["test"], split["train"]
    attrs = list(ATTRIBUTES)
    log(f"{model.cfg.approach}: generating and reading {len(te):,} faces ...")
    sketches = model.generate(A[te], use_mean=True)
    sketch_scores = clf.scores(clf.features(sketches))
    fid = fidelity(A[te], real_scores, sketch_scores, attrs, cfg.n_boot, cfg.seed)
    # identification: sketches of `probes` test images, each searched among `candidates` test images
    probes = np.sort(stream(cfg.seed, "probes").choice(len(te), min(cfg.probes, len(te)), replace=False))
    sk = _dlib(sketches[probes], log)
    ok = sk.found & pool.found[probes]  # a face dlib cannot template is neither searched nor a candidate
    found = np.flatnonzero(pool.found)
    at = {j: k for k, j in enumerate(found)}
    n_cand = min(cfg.candidates, len(found))
    ranks = identification_ranks(sk.vectors[ok], pool.vectors[found], np.array([at[j] for j in probes[ok]], int),
                                 n_cand, cfg.seed)
    # the same search keyed on the description itself: candidates ranked by attributes shared with it
    n_cand_attr = min(cfg.candidates, len(te))
    attr_ranks = identification_ranks(A[te][probes].astype(float), A[te].astype(float), probes, n_cand_attr,
                                      cfg.seed)
    mean_face = X[tr].mean(0)
    rng = stream(cfg.seed, "collapse")
    samples = {d: model.generate(description_vector(d, attrs)[None], n_samples=cfg.samples_per_description,
                                 seed=cfg.seed) for d in DESCRIPTIONS}
    collapse = {"to_mean_face": {"generated": mean_with_ci(rms(sketches, mean_face), cfg.n_boot, rng),
                                 "real": mean_with_ci(rms(X[te], mean_face), cfg.n_boot, rng)},
                "between_faces": {"generated": mean_with_ci(spread(sketches, 2000, rng), cfg.n_boot, rng),
                                  "real": mean_with_ci(spread(X[te], 2000, rng), cfg.n_boot, rng)},
                "within_description": {d: mean_with_ci(spread(s, 500, rng), cfg.n_boot, rng)
                                       for d, s in samples.items()}}
    leak = {d: leakage(d, clf.scores(clf.features(s)), A[tr], attrs, cfg.n_boot, cfg.seed) for d, s in samples.items()}
    return {"fidelity": fid, "identification": {
                "sketch": {**rank_summary(ranks, n_cand, cfg.n_boot, cfg.seed),
                           "probes": int(len(probes)), "searched": int(ok.sum()),
                           "no_template": int((~ok).sum())},
                "attributes_only": rank_summary(attr_ranks, n_cand_attr, cfg.n_boot, cfg.seed)},
            "collapse": collapse, "leakage": leak}


def _figure_data(models, X, A, split, cfg: Adams2020Config) -> dict[str, np.ndarray]:
    """Real test images beside the faces each approach generates from their attributes, and samples per
    description (figure data; results only, never the repository)."""
    te = split["test"][:cfg.grid]
    data = {"real": X[te], "mean_face": X[split["train"]].mean(0).round().astype(np.uint8),
            "descriptions": np.array(list(DESCRIPTIONS), dtype=str)}
    for approach, model in models.items():
        data[f"generated_{approach}"] = model.generate(A[te], use_mean=True)
        data[f"descriptions_{approach}"] = np.stack([
            model.generate(description_vector(d, list(ATTRIBUTES))[None], n_samples=8, seed=cfg.seed)
            for d in DESCRIPTIONS])
    return data


STUDY = register(Study(
    name="adams2020", title="seed 003: faces generated from CelebA attributes, and what such a sketch carries",
    # every seed of the real preset derives from the study's name (Study.seed)
    presets={"real": lambda: Adams2020Config(seed=STUDY.seed("adams2020"))}, run=run, needs=NEEDS))
