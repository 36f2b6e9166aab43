"""Figures of the seed-002 replication (Knabenhans 2024), drawn from ``results/knabenhans2024/summary.json`` only.

The study (analyses.knabenhans2024_report) writes the numbers; these functions only draw them into
``DIR/figures/<key>.png``, each returning None when its data is absent:

- ``seed_vs_ours``: seed 002's numbers beside ours, with our 95% intervals;
- ``models_test``: every model's test metrics beside the seed's;
- ``group_metrics``: the fairness model's accuracy and ROC AUC by race and by age decade;
- ``lfw_shift``: each model, trained on UTKFace, on UTKFace's test set and on LFW;
- ``cnn_training``: the CNNs' first runs (validation and training loss by epoch).

The study's audit on gender across sources sits in ``DIR/audit``, an audit folder:
``artifactual.paper.figures.draw("knabenhans2024", DIR)`` draws its audit figures there too.

Examples
--------
>>> import tempfile
>>> row = {"what": "test accuracy, model 2", "seed": 0.91, "ours": 0.89, "ci_low": 0.87, "ci_high": 0.91}
>>> out = Path(tempfile.mkdtemp())
>>> seed_vs_ours({"seed_comparison": [row]}, out), models_test({"models": []}, out)
('figures/seed_vs_ours.png', None)
>>> list(FIGURES.figures)
['seed_vs_ours', 'models_test', 'group_metrics', 'lfw_shift', 'cnn_training']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("knabenhans2024")

METRIC_LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced acc.", "roc_auc": "ROC AUC", "f1": "F1"}


def _err(m: dict[str, float]) -> list[list[float]]:
    return [[m["estimate"] - m["ci_low"]], [m["ci_high"] - m["estimate"]]]


@FIGURES.figure("seed_vs_ours")
def seed_vs_ours(s: dict[str, Any], out: Path) -> str | None:
    rows = s.get("seed_comparison") or []
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.2))
    for i, r in enumerate(rows):
        ax.errorbar(r["ours"], i, xerr=[[r["ours"] - r["ci_low"]], [r["ci_high"] - r["ours"]]], fmt="o",
                    color="tab:blue", capsize=3, label="ours (95% CI)" if i == 0 else None)
        ax.plot(r["seed"], i, "x", color="tab:red", ms=8, label="seed 002 (no interval given)" if i == 0 else None)
    ax.set_yticks(range(len(rows)), [r["what"] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="metric value", title="Seed 002's numbers beside ours")
    ax.legend(fontsize=7, loc="lower left")
    return save(fig, out, "seed_vs_ours")


@FIGURES.figure("models_test")
def models_test(s: dict[str, Any], out: Path) -> str | None:
    models = s.get("models") or []
    if not models:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(models)
    for j, m in enumerate(models):
        for i, k in enumerate(METRIC_LABELS):
            ax.errorbar(i + (j - (len(models) - 1) / 2) * width, m["test"][k]["estimate"], yerr=_err(m["test"][k]),
                        fmt="o", capsize=2, color=f"C{j}", label=m["name"] if i == 0 else None)
    for i, k in enumerate(METRIC_LABELS):
        seed_v = s["seed_paper"]["model2_test"].get(k)
        if seed_v is not None:
            ax.plot(i + (1 - (len(models) - 1) / 2) * width + 0.12, seed_v, "x", color="tab:red", ms=8,
                    label="seed, model 2" if k == "balanced_accuracy" else None)
        lr = s["seed_paper"]["table1"]["test"].get(k)
        ax.plot(i - (len(models) - 1) / 2 * width - 0.12, lr, "+", color="tab:red", ms=8,
                label="seed, logistic regression" if i == 0 else None)
    ax.set_xticks(range(len(METRIC_LABELS)), list(METRIC_LABELS.values()))
    ax.set(ylabel="test set (95% CI)", title="Models on the UTKFace test set")
    ax.legend(fontsize=7, ncol=3)
    return save(fig, out, "models_test")


@FIGURES.figure("group_metrics")
def group_metrics(s: dict[str, Any], out: Path) -> str | None:
    groups = s.get("groups") or []
    attrs = [a for a in ("race", "age_decade") if any(g["attribute"] == a for g in groups)]
    if not attrs:
        return None
    fig, axes = plt.subplots(1, len(attrs), figsize=(6 * len(attrs), 3.8), squeeze=False)
    overall = s["fairness"]["overall"]
    for ax, attr in zip(axes[0], attrs):
        rows = [g for g in groups if g["attribute"] == attr]
        for i, g in enumerate(rows):
            for k, dx, colour in (("accuracy", -0.12, "tab:blue"), ("roc_auc", 0.12, "tab:orange")):
                if g["too_small"] or not g.get(k):
                    continue
                ax.errorbar(i + dx, g[k]["estimate"], yerr=_err(g[k]), fmt="o", color=colour, capsize=2,
                            label=METRIC_LABELS[k] if i == 0 or (attr == "age_decade" and i == 1) else None)
            if g["too_small"]:
                ax.text(i, 0.52, f"n={g['n']}: too few", ha="center", va="bottom", fontsize=6, color="grey", rotation=90)
        for k, colour in (("accuracy", "tab:blue"), ("roc_auc", "tab:orange")):
            ax.axhline(overall[k]["estimate"], color=colour, ls=":", lw=0.8)
        ax.set_xticks(range(len(rows)), [f"{g['group']}\nn={g['n']}" for g in rows], fontsize=6, rotation=45)
        ax.set(ylim=(0.5, 1.0), ylabel="UTKFace test (95% CI)", title=f"{s['fairness_model']} by {attr}")
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(dict(zip(labels, handles)).values(), dict(zip(labels, handles)).keys(), fontsize=7)
    return save(fig, out, "group_metrics")


@FIGURES.figure("lfw_shift")
def lfw_shift(s: dict[str, Any], out: Path) -> str | None:
    shift = s.get("lfw_shift") or {}
    if not shift:
        return None
    fig, axes = plt.subplots(1, len(shift), figsize=(5.5 * len(shift), 3.6), squeeze=False)
    for ax, (model, views) in zip(axes[0], shift.items()):
        names = [v for v in ("utkface_test", "lfw_frame", "lfw_face_crop") if v in views and "skipped" not in views[v]]
        for i, v in enumerate(names):
            parts = [("accuracy", views[v]["overall"]["accuracy"])]
            cls = {c["name"]: c for c in views[v]["gender"]["classes"]}
            parts += [(f"recall {c}", cls[c]["recall"]) for c in ("male", "female")]
            for j, (label, m) in enumerate(parts):
                ax.errorbar(i + (j - 1) * 0.2, m["estimate"], yerr=_err(m), fmt="os^"[j], color=f"C{j}", capsize=2,
                            label=label if i == 0 else None)
        ax.set_xticks(range(len(names)), [n.replace("_", " ") for n in names])
        ax.set(ylim=(0, 1.02), ylabel="95% CI (LFW: clustered by person)", title=f"{model}: trained on UTKFace")
        ax.legend(fontsize=7)
    return save(fig, out, "lfw_shift")


@FIGURES.figure("cnn_training")
def cnn_training(s: dict[str, Any], out: Path) -> str | None:
    cnns = [m for m in s.get("models") or [] if m.get("first_run")]
    if not cnns:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for j, m in enumerate(cnns):
        e = [h["epoch"] for h in m["first_run"]]
        ax.plot(e, [h["val_loss"] for h in m["first_run"]], "o-", color=f"C{j}", label=f"{m['name']} validation")
        ax.plot(e, [h["train_loss"] for h in m["first_run"]], "--", color=f"C{j}", alpha=0.6)
        ax.axvline(m["best_epoch"], color=f"C{j}", lw=0.7, ls=":")
    ax.set(xlabel="epoch", ylabel="cross-entropy", title="First runs (dashed: training); dotted: epoch refit",
           xticks=np.arange(1, 1 + max(len(m["first_run"]) for m in cnns)))
    ax.legend(fontsize=7)
    return save(fig, out, "cnn_training")
