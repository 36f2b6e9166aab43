"""Study ``knabenhans2024`` (``artifactual replicate knabenhans2024``): seed 002's gender classifier.

Units recorded in the run folder (``runs/knabenhans2024-<hash>/records.jsonl``): ``logreg``,
``logreg_curve`` (the same model on 25/50/100% of the training images: is a shortfall a matter
of data?), ``cnn_1``..``cnn_3``. A rerun skips finished units; the tables, the source shift and
the summary are recomputed from the stored scores in seconds. The analysis is
``analyses/knabenhans2024.py``, the readings and summary.md ``analyses/knabenhans2024_report.py``.

Every field of :class:`~artifactual.analyses.knabenhans2024.Knabenhans2024Config` is reachable with
``--set``: ``--set variants=[]`` trains logistic regression only (no CNN anywhere, the audit's
headline included; fairness is then read on logistic regression and the summary says so).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.analyses.audit import AuditRun, HeadlineConfig, run_audit
from artifactual.analyses.formatting import clean
from artifactual.analyses.knabenhans2024 import (SEED, Knabenhans2024Config, fairness_tables, fit_cnn, fit_logreg,
                                                 lfw_shift, load_arrays, metrics_with_ci, model_comparisons,
                                                 model_unit, seed_comparison, seed_preprocess, split_indices)
from artifactual.analyses.knabenhans2024_report import readings, write_summary
from artifactual.replication.config import stable_hash, to_dict
from artifactual.replication.data import DATA_ENV
from artifactual.replication.data.dataset import DatasetError
from artifactual.replication.designs.knabenhans2024 import GenderSourcesDesign, build_gender_sources
from artifactual.replication.runs import RunDir
from artifactual.replication.study import RunContext, Study, register

NEEDS = ("knabenhans2024 needs the real data: --data-root DIR (or $ARTIFACTUAL_DATA) holding utkface/ (UTKFace "
         "face crops with age_gender_race in the file names) and lfw/ (LFW with metadata/male_names.txt and "
         "female_names.txt for the source shift). It has no embedded version: scikit-image's LFW subset carries "
         "no gender or age labels.")


def run(cfg: Knabenhans2024Config, out: Path, ctx: RunContext) -> dict[str, Any]:
    """The whole seed-002 replication into ``out``; it needs the real data (it has no embedded version).

    Examples
    --------
    With neither ``data_root`` nor ``$ARTIFACTUAL_DATA`` it stops at once and says what it needs:

    >>> import os, tempfile
    >>> from unittest import mock
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with mock.patch.dict(os.environ):  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     _ = os.environ.pop(DATA_ENV, None)
    ...     run(Knabenhans2024Config(), Path(tmp.name), RunContext())
    Traceback (most recent call last):
    ...
    artifactual.replication.data.dataset.DatasetError: knabenhans2024 needs the real data: --data-root DIR (or
    $ARTIFACTUAL_DATA) holding utkface/ ... It has no embedded version: ...
    >>> os.listdir(tmp.name)  # nothing was written
    []
    >>> tmp.cleanup()
    """
    if not (ctx.data_root or os.environ.get(DATA_ENV)):
        raise DatasetError(NEEDS)
    out, data_root, log = Path(out), ctx.data_root, ctx.log
    utk, lfw = load_arrays(data_root, cfg, log)
    split = split_indices(utk.y, cfg)
    manifest = stable_hash({"utk": utk.report, "lfw": {k: v.report for k, v in lfw.items()},
                            "n": [len(utk.y)] + [len(v.y) for v in lfw.values()]})
    rd = RunDir.create(out / "runs", "knabenhans2024", to_dict(cfg), manifest)
    done = {r["unit"]: r for r in rd.records()}
    fcfg = cfg.fairness
    todo = [("logreg", lambda: fit_logreg(utk, split))] + [
        (f"cnn_{v}", (lambda v=v: fit_cnn(utk, split, v, cfg))) for v in cfg.variants]
    for name, fit in todo:
        if name in done:
            continue
        t0 = time.perf_counter()
        log(f"training {name} on {len(split['train']):,} images ...")
        model, info = fit()
        info["seconds"] = round(time.perf_counter() - t0, 1)
        rec = model_unit(name, model, info, utk, split, lfw, fcfg)
        rd.append(rec)
        done[name] = rec
        log(f"  {name}: test ROC AUC {rec['metrics']['test']['roc_auc']['estimate']:.3f}, "
            f"accuracy {rec['metrics']['test']['accuracy']['estimate']:.3f} ({info['seconds']:.0f} s)")
    if "logreg_curve" not in done:
        rec = {"unit": "logreg_curve", "rows": _logreg_curve(utk, split, fcfg)}
        rd.append(rec)
        done["logreg_curve"] = rec
    rd.mark_done()

    test_y = utk.y[split["test"]]
    scores = {k: np.asarray(done[k]["scores"]["test"]) for k, _ in todo}
    fm, fm_note = cfg.fairness_model, None
    if fm not in scores:  # e.g. --set variants=[]: the seed's model 2 was not trained
        fm, fm_note = "logreg", (f"Fairness read on logreg: the configured fairness model {cfg.fairness_model} was "
                                 f"not trained (variants {list(cfg.variants)}).")  # said in the readings
    fair = fairness_tables(utk, split["test"], scores[fm], cfg)
    shift = {m: lfw_shift(test_y, scores[m], lfw, {v: np.asarray(s) for v, s in done[m]["lfw_scores"].items()}, fcfg)
             for m in dict.fromkeys(("logreg", fm))}
    audit = _gender_sources_audit(out / "audit", data_root, cfg, log)
    summary = clean(assemble(cfg, utk, lfw, split, done, todo, fair, shift, audit, rd, fm, fm_note))
    write_summary(summary, out)
    return summary


def _logreg_curve(utk, split, fcfg) -> list[dict[str, Any]]:
    """Logistic regression on nested fractions of the training images: test metrics against n."""
    rng = np.random.default_rng(fcfg.seed)
    order = rng.permutation(split["train"])
    rows = []
    for frac in (0.25, 0.5, 1.0):
        sub = {**split, "train": np.sort(order[: int(round(frac * len(order)))])}
        model, info = fit_logreg(utk, sub)
        s = model.predict_score(utk.X[split["test"]])
        m = metrics_with_ci(utk.y[split["test"]], s, fcfg)
        rows.append({"fraction": frac, "train_images": int(len(sub["train"])), "converged": info["converged"],
                     **{k: m[k] for k in ("accuracy", "roc_auc")}})
    return rows


def _gender_sources_audit(out: Path, data_root, cfg: Knabenhans2024Config, log) -> dict[str, Any]:
    """The audit on gender with source = {UTKFace, LFW}: the real-signal control."""
    design = GenderSourcesDesign(per_source=cfg.audit_per_source, seed=cfg.seed)
    ds = build_gender_sources(design, data_root)
    run = AuditRun(name="knabenhans2024-gender-sources", dataset=ds, label_col="gender",
                   preprocess=seed_preprocess(cfg.side), positive=1, class_names={1: "female", 0: "male"},
                   data_description="gender in UTKFace and LFW (both sources carry the label): the real-signal "
                                    "control", extra={"design": {"config": to_dict(design)}},
                   # no CNN variant trained (--set variants=[]): none in the audit's headline either
                   headline=HeadlineConfig() if cfg.variants else HeadlineConfig(models=("pixel_logreg",)))
    log(f"audit: gender with source = UTKFace, LFW ({len(ds.table):,} images) ...")
    s = run_audit(run, out)
    log(f"  audit verdict: {s['verdict']}")
    return s


def assemble(cfg, utk, lfw, split, done, todo, fair, shift, audit, rd, fairness_model, fairness_note) -> dict[str, Any]:
    models = []
    for name, _ in todo:
        info = done[name]["info"]
        variant = int(name.split("_")[1]) if name.startswith("cnn_") else None
        row = {"name": name, "trainable_params": info["trainable_params"],
               **{part: done[name]["metrics"][part] for part in ("train", "validation", "test")},
               "seconds": info.get("seconds")}
        if variant:
            row.update(seed_trainable_params=SEED["table2"][variant]["trainable"],
                       keras_total_params=info["keras_total_params"],
                       seed_total_params=SEED["table2"][variant]["total"], best_epoch=info["best_epoch"],
                       first_run=info["first_run"], refit=info["refit"])
        else:
            row.update(converged=info["converged"], n_iter=info["n_iter"])
        models.append(row)
    by = {m["name"]: done[m["name"]] for m in models}
    test_y = utk.y[split["test"]]
    comparisons = model_comparisons(test_y, {k: np.asarray(done[k]["scores"]["test"]) for k, _ in todo}, cfg.fairness)
    seed_rows = seed_comparison(by)
    table = fair["table"]
    summary = {
        "name": "knabenhans2024",
        "task": "gender as UTKFace's annotators gave it (0 male, 1 female); a replication of a published "
                "classifier, not a tool to label anyone",
        "never_about_real_people": "artifactual predicts nothing about any real person; these numbers describe "
                                   "a classifier's errors on public research datasets",
        "config": to_dict(cfg),
        "seed_paper": SEED,  # cleaned with the rest below; JSON spells its integer keys as strings
        "data": {"utkface": utk.report, **{k: v.report for k, v in lfw.items()},
                 "ours_of_seed": round(len(utk.y) / SEED["split"]["total"], 3)},
        "split": {k: int(len(v)) for k, v in split.items()} | {"seed": SEED["split"]},
        "table1": by["logreg"]["metrics"],
        "logreg_learning_curve": done["logreg_curve"]["rows"],
        "models": models,
        "model_comparisons": comparisons,
        "seed_comparison": seed_rows,
        "fairness_model": fairness_model,
        **({"fairness_model_note": fairness_note} if fairness_note else {}),
        "groups": table["groups"],
        "fairness": {"overall": table["overall"], "attributes": table["attributes"], "gender": fair["gender"],
                     "correction": table["correction"], "config": table["config"], "unit": table["unit"],
                     "deviation_family": table["deviation_family"],
                     "equivalence_family": table["equivalence_family"], "spread_note": table["spread_note"]},
        "lfw_shift": shift,
        "audit": {k: audit.get(k) for k in ("verdict", "verdict_reasons", "headline", "checks", "design", "classes",
                                            "decomposition")},
        "run_dir": str(rd.path),
        "provenance": {k: rd.provenance.as_dict()[k] for k in ("versions", "git_commit")},
    }
    summary["readings"] = readings(summary)
    return summary


STUDY = register(Study(name="knabenhans2024", title="Seed 002: a gender classifier called fair, re-examined",
                       presets={"real": Knabenhans2024Config}, run=run, needs=NEEDS))
