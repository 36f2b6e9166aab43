"""Figure scripts for an audit folder: read its data files, write ``DIR/figures/<name>.png``.

An analysis writes data; these functions only draw it. The paper build copies the PNGs into
``paper/figures/<section>-<name>.png`` and refers to them by the same names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return str(path.relative_to(path.parent.parent))


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
    return _save(fig, out / "figures" / "roc_pr.png")


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
    return _save(fig, out / "figures" / "property_distributions.png")


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
    return _save(fig, out / "figures" / "dose_response.png")


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
    return _save(fig, out / "figures" / "mean_images.png")


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
    return _save(fig, out / "figures" / "loso_matrix.png")


FIGURES = {"roc_pr": roc_pr, "property_distributions": property_distributions, "dose_response": dose_response,
           "mean_images": mean_images, "loso_matrix": loso_matrix}


def render_audit_figures(summary: dict[str, Any], out: Path) -> dict[str, str]:
    """Draw every figure whose data exists; returns ``{name: path relative to out}``.

    Beside :data:`FIGURES`, the decomposition's (:mod:`artifactual.paper.figures_decomposition`, imported
    here because it takes ``_save`` and ``plt`` from this module): each is skipped when its part is absent.
    """
    from artifactual.paper.figures_decomposition import FIGURES as DECOMPOSITION_FIGURES

    made = {}
    for name, fn in {**FIGURES, **DECOMPOSITION_FIGURES}.items():
        path = fn(summary, Path(out))
        if path:
            made[name] = path
    return made


def main(folder: str) -> int:
    """``python -m artifactual.paper.figures results/goel2022``: redraw an audit's figures from its
    summary.json (e.g. after a figure was added) and record them in summary.json and summary.md."""
    from artifactual.analyses.audit import write_summary

    out = Path(folder)
    s = json.loads((out / "summary.json").read_text())
    s["figures"] = render_audit_figures(s, out)
    write_summary(s, out)
    print(s["figures"])
    return 0


def encrypted_examples(s: dict[str, Any], out: Path) -> str | None:
    f = out / "encrypted_examples.npz"
    if not f.exists():
        return None
    z = np.load(f)
    keys = sorted(z.files)
    datasets = sorted({k.split("__")[0] for k in keys})
    d = datasets[0]
    # the study's scheme order (replication/encryption.py SCHEMES), whichever of them this run saved
    from artifactual.replication.encryption import SCHEMES

    schemes = [sc for sc in SCHEMES if f"{d}__{sc}" in z.files]
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
    return _save(fig, out / "figures" / "encrypted_examples.png")


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
    return _save(fig, out / "figures" / "learning_curves.png")


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
    return _save(fig, out / "figures" / "auroc_vs_compute.png")


FPT_FIGURES = {"encrypted_examples": encrypted_examples, "learning_curves": learning_curves,
               "auroc_vs_compute": auroc_vs_compute}


def render_fpt_figures(summary: dict[str, Any], out: Path) -> dict[str, str]:
    return {name: p for name, fn in FPT_FIGURES.items() if (p := fn(summary, Path(out)))}


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1]))
