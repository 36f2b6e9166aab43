"""Figures of the seed-001 replication (a constructed watch-list of public faces), from ``summary.json`` only:

- ``cmc``: closed-set identification rate by rank, each pipeline, smallest and largest gallery, seed's 86% at 50;
- ``det``: FNIR against FPIR (log axes) for every gallery size, one panel a pipeline;
- ``ppv_base_rate``: alert precision against the share of passers-by who are enrolled, with 95% intervals;
- ``fnir_degradation``: FNIR at the fixed threshold for clean, degraded and differently captured probes;
- ``differentials``: FPIR and FNIR by gender at one common threshold.

Each returns None when its data is absent.

>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> cmc({"pipelines": {}}, out), list(FIGURES.figures)
(None, ['cmc', 'det', 'ppv_base_rate', 'fnir_degradation', 'differentials'])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("shanmugapriyan")
COLOURS = {"dlib": "tab:blue", "lbp": "tab:orange", "lbp_binarised": "tab:red"}


def _pipes(s: dict[str, Any]) -> dict[str, Any]:
    return s.get("pipelines") or {}


@FIGURES.figure("cmc")
def cmc(s: dict[str, Any], out: Path) -> str | None:
    pipes = _pipes(s)
    if not pipes:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, p in pipes.items():
        gals = p.get("galleries") or []
        for g, ls in ((gals[0], "-"), (gals[-1], "--")) if len(gals) > 1 else ((gals[0], "-"),) if gals else ():
            pts = g["cmc"]["points"]
            k = [q["rank"] for q in pts]
            est = [q["rate"]["estimate"] for q in pts]
            ax.plot(k, est, ls, color=COLOURS.get(name), label=f"{name}, gallery {g['size']:,}")
            ax.fill_between(k, [q["rate"]["ci_low"] for q in pts], [q["rate"]["ci_high"] for q in pts],
                            color=COLOURS.get(name), alpha=0.12)
    claim = s.get("seed_claim") or {}
    if claim.get("rank1_at_50") is not None:
        ax.plot(1, claim["rank1_at_50"], "kx", ms=9, label=f"seed's cited {claim['rank1_at_50']:.0%} at 50 (no interval)")
    ax.set(xlabel="rank", ylabel="identification rate (95% CI)", ylim=(0, 1.02),
           title="Closed-set identification (CMC), constructed watch-list of public faces")
    ax.legend(fontsize=7)
    return save(fig, out, "cmc")


@FIGURES.figure("det")
def det(s: dict[str, Any], out: Path) -> str | None:
    pipes = _pipes(s)
    if not pipes:
        return None
    fig, axes = plt.subplots(1, len(pipes), figsize=(4.2 * len(pipes), 3.8), squeeze=False)
    for ax, (name, p) in zip(axes[0], pipes.items()):
        gals = p.get("galleries") or []
        shades = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(gals))))
        for g, c in zip(gals, shades):
            fp, fn = np.asarray(g["det"]["fpir"], float), np.asarray(g["det"]["fnir"], float)
            keep = fp > 0
            ax.plot(fp[keep], fn[keep], color=c, label=f"gallery {g['size']:,}")
        ax.set_xscale("log")
        ax.set(xlabel="FPIR (false alerts on non-enrolled people)", ylabel="FNIR (enrolled people missed)",
               title=name, ylim=(0, 1.02))
        ax.legend(fontsize=7)
    fig.suptitle("Open-set identification: misses against false alerts as the gallery grows", fontsize=10)
    return save(fig, out, "det")


@FIGURES.figure("ppv_base_rate")
def ppv_base_rate(s: dict[str, Any], out: Path) -> str | None:
    rows = {n: p["alerts"] for n, p in _pipes(s).items() if isinstance(p.get("alerts"), list)}
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for name, alerts in rows.items():
        b = [a["base_rate"] for a in alerts]
        ax.plot(b, [a["ppv"]["estimate"] for a in alerts], "o-", color=COLOURS.get(name), label=name)
        lo = [a["ppv"]["ci_low"] if a["ppv"]["ci_low"] is not None else np.nan for a in alerts]
        hi = [a["ppv"]["ci_high"] if a["ppv"]["ci_high"] is not None else np.nan for a in alerts]
        ax.fill_between(b, lo, hi, color=COLOURS.get(name), alpha=0.15)
    ax.set_xscale("log")
    ax.set_yscale("log")  # PPV falls about tenfold with each tenfold drop in base rate: only a log axis shows it
    ax.set(xlabel="share of passers-by on the watch-list (base rate)", ylabel="alert precision: share of alerts "
           "that are right", ylim=(1e-6, 1.5), title="How many alerts point at the right person")
    ax.legend(fontsize=8)
    return save(fig, out, "ppv_base_rate")


@FIGURES.figure("fnir_degradation")
def fnir_degradation(s: dict[str, Any], out: Path) -> str | None:
    pipes = {n: p for n, p in _pipes(s).items() if p.get("degradations")}
    if not pipes:
        return None
    first = next(iter(pipes.values()))
    labels = ["clean"] + [d["degradation"] for d in first["degradations"]] + (
        ["mugshot-style capture"] if first.get("capture_mismatch") else [])
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(labels) * len(pipes) + 1.4))
    width = 0.8 / len(pipes)
    for j, (name, p) in enumerate(pipes.items()):
        rows = [p["field"]["clean_one_probe"]] + p["degradations"] + (
            [p["capture_mismatch"]] if p.get("capture_mismatch") else [])
        y = np.arange(len(rows)) + j * width
        est = np.array([r["fnir"]["estimate"] for r in rows], float)
        err = np.array([[e - r["fnir"]["ci_low"], r["fnir"]["ci_high"] - e] for r, e in zip(rows, est)]).T
        ax.barh(y, est, width, xerr=err, color=COLOURS.get(name), label=name, capsize=2)
    ax.set_yticks(np.arange(len(labels)) + 0.4 - width / 2, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="FNIR at the fixed threshold (95% CI)", xlim=(0, 1.02),
           title=f"Missed enrolled people when the probe is degraded (gallery {first['field']['gallery']:,})")
    ax.legend(fontsize=8)
    return save(fig, out, "fnir_degradation")


@FIGURES.figure("differentials")
def differentials(s: dict[str, Any], out: Path) -> str | None:
    pipes = {n: p["differentials"]["attributes"]["gender"] for n, p in _pipes(s).items()
             if (p.get("differentials") or {}).get("attributes", {}).get("gender")}
    if not pipes:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
    for ax, metric in zip(axes, ("fpir", "fnir")):
        for j, (name, g) in enumerate(pipes.items()):
            for i, grp in enumerate(g[metric]["groups"]):
                if not grp.get("judged"):
                    continue
                r = grp["rate"]
                ax.errorbar(i + 0.15 * j, r["estimate"], yerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                            fmt="o", color=COLOURS.get(name), capsize=3, label=name if i == 0 else None)
            ax.set_xticks(range(len(g[metric]["groups"])), [grp["group"] for grp in g[metric]["groups"]])
        ax.set(title=metric.upper() + " by gender, one common threshold", ylabel="rate (95% CI)")
        ax.legend(fontsize=7)
    return save(fig, out, "differentials")
