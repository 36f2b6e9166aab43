"""Seed 002's readings and summary.md, from the summary the study assembles (``analyses/studies/knabenhans2024.py``).

One line per conclusion (:func:`readings`), each with its numbers; the Markdown summary; the writer
of ``summary.json`` and ``summary.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


from artifactual.analyses.formatting import clean, fmt_p
from artifactual.analyses.knabenhans2024 import SEED, TOLERANCE
from artifactual.replication.runs import atomic_write_json, atomic_write_text

def _ci(m: dict[str, Any] | None) -> str:
    """'0.850 [0.841, 0.859]'; 'undefined' where the metric has no value (one class never predicted, say).

    >>> _ci({"estimate": 0.85, "ci_low": 0.841, "ci_high": 0.859}), _ci({"estimate": None})
    ('0.850 [0.841, 0.859]', 'undefined')
    """
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
    m2 = next((m for m in s["models"] if m["name"] == "cnn_2"), {}).get("test")
    if m2 is None:
        out.append(f"CNN model 2 not trained (variants {list(s['config']['variants'])}): the CNN readings are left out.")
        m2 = {}
    else:
        out.append(f"CNN model 2, test: balanced accuracy {_ci(m2['balanced_accuracy'])} (seed 0.897), ROC AUC "
                   f"{_ci(m2['roc_auc'])} (seed 0.961).")
    short = {k: SEED["model2_test"][k] - m2[k]["estimate"] for k in ("balanced_accuracy", "roc_auc")
             if m2 and m2[k]["estimate"] is not None}
    if any(d > TOLERANCE for d in short.values()):
        out.append("Model 2 falls short of the seed by " + " and ".join(f"{d:.3f} {k.replace('_', ' ')}"
                                                                     for k, d in short.items())
                   + f": the same data shortfall ({s['split']['train']:,} training images against "
                   f"{SEED['split']['train']:,}); nothing was tuned to close it.")
    params_ok = all(m["trainable_params"] == m["seed_trainable_params"] for m in s["models"] if "seed_trainable_params" in m)
    if any("seed_trainable_params" in m for m in s["models"]):
        out.append("CNN trainable parameters " + ("equal" if params_ok else "DIFFER from") + " the seed's Table 2; "
                   "its 'total' is 3 x trainable + 2 (Keras counts Adam's two moment slots and two scalars).")
    if s.get("fairness_model_note"):
        out.append(s["fairness_model_note"])
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


def write_summary(summary: dict[str, Any], out: Path) -> None:
    """summary.json and summary.md (the figures are the paper's: ``paper/figures/knabenhans2024.py``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "summary.json", clean(summary))
    atomic_write_text(out / "summary.md", summary_markdown(summary))
