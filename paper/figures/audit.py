"""The audit's figures, drawn for any audit result folder (``artifactual audit``, ``results/goel2022``,
``results/knabenhans2024/audit``) from its ``summary.json`` and the data files beside it.

The audit (analyses.audit) writes the numbers, ``properties_by_image.csv`` and ``mean_images.npz``; these
functions only draw them into ``DIR/figures/<key>.png``, each returning None when its data is absent:

- ``roc_pr``: the headline models' ROC and precision-recall curves with their 95% bootstrap bands;
- ``property_distributions``: each non-facial image property's distribution by class;
- ``dose_response``: the probe's AUROC as one injected artifact grows stronger;
- ``mean_images``: the mean image of each class and their difference;
- ``loso_matrix``: every leave-one-source-out pair beside the in-source AUROC at the same training size.

The decomposition's figures (:mod:`artifactual.paper.figures.decomposition`) are drawn for the same
folders; ``artifactual.paper.figures.draw("audit", DIR)`` draws both sets.

Examples
--------
>>> import tempfile
>>> curve = {"fpr": [0, 0.2, 1], "tpr": [0, 0.8, 1], "tpr_low": [0, 0.6, 1], "tpr_high": [0, 0.9, 1],
...          "recall": [0, 0.8, 1], "precision": [1, 0.9, 0.5], "precision_low": [1, 0.8, 0.5],
...          "precision_high": [1, 1, 0.5]}
>>> model = {"name": "pixel_logreg", "auroc": 0.9, "average_precision": 0.88, "curves": {"roc": curve, "pr": curve}}
>>> s = {"classes": {"0": "B: portraits", "1": "A: mugshots"}, "headline": {"models": [model]}, "checks": []}
>>> out = Path(tempfile.mkdtemp())
>>> made = {key: draw(s, out) for key, draw in FIGURES.figures.items()}
>>> {key: rel for key, rel in made.items() if rel}  # no csv, npz or check details: the others are skipped
{'roc_pr': 'figures/roc_pr.png'}
>>> (out / "figures" / "roc_pr.png").read_bytes()[:4]
b'\\x89PNG'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("audit")


@FIGURES.figure("roc_pr")
def roc_pr(s: dict[str, Any], out: Path) -> str:
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    for m in s["headline"]["models"]:
        r, p = m["curves"]["roc"], m["curves"]["pr"]
        line, = a.plot(r["fpr"], r["tpr"], label=f"{m['name']} AUROC {m['auroc']:.3f}")
        a.fill_between(r["fpr"], r["tpr_low"], r["tpr_high"], color=line.get_color(), alpha=0.2)
        b.plot(p["recall"], p["precision"], color=line.get_color(), label=f"{m['name']} AP {m['average_precision']:.3f}")
        b.fill_between(p["recall"], p["precision_low"], p["precision_high"], color=line.get_color(), alpha=0.2)
    a.plot([0, 1], [0, 1], "k--", lw=0.8)
    a.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (95% bootstrap band)")
    b.set(xlabel="recall", ylabel="precision", title="precision-recall (95% band)", ylim=(0, 1.02))
    a.legend(fontsize=8), b.legend(fontsize=8)
    fig.suptitle(f"class 1 = {s['classes']['1']} vs class 0 = {s['classes']['0']}", fontsize=9)
    return save(fig, out, "roc_pr")


@FIGURES.figure("property_distributions")
def property_distributions(s: dict[str, Any], out: Path) -> str | None:
    f = out / "properties_by_image.csv"
    if not f.exists():
        return None
    t = pd.read_csv(f)
    props = [c for c in t.columns if c not in ("label", "source")]
    cols = 4
    rows = int(np.ceil(len(props) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows))
    for ax, col in zip(axes.ravel(), props):
        for lab, colour in ((0, "tab:blue"), (1, "tab:red")):
            v = t.loc[t["label"] == lab, col].dropna()
            if v.nunique() > 1:
                ax.hist(v, bins=30, alpha=0.5, density=True, color=colour, label=s["classes"][str(lab)][:28])
            elif len(v):
                ax.axvline(v.iloc[0], color=colour)
        ax.set_title(col, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(props):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=6)
    fig.suptitle("non-facial image properties by class (full distributions)", fontsize=10)
    fig.tight_layout()
    return save(fig, out, "property_distributions")


@FIGURES.figure("dose_response")
def dose_response(s: dict[str, Any], out: Path) -> str | None:
    rows = [c for c in s["checks"] if c["name"].startswith("dose_response_") and c["details"].get("curve")]
    if not rows:
        return None
    fig, axes = plt.subplots(1, len(rows), figsize=(3 * len(rows), 3), squeeze=False)
    for ax, c in zip(axes[0], rows):
        cur = c["details"]["curve"]
        x = [r["strength"] for r in cur]
        ax.errorbar(range(len(x)), [r["estimate"] for r in cur],
                    yerr=[[r["estimate"] - r["ci_low"] for r in cur], [r["ci_high"] - r["estimate"] for r in cur]],
                    marker="o", capsize=3)
        ax.set_xticks(range(len(x)), [str(v) for v in x], fontsize=7)
        ax.axhline(0.5, color="k", lw=0.6, ls="--")
        ax.set(ylim=(0.3, 1.02), title=c["name"].removeprefix("dose_response_"), xlabel="strength")
    axes[0][0].set_ylabel("AUROC (95% CI)")
    fig.suptitle(f"one artifact injected into half of one source ({rows[0]['details'].get('source')})", fontsize=9)
    fig.tight_layout()
    return save(fig, out, "dose_response")


@FIGURES.figure("mean_images")
def mean_images(s: dict[str, Any], out: Path) -> str | None:
    f = out / "mean_images.npz"
    if not f.exists():
        return None
    m = np.load(f)
    diff = m["class1"] - m["class0"]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    for ax, img, title in ((axes[0], m["class0"], s["classes"]["0"]), (axes[1], m["class1"], s["classes"]["1"])):
        ax.imshow(img, cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"mean: {title}", fontsize=8)
    lim = float(np.abs(diff).max()) or 1.0
    im = axes[2].imshow(diff, cmap="coolwarm", vmin=-lim, vmax=lim)
    axes[2].set_title("difference (class 1 - class 0)", fontsize=8)
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in axes:
        ax.axis("off")
    return save(fig, out, "mean_images")


@FIGURES.figure("loso_matrix")
def loso_matrix(s: dict[str, Any], out: Path) -> str | None:
    """Every leave-one-source-out pair: AUROC on the other sources beside the in-source AUROC at the
    same training size, with the means (a single pair is never the evidence)."""
    rows = [c for c in s["checks"] if c["name"] == "leave_one_source_out" and (c.get("details") or {}).get("pairs")]
    if not rows:
        return None
    pairs = [p for p in rows[0]["details"]["pairs"] if not p.get("too_small")]
    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(6, 0.7 * len(pairs) + 1.8))
    ys = np.arange(len(pairs))
    for offset, key, colour, label in ((-0.15, "transfer", "tab:red", "on the other sources"),
                                       (0.15, "in_source", "tab:blue", "inside the training sources (CV)")):
        est = np.array([p[key]["estimate"] for p in pairs])
        lo, hi = np.array([p[key]["ci_low"] for p in pairs]), np.array([p[key]["ci_high"] for p in pairs])
        ax.errorbar(est, ys + offset, xerr=[est - lo, hi - est], fmt="o", color=colour, capsize=3, label=label)
        ax.axvline(est.mean(), color=colour, lw=0.8, ls=":")
    ax.set_yticks(ys, [f"train {p['train']}\ntest {p['test']}" for p in pairs], fontsize=7)
    ax.axvline(0.5, color="k", ls="--", lw=0.6)
    ax.set(xlim=(0, 1), xlabel="probe AUROC (95% CI); dotted: mean over pairs",
           title="leave-one-source-out, same training size")
    ax.legend(fontsize=7, loc="lower right")
    return save(fig, out, "loso_matrix")
