"""Study ``goel2022-fpt`` (``artifactual replicate goel2022-fpt``): seed 000's frozen transformer and its
"chaos encryption", with the controls the paper skipped (the analysis: ``analyses/goel2022_fpt.py``).

``--set per_dataset=N`` sets the images per study dataset (classes in proportion); every other
field of :class:`~artifactual.analyses.goel2022_fpt.FPTStudyConfig` is reachable the same way.

>>> STUDY.configure("embedded", {"per_dataset": "40"}).per_dataset, embedded().budget.max_epochs, real().per_dataset
(40, 2, 600)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.analyses.audit_data import AuditConfig, AuditData, build_audit_data
from artifactual.analyses.formatting import clean
from artifactual.analyses.goel2022_fpt import (DESIGN_HISTORY, FPTStudyConfig, subsample, design_fingerprint,
                                               run_study)
from artifactual.analyses.goel2022_fpt_report import fpt_markdown, readings
from artifactual.analyses.studies import goel2022
from artifactual.replication.config import to_dict
from artifactual.replication.data import load_dataset
from artifactual.replication.designs.goel2022 import SEED_CLAIMS
from artifactual.replication.preprocess import Goel2022Preprocess
from artifactual.replication.runs import RunDir, atomic_write_json, atomic_write_text
from artifactual.replication.study import RunContext, Study, register


def real() -> FPTStudyConfig:
    return FPTStudyConfig(per_dataset=600)


def embedded() -> FPTStudyConfig:
    # `make run`'s small version: the same 3 candidates per model, <= 2 epochs, GPT-2 on 40 images
    # and under encryption only the FPT and the audit's two probes (the real run re-trains all five)
    cfg = FPTStudyConfig(data="embedded", per_dataset=0)
    return replace(cfg, budget=replace(cfg.budget, max_epochs=2), gpt2_train_images=40, gpt2_epochs=1,
                   encrypted_epochs=1, encrypted_models=("fpt_minilm_pretrained", "pixel_logreg",
                                                         "image_property_probes"))


def load_datasets(cfg: FPTStudyConfig, ctx: RunContext, confounded_only: bool = False) -> dict[str, AuditData]:
    """The confounded seed-000 design and a real signal inside one source, subsampled to ``per_dataset``
    (``confounded_only``: the first alone, e.g. to check its fingerprint).

    Reads ``ctx.data_root``; decoding uses the ambient settings (:func:`use_settings`, which
    ``STUDY.execute`` sets from ``ctx``)."""
    emb = cfg.data == "embedded"
    run = goel2022.goel2022_run(goel2022.embedded() if emb else goel2022.real(), ctx)
    side = 32 if emb else 64
    audit = AuditConfig(raw_side=side, seed=cfg.seed)
    out = {"confounded_design": build_audit_data(run.dataset, "label", run.preprocess, audit, 1, balance=True)}
    if emb and not confounded_only:
        # the embedded default has no second labelled source: its face/non-face label stands in for
        # "a real signal inside one source"
        ds = load_dataset("lfw_subset")
        out["real_signal_one_source"] = build_audit_data(ds, "face", Goel2022Preprocess(detect_face=False, size=32),
                                                         audit, 1)
    elif not confounded_only:
        utk = load_dataset("utkface", data_root=ctx.data_root)
        out["utkface_gender"] = build_audit_data(utk, "gender", Goel2022Preprocess(detect_face=False, size=64),
                                                 audit, 1)
    return {k: subsample(v, cfg.per_dataset, cfg.seed) for k, v in out.items()}


def run(cfg: FPTStudyConfig, out: Path, ctx: RunContext) -> dict[str, Any]:
    """The study into ``out``: its record (resumable), summary.json, summary.md, encrypted_examples.npz."""
    out = Path(out)
    emb = cfg.data == "embedded"
    datasets = load_datasets(cfg, ctx)
    manifest = "+".join(f"{k}:{len(v.y)}" for k, v in datasets.items())
    rd = RunDir.create(out / "runs", "goel2022-fpt", {"study": to_dict(cfg), "embedded": emb}, manifest)
    records = {r["unit"]: r for r in rd.records()}
    if "study" in records:
        study = records["study"]["study"]
        examples = None
    else:
        study = run_study(datasets, cfg, log=ctx.log)
        examples = study.pop("_examples")
        rd.append({"unit": "study", "study": study})
    rd.mark_done()
    out.mkdir(parents=True, exist_ok=True)
    if examples is not None:  # figure data: four encrypted images per scheme, in the study's scheme order
        np.savez_compressed(out / "encrypted_examples.npz",
                            **{f"{d}__{s}": v for d, per in examples.items() for s, v in per.items()})
    summary = {
        "name": "goel2022-fpt",
        "data": ("embedded default (scikit-image LFW subset)" if emb else
                 "confounded design (ORL + UTKFace captured vs LFW + UTKFace) and UTKFace gender"),
        "never_about_real_people": "classes are photo sources or a public attribute label; artifactual predicts "
                                   "nothing about any real person",
        "subsampling": {k: {"n": int(len(v.y)), "of": int(v.preprocessing_report.get("kept", len(v.y)))}
                        for k, v in datasets.items()},
        "config": to_dict(cfg),
        "paper_claims": {k: v for k, v in SEED_CLAIMS.items() if k != "test_images"},
        "budget": {**to_dict(cfg.budget), "settings": {"FPT and CNN learning rates": list(cfg.lr_grid),
                                                       "logistic regression C": list(cfg.C_grid)},
                   "validation": "identity-grouped split of the training identities, the same for every model"},
        "models": study["models"],
        "comparisons": study["comparisons"],
        "encryption": study["encryption"],
        "learning_curves": study["learning_curves"],
        "readings": readings(study),
        "run_dir": str(rd.path),
        "provenance": {**{k: v for k, v in rd.provenance.as_dict().items() if k != "config"},
                       "designs": {k: design_fingerprint(v) for k, v in datasets.items()},
                       "design_history": DESIGN_HISTORY if not emb else None},
    }
    summary = clean(summary)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", fpt_markdown(summary))
    return summary


STUDY = register(Study(name="goel2022-fpt", title="Seed 000's frozen transformer and 'chaos encryption', controlled",
                       presets={"embedded": embedded, "real": real}, run=run))
