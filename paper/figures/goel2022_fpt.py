"""Figures of the frozen-pretrained-transformer replication (seed 000's FPT claims), drawn from
``results/goel2022-fpt/summary.json`` and the ``encrypted_examples.npz`` beside it only.

The study (analyses.goel2022_fpt) writes the numbers and a few encrypted images per scheme; these
functions only draw them into ``DIR/figures/<key>.png``, each returning None when its data is absent:

- ``encrypted_examples``: four images of the first dataset under each encryption scheme, in the study's
  scheme order (the order of the summary's ``encryption`` rows);
- ``learning_curves``: each model's validation loss and accuracy by epoch, at the chosen learning rate;
- ``auroc_vs_compute``: each model's test AUROC (95% CI) against its training wall time, per dataset.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> rng = np.random.default_rng(0)
>>> np.savez_compressed(out / "encrypted_examples.npz", **{f"lfw__{sc}": rng.random((4, 8, 8))
...                                                        for sc in ("aes_ctr", "plaintext")})
>>> s = {"encryption": [{"dataset": "lfw", "scheme": sc, "model": "pixel_logreg"} for sc in ("plaintext", "aes_ctr")],
...      "models": [{"dataset": "lfw", "name": "pixel_logreg", "auroc": 0.8, "ci_low": 0.7, "ci_high": 0.9,
...                  "train_seconds": 1.5}]}
>>> made = {key: draw(s, out) for key, draw in FIGURES.figures.items()}
>>> made["encrypted_examples"], made["learning_curves"]  # no learning curves in this summary: skipped
('figures/encrypted_examples.png', None)
>>> _scheme_order(s, "lfw", ["aes_ctr", "plaintext"])  # the study's order, not the file's
['plaintext', 'aes_ctr']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("goel2022-fpt")


def _scheme_order(s: dict[str, Any], dataset: str, saved: list[str]) -> list[str]:
    """The schemes saved for ``dataset``, in the study's order: that of the summary's ``encryption`` rows,
    then any saved scheme the rows do not name, in the file's own order (the order they were written)."""
    study = list(dict.fromkeys(r["scheme"] for r in s.get("encryption") or [] if r.get("dataset") == dataset))
    return [sc for sc in study if sc in saved] + [sc for sc in saved if sc not in study]


@FIGURES.figure("encrypted_examples")
def encrypted_examples(s: dict[str, Any], out: Path) -> str | None:
    f = out / "encrypted_examples.npz"
    if not f.exists():
        return None
    z = np.load(f)
    keys = sorted(z.files)
    datasets = sorted({k.split("__")[0] for k in keys})
    d = datasets[0]
    schemes = _scheme_order(s, d, [k.split("__", 1)[1] for k in z.files if k.startswith(f"{d}__")])
    fig, axes = plt.subplots(4, len(schemes), figsize=(2.2 * len(schemes), 9))
    for j, scheme in enumerate(schemes):
        imgs = z[f"{d}__{scheme}"]
        for i in range(min(4, len(imgs))):
            x = imgs[i].astype(float)
            axes[i, j].imshow((x - x.min()) / (np.ptp(x) or 1), cmap="gray")  # min-max rescaled, as a viewer would
            axes[i, j].axis("off")
        axes[0, j].set_title(scheme.replace("chaos_", "").replace("_", "\n"), fontsize=8)
    fig.suptitle("'encrypted' images, min-max rescaled for display (the literal scheme hides nothing; "
                 "the keystreams leave |X| proportional to the face)", fontsize=9)
    return save(fig, out, "encrypted_examples")


@FIGURES.figure("learning_curves")
def learning_curves(s: dict[str, Any], out: Path) -> str | None:
    curves = s.get("learning_curves") or {}
    if not curves:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for key, hist in curves.items():
        h = pd.DataFrame(hist)
        best = h[h["lr"] == h["lr"].iloc[-1]]
        axes[0].plot(best["epoch"], best["val_loss"], marker="o", label=key)
        axes[1].plot(best["epoch"], best["val_acc"], marker="o", label=key)
    axes[0].set(xlabel="epoch", ylabel="validation loss", title="FPT learning curves (chosen learning rate)")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy")
    axes[1].legend(fontsize=6)
    return save(fig, out, "learning_curves")


@FIGURES.figure("auroc_vs_compute")
def auroc_vs_compute(s: dict[str, Any], out: Path) -> str | None:
    m = pd.DataFrame(s.get("models") or [])
    if m.empty:
        return None
    fig, axes = plt.subplots(1, m["dataset"].nunique(), figsize=(5 * m["dataset"].nunique(), 3.8), squeeze=False)
    for ax, (dname, part) in zip(axes[0], m.groupby("dataset")):
        for _, r in part.iterrows():
            ax.errorbar(max(r["train_seconds"], 0.01), r["auroc"], yerr=[[r["auroc"] - r["ci_low"]], [r["ci_high"] - r["auroc"]]],
                        fmt="o", capsize=3, label=r["name"])
        ax.set_xscale("log")
        ax.set(xlabel="training wall time, s (log)", ylabel="AUROC (95% CI)", title=dname, ylim=(0.3, 1.02))
        ax.axhline(0.5, color="k", ls="--", lw=0.6)
        ax.legend(fontsize=6)
    return save(fig, out, "auroc_vs_compute")
