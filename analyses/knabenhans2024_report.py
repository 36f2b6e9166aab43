"""Seed 002's replication run: train (resumably), compare with the seed, fairness, shift, audit, summary.

Units recorded in the run folder (``runs/knabenhans2024-<hash>/records.jsonl``): ``logreg``,
``logreg_curve`` (the same model on 25/50/100% of the training images: is a shortfall a matter
of data?), ``cnn_1``..``cnn_3``. A rerun skips finished units; the tables, the source shift and
the summary are recomputed from the stored scores in seconds.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.analyses.formatting import clean, fmt_p
from artifactual.analyses.knabenhans2024 import (SEED, TOLERANCE, Knabenhans2024Config, fairness_tables, fit_cnn,
                                                 fit_logreg, load_arrays, metrics_with_ci, model_comparisons,
                                                 model_unit, seed_comparison, split_indices, lfw_shift)
from artifactual.replication.config import stable_hash, to_dict
from artifactual.replication.data import DATA_ENV
from artifactual.replication.data.dataset import DatasetError

NEEDS = ("knabenhans2024 needs the real data: --data-root DIR (or $ARTIFACTUAL_DATA) holding utkface/ (UTKFace "
         "face crops with age_gender_race in the file names) and lfw/ (LFW with metadata/male_names.txt and "
         "female_names.txt for the source shift). It has no embedded version: scikit-image's LFW subset carries "
         "no gender or age labels.")


def replicate_knabenhans(out: Path, data_root=None, workers: int | None = None, progress: bool = True,
                         cfg: Knabenhans2024Config | None = None, log=print) -> dict[str, Any]:
    """The whole seed-002 replication into ``out``; it needs the real data (it has no embedded version).

    Examples
    --------
    With neither ``data_root`` nor ``$ARTIFACTUAL_DATA`` it stops at once and says what it needs:

    >>> import os, tempfile
    >>> from unittest import mock
    >>> tmp = tempfile.TemporaryDirectory()
    >>> with mock.patch.dict(os.environ):  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    ...     _ = os.environ.pop(DATA_ENV, None)
    ...     replicate_knabenhans(Path(tmp.name), data_root=None)
    Traceback (most recent call last):
    ...
    artifactual.replication.data.dataset.DatasetError: knabenhans2024 needs the real data: --data-root DIR (or
    $ARTIFACTUAL_DATA) holding utkface/ ... It has no embedded version: ...
    >>> os.listdir(tmp.name)  # nothing was written
    []
    >>> tmp.cleanup()
    """
    from artifactual.replication.runs import RunDir

    if not (data_root or os.environ.get(DATA_ENV)):
        raise DatasetError(NEEDS)
    cfg = cfg or Knabenhans2024Config()
    out = Path(out)
    utk, lfw = load_arrays(data_root, cfg, workers, progress, log)
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
    fm = cfg.fairness_model
    fair = fairness_tables(utk, split["test"], scores[fm], cfg)
    shift = {m: lfw_shift(test_y, scores[m], lfw, {v: np.asarray(s) for v, s in done[m]["lfw_scores"].items()}, fcfg)
             for m in ("logreg", fm)}
    audit = _gender_sources_audit(out / "audit", data_root, cfg, workers, progress, log)
    summary = clean(assemble(cfg, utk, lfw, split, done, todo, fair, shift, audit, rd))
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


def _gender_sources_audit(out: Path, data_root, cfg: Knabenhans2024Config, workers, progress, log) -> dict[str, Any]:
    """The audit on gender with source = {UTKFace, LFW}: the real-signal control."""
    from artifactual.analyses.audit import AuditRun, run_audit, write_summary
    from artifactual.paper.figures import render_audit_figures
    from artifactual.replication.designs.knabenhans2024 import GenderSourcesDesign, build_gender_sources
    from artifactual.analyses.knabenhans2024 import seed_preprocess

    design = GenderSourcesDesign(per_source=cfg.audit_per_source, seed=cfg.seed)
    ds = build_gender_sources(design, data_root, workers, progress)
    run = AuditRun(name="knabenhans2024-gender-sources", dataset=ds, label_col="gender",
                   preprocess=seed_preprocess(cfg.side), positive=1, class_names={1: "female", 0: "male"},
                   data_description="gender in UTKFace and LFW (both sources carry the label): the real-signal "
                                    "control", extra={"design": {"config": to_dict(design)}})
    log(f"audit: gender with source = UTKFace, LFW ({len(ds.table):,} images) ...")
    s = run_audit(run, out, workers=workers, progress=progress)
    s["figures"] = render_audit_figures(s, out)
    write_summary(s, out)
    log(f"  audit verdict: {s['verdict']}")
    return s


def assemble(cfg, utk, lfw, split, done, todo, fair, shift, audit, rd) -> dict[str, Any]:
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
        "seed_paper": _jsonable(SEED),
        "data": {"utkface": utk.report, **{k: v.report for k, v in lfw.items()},
                 "ours_of_seed": round(len(utk.y) / SEED["split"]["total"], 3)},
        "split": {k: int(len(v)) for k, v in split.items()} | {"seed": SEED["split"]},
        "table1": by["logreg"]["metrics"],
        "logreg_learning_curve": done["logreg_curve"]["rows"],
        "models": models,
        "model_comparisons": comparisons,
        "seed_comparison": seed_rows,
        "fairness_model": cfg.fairness_model,
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


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return list(obj)
    return obj


def _ci(m: dict[str, Any] | None) -> str:
    """'0.850 [0.841, 0.859]'; 'undefined' where the metric has no value (one class never predicted, say)."""
    if not m or m.get("estimate") is None:
        return "undefined"
    lo, hi = m.get("ci_low"), m.get("ci_high")
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else " [interval undefined]"
    return f"{m['estimate']:.3f}{ci}"


def readings(s: dict[str, Any]) -> list[str]:
    """One line per conclusion, each with its numbers."""
    t1 = s["table1"]["test"]
    lr_ok = all(abs(t1[m]["estimate"] - SEED["table1"]["test"][m]) <= TOLERANCE for m in ("accuracy", "roc_auc"))
    out = [f"Logistic regression, test: accuracy {_ci(t1['accuracy'])} (seed 0.850), ROC AUC {_ci(t1['roc_auc'])} "
           f"(seed 0.926): {'within' if lr_ok else 'NOT within'} {TOLERANCE} of the seed."]
    if not lr_ok:
        curve = s["logreg_learning_curve"]
        out.append("Why not: we hold crop_part1 ({} of the seed's {:,} faces, so {:,} training images against "
                   "{:,}); on 25/50/100% of our training images the test accuracy is {}.".format(
                       f"{s['data']['ours_of_seed']:.0%}", SEED["split"]["total"], s["split"]["train"],
                       SEED["split"]["train"], " / ".join(f"{r['accuracy']['estimate']:.3f}" for r in curve)))
    m2 = next(m for m in s["models"] if m["name"] == "cnn_2")["test"]
    out.append(f"CNN model 2, test: balanced accuracy {_ci(m2['balanced_accuracy'])} (seed 0.897), ROC AUC "
               f"{_ci(m2['roc_auc'])} (seed 0.961).")
    short = {k: SEED["model2_test"][k] - m2[k]["estimate"] for k in ("balanced_accuracy", "roc_auc")
             if m2[k]["estimate"] is not None}
    if any(d > TOLERANCE for d in short.values()):
        out.append("Model 2 falls short of the seed by " + " and ".join(f"{d:.3f} {k.replace('_', ' ')}"
                                                                     for k, d in short.items())
                   + f": the same data shortfall ({s['split']['train']:,} training images against "
                   f"{SEED['split']['train']:,}); nothing was tuned to close it.")
    params_ok = all(m["trainable_params"] == m["seed_trainable_params"] for m in s["models"] if "seed_trainable_params" in m)
    out.append("CNN trainable parameters " + ("equal" if params_ok else "DIFFER from") + " the seed's Table 2; its "
               "'total' is 3 x trainable + 2 (Keras counts Adam's two moment slots and two scalars).")
    for attr, a in s["fairness"]["attributes"].items():
        out.append(f"{attr}: {a['statement']}")
    # UTKFace has no identities, so the fairness bootstrap cannot resample people: the unit says so
    out.append(f"Unit of the fairness intervals and tests: {s['fairness']['unit']}.")
    g = s["fairness"]["gender"]
    rel = g["relative_difference"]
    out.append("gender (each class as positive, as the seed's Table 6): relative difference male/female "
               + ", ".join(f"{m} {_ci(rel[m])} (Holm p {_p(rel[m].get('p_holm'))})" for m in ("precision", "recall", "f1"))
               + "; seed: " + " / ".join(f"{v:.3f}" for v in SEED["table6_relative_difference"].values()) + ".")
    for view in ("lfw_frame", "lfw_face_crop"):
        v = s["lfw_shift"][s["fairness_model"]].get(view)
        if v is None or "skipped" in v:
            out.append(f"Source shift to {view.replace('_', ' ')}: not measured ({(v or {}).get('skipped', 'absent')}).")
            continue
        out.append(f"Source shift to {view.replace('_', ' ')} (n {v['n']:,}, {v['identities']:,} people): accuracy "
                   f"{_ci(v['overall']['accuracy'])}, a drop of {_ci(v['accuracy_drop'])} from the UTKFace test set.")
    out.append(f"Audit, gender with source = UTKFace, LFW: verdict {s['audit']['verdict']}.")
    return out


def _p(p) -> str:
    return fmt_p(p, missing="n/a")


def summary_markdown(s: dict[str, Any]) -> str:
    lines = [f"# {s['name']}: seed 002's gender classifier, replicated and re-examined", "", f"*{s['task']}*", "",
             "## Readings", ""] + [f"- {r}" for r in s["readings"]]
    lines += ["", "## Ours beside the seed", "", "| what | seed | ours [95% CI] | difference | within 0.03 |",
              "|---|---|---|---|---|"]
    for r in s["seed_comparison"]:
        lines.append(f"| {r['what']} | {r['seed']:.3f} | {r['ours']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}] | "
                     f"{r['difference']:+.3f} | {'yes' if r['within_0.03'] else 'no'} |")
    lines += ["", "## Models (test set)", "", "| model | trainable params (seed) | best epoch | accuracy | balanced "
              "accuracy | ROC AUC | F1 |", "|---|---|---|---|---|---|---|"]
    for m in s["models"]:
        t = m["test"]
        lines.append(f"| {m['name']} | {m['trainable_params']:,} ({m.get('seed_trainable_params', '-')}) | "
                     f"{m.get('best_epoch', '-')} | " + " | ".join(_ci(t[k]) for k in
                                                                 ("accuracy", "balanced_accuracy", "roc_auc", "f1"))
                     + " |")
    lines += ["", "Paired bootstrap, model 2 minus each other model (Holm-corrected):", "",
              "| comparison | metric | difference [95% CI] | p | p Holm |", "|---|---|---|---|---|"]
    for c in s["model_comparisons"]:
        lines.append(f"| {c['comparison']} | {c['metric']} | {c['difference']:+.3f} [{c['ci_low']:+.3f}, "
                     f"{c['ci_high']:+.3f}] | {c['p_value']:.3g} | {c['p_holm']:.3g} |")
    lines += ["", f"## Groups ({s['fairness_model']}, UTKFace test set)", "",
              "| attribute | group | n | accuracy | balanced accuracy | ROC AUC | F1 |", "|---|---|---|---|---|---|---|"]
    for g in s["groups"]:
        cells = [("n < min" if g["too_small"] else _ci(g[k]) if g.get(k) else "undefined")
                 for k in ("accuracy", "balanced_accuracy", "roc_auc", "f1")]
        lines.append(f"| {g['attribute']} | {g['group']} | {g['n']} | " + " | ".join(cells) + " |")
    f = s["fairness"]
    margin = f["config"]["parity_margin"]
    lines += ["", "Verdict per attribute: each eligible group's deviation from the attribute's pooled rate, the "
              f"largest per metric, with its simultaneous 95% band (over all {f['deviation_family']['size']} "
              f"deviations of the table); 'similar' needs every deviation inside +-{margin:g} (TOST).", "",
              "| attribute | verdict | accuracy | TPR (female recall) | TNR (male recall) | equivalence p (Holm) | "
              "not judged |", "|---|---|---|---|---|---|---|"]
    for attr, a in f["attributes"].items():
        cells = [_dev_cell(a["largest_deviation"][m]) for m in ("accuracy", "tpr", "tnr")]
        lines.append(f"| {attr} | {a['parity']} | " + " | ".join(cells) + f" | {_p(a['equivalence']['p_holm'])} | "
                     + ("; ".join(a["not_judged"]) or "-") + " |")
    lines += ["", f"Unit of resampling: {f['unit']}.", "",
              f"Max-min spread (the seed's Tables 3-5): {f['spread_note']}", "",
              f"Multiplicity: {f['correction']}.", ""]
    return "\n".join(lines) + "\n"


def _dev_cell(r: dict[str, Any] | None) -> str:
    """'3 Indian -0.021 [-0.060, +0.018]': the group, its deviation from the pooled rate, the simultaneous band."""
    if not r:
        return "-"
    band = "" if r.get("band_low") is None else f" [{r['band_low']:+.3f}, {r['band_high']:+.3f}]"
    return f"{r['group']} {r['deviation']:+.3f}{band}"


def write_knabenhans(summary: dict[str, Any], out: Path) -> None:
    """summary.json, summary.md and the figures (rendered from the summary, then listed in it)."""
    from artifactual.paper.figures_knabenhans import render_knabenhans_figures
    from artifactual.replication.runs import atomic_write_json, atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary["figures"] = render_knabenhans_figures(summary, out)
    atomic_write_json(out / "summary.json", clean(summary))
    atomic_write_text(out / "summary.md", summary_markdown(summary))
