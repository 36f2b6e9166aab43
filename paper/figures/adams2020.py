"""Figures of the seed-003 replication (faces generated from 40 CelebA attributes by a cross-modal VAE and an
MVAE), from ``results/adams2020``: ``summary.json`` and the image grids the study writes beside it
(``grids.npz``: ``real`` test images, ``generated_<approach>`` the faces generated from their attributes,
``descriptions`` the names of the seed's three descriptions, ``descriptions_<approach>`` (3, k, 64, 64, 3)
samples for each, ``mean_face`` the training images' mean). Each returns None when its data is absent:

- ``real_vs_generated``: test images above the faces each approach generated from their attributes, with each
  face's MSE against its image, and the training mean face beside;
- ``descriptions``: samples for each of the seed's three descriptions ("description 1-3", with their words),
  per approach;
- ``fidelity``: per attribute, the attribute classifier's AUROC (95% interval) on the generated faces of each
  approach and on the real test faces, sorted, with chance at 0.5;
- ``identification``: where a face generated from a test image's attributes ranks that image among N
  candidates (dlib distance), against the uniform chance line; the attributes-only baseline beside;
- ``leakage``: for each description and approach, the share of generated faces showing each attribute the
  description does not mention against its training prevalence (identity line: the prior coming through);
- ``training``: loss per epoch (training and validation) and the KL weight, per approach.

The seed calls its descriptions "criminals"; no figure does: they are "description 1-3", and a generated face
is a picture of nobody.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> real_vs_generated({}, out), fidelity({}, out), training({"training": {}}, out)  # no data: skipped
(None, None, None)
>>> list(FIGURES.figures)
['real_vs_generated', 'descriptions', 'fidelity', 'identification', 'leakage', 'training']
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("adams2020")
APPROACHES = {"cross_modal": "cross-modal VAE", "mvae": "MVAE"}  # the seed's approach 1 and approach 2
COLOURS = {"real": "k", "cross_modal": "tab:blue", "mvae": "tab:orange"}
GRID_COLUMNS = 8  # test images per line of the real-vs-generated grid


def _name(approach: str) -> str:
    return APPROACHES.get(approach, approach.replace("_", " "))


def _grids(out: Path) -> dict[str, np.ndarray] | None:
    """grids.npz as arrays (names as ``str``), or None when absent."""
    f = out / "grids.npz"
    if not f.exists():
        return None
    with np.load(f, allow_pickle=False) as z:
        try:
            data = {k: z[k] for k in z.files}
        except ValueError:  # names saved as an object array: read them as pickled strings
            data = None
    if data is None:
        with np.load(f, allow_pickle=True) as z:
            data = {k: z[k] for k in z.files}
    if "descriptions" in data:
        data["descriptions"] = np.asarray(data["descriptions"]).astype(str)
    return data


def _approaches(s: dict[str, Any], keys) -> list[str]:
    """The approaches in the summary's order (config.approaches, else APPROACHES) that ``keys`` holds."""
    order = list((s.get("config") or {}).get("approaches") or APPROACHES)
    return [a for a in order if a in keys] + [a for a in keys if a not in order and a in APPROACHES]


def _tile(ax, image: np.ndarray, title: str | None = None, colour: str = "k") -> None:
    ax.imshow(image)
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set(color=colour, linewidth=1.0)
    if title:
        ax.set_title(title, fontsize=6, pad=1.5, color=colour)


def _mse(a: np.ndarray, b: np.ndarray) -> float:
    """Squared error per value in [0, 1] units (the study's per-image test MSE)."""
    return float(((a.astype(np.float32) / 255 - b.astype(np.float32) / 255) ** 2).mean())


@FIGURES.figure("real_vs_generated")
def real_vs_generated(s: dict[str, Any], out: Path) -> str | None:
    g = _grids(out)
    if g is None or "real" not in g:
        return None
    approaches = _approaches(s, [k.removeprefix("generated_") for k in g if k.startswith("generated_")])
    if not approaches:
        return None
    real = g["real"]
    cols = min(GRID_COLUMNS, len(real))
    blocks = int(np.ceil(len(real) / cols))
    per = 1 + len(approaches)
    has_mean = "mean_face" in g
    fig, axes = plt.subplots(blocks * per, cols + 2, figsize=(0.95 * (cols + 2.6), 1.0 * blocks * per + 0.6),
                             squeeze=False, gridspec_kw={"width_ratios": [1.5] + [1] * cols + [1.15]})
    for b in range(blocks):
        for r, kind in enumerate(["real", *approaches]):
            row = b * per + r
            label = "real test image" if kind == "real" else f"{_name(kind)}\nfrom its attributes"
            axes[row, 0].axis("off")
            axes[row, 0].text(1.0, 0.5, label, ha="right", va="center", fontsize=7.5, color=COLOURS.get(kind, "k"),
                              transform=axes[row, 0].transAxes)
            for j in range(cols):
                i, ax = b * cols + j, axes[row, j + 1]
                if i >= len(real):
                    ax.axis("off")
                    continue
                img = real[i] if kind == "real" else g[f"generated_{kind}"][i]
                _tile(ax, img, None if kind == "real" else f"MSE {_mse(img, real[i]):.3f}", COLOURS.get(kind, "k"))
            axes[row, -1].axis("off")
    if has_mean:
        ax = axes[0, -1]
        ax.axis("on")
        _tile(ax, g["mean_face"], "training\nmean face", "grey")
        if len(real):
            mean_mse = np.mean([_mse(g["mean_face"], x) for x in real])
            ax.set_xlabel(f"MSE {mean_mse:.3f}\n(these images)", fontsize=6)
    fig.suptitle("Test images and the faces generated from their 40 attributes alone (MSE: squared error per "
                 "value in [0, 1], against the image above)", fontsize=8.5)
    fig.subplots_adjust(wspace=0.08, hspace=0.35)
    return save(fig, out, "real_vs_generated")


def _description_text(s: dict[str, Any], name: str, width: int = 26) -> str:
    text = ((s.get("descriptions") or {}).get(name) or {}).get("text")
    return name if not text else f"{name}:\n" + "\n".join(textwrap.wrap(f"\u201c{text}\u201d", width))


@FIGURES.figure("descriptions")
def descriptions(s: dict[str, Any], out: Path) -> str | None:
    g = _grids(out)
    if g is None or "descriptions" not in g:
        return None
    approaches = _approaches(s, [k.removeprefix("descriptions_") for k in g if k.startswith("descriptions_")])
    if not approaches:
        return None
    names = list(g["descriptions"])
    k = max(g[f"descriptions_{a}"].shape[1] for a in approaches)
    # one row per (description, approach), a thin empty row between descriptions
    layout = [row for i, d in enumerate(names) for row in ([None] if i else []) + [(d, i, a) for a in approaches]]
    fig, axes = plt.subplots(len(layout), k + 2, figsize=(0.95 * k + 3.6, 1.0 * len(layout) + 0.4), squeeze=False,
                             gridspec_kw={"width_ratios": [2.0, 1.1] + [1] * k,
                                          "height_ratios": [1 if row else 0.25 for row in layout]})
    for r, row in enumerate(layout):
        for ax in axes[r, :2] if row else axes[r]:
            ax.axis("off")
        if row is None:
            continue
        d, i, a = row
        if a == approaches[0]:  # the description's words, centred on its rows
            axes[r, 0].text(0.0, 0.5 - 0.56 * (len(approaches) - 1), _description_text(s, d), ha="left",
                            va="center", fontsize=7.5, transform=axes[r, 0].transAxes)
        axes[r, 1].text(1.0, 0.5, _name(a), ha="right", va="center", fontsize=7.5, color=COLOURS.get(a, "k"),
                        transform=axes[r, 1].transAxes)
        samples = g[f"descriptions_{a}"][i]
        for j in range(k):
            if j < len(samples):
                _tile(axes[r, j + 2], samples[j], colour=COLOURS.get(a, "k"))
            else:
                axes[r, j + 2].axis("off")
    fig.suptitle("The seed's three descriptions (every attribute not mentioned set to 0): samples from each "
                 "approach", fontsize=8.5)
    fig.subplots_adjust(wspace=0.06, hspace=0.12, top=0.93)
    return save(fig, out, "descriptions")


def _fidelity_rows(s: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    appr = s.get("approaches") or {}
    approaches = _approaches(s, [a for a, r in appr.items() if (r or {}).get("fidelity")])
    return approaches, {a: {row["attribute"]: row for row in appr[a]["fidelity"]} for a in approaches}


def _est(m: dict[str, Any] | None) -> float:
    v = (m or {}).get("estimate")
    return np.nan if v is None else float(v)


def _xerr(m: dict[str, Any] | None) -> list[list[float]] | None:
    m = m or {}
    if m.get("ci_low") is None or m.get("ci_high") is None or m.get("estimate") is None:
        return None
    return [[m["estimate"] - m["ci_low"]], [m["ci_high"] - m["estimate"]]]


@FIGURES.figure("fidelity")
def fidelity(s: dict[str, Any], out: Path) -> str | None:
    approaches, rows = _fidelity_rows(s)
    if not approaches:
        return None
    attrs = list(dict.fromkeys(a for ap in approaches for a in rows[ap]))
    # sorted by the generated faces' mean AUROC over the approaches, best at the top
    gen = {a: [_est(((rows[ap].get(a) or {}).get("generated") or {}).get("auroc")) for ap in approaches]
           for a in attrs}
    gen = {a: [v for v in vs if np.isfinite(v)] for a, vs in gen.items()}
    attrs.sort(key=lambda a: -np.mean(gen[a]) if gen[a] else 1.0)
    used = {x for d in (s.get("descriptions") or {}).values()
            for x in (d.get("present") or []) + (d.get("absent") or [])}
    series = [("real", approaches[0], "real test faces")]
    series += [("generated", a, f"{_name(a)}, generated") for a in approaches]
    fig, ax = plt.subplots(figsize=(6.6, 0.19 * len(attrs) + 1.4))
    lows = []  # the x axis starts at 0.3, or lower where an interval does
    for k, (kind, ap, label) in enumerate(series):
        dy = (k - (len(series) - 1) / 2) * 0.22
        for i, a in enumerate(attrs):
            m = ((rows[ap].get(a) or {}).get(kind) or {}).get("auroc")
            if _est(m) != _est(m):  # no estimate (one class only)
                continue
            colour = COLOURS["real"] if kind == "real" else COLOURS.get(ap, f"C{k}")
            lows.append(m["ci_low"] if m.get("ci_low") is not None else m["estimate"])
            ax.errorbar(_est(m), i + dy, xerr=_xerr(m), fmt="o" if kind == "generated" else "s", ms=2.8,
                        color=colour, elinewidth=0.8, capsize=0, label=label if i == 0 else None)
    ax.axvline(0.5, color="grey", ls="--", lw=0.8, label="chance (0.5)")
    first = rows[approaches[0]]
    ax.set_yticks(range(len(attrs)), [f"{a.replace('_', ' ')} ({first[a]['n_asked']})" if a in first else a
                                      for a in attrs], fontsize=6.5)
    for tick, a in zip(ax.get_yticklabels(), attrs):
        if a in used:
            tick.set_fontweight("bold")
    ax.invert_yaxis()
    ax.set_ylim(len(attrs) - 0.5, -0.5)
    ax.set_xlim(min([0.3] + [np.floor(10 * v) / 10 for v in lows]), 1.0)
    ax.set_xlabel("AUROC of the attribute classifier: asked for vs not (95% interval, test images resampled)",
                  fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("Does a generated face show the attributes it was generated from?\n(bold: named by a "
                 "description; brackets: test images with the attribute)", fontsize=8.5)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.7 / (0.19 * len(attrs) + 1.4)), ncol=2)
    return save(fig, out, "fidelity")


@FIGURES.figure("identification")
def identification(s: dict[str, Any], out: Path) -> str | None:
    appr = s.get("approaches") or {}
    approaches = _approaches(s, [a for a, r in appr.items() if ((r or {}).get("identification") or {}).get("sketch")])
    if not approaches:
        return None
    panels = [(a, appr[a]["identification"]["sketch"], _name(a), COLOURS.get(a, "C0")) for a in approaches]
    base = appr[approaches[0]]["identification"].get("attributes_only")
    if base and base.get("histogram"):
        panels.append(("attributes_only", base, "attributes only (no face)", "tab:green"))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.0 * len(panels), 2.9), squeeze=False)
    for ax, (key, r, title, colour) in zip(axes[0], panels):
        h = np.asarray(r["histogram"], float)
        n_cand, n = int(r.get("candidates") or len(h)), int(h.sum())
        # ranks binned (1-5, 6-10, ... for 100 candidates): a few searches per single rank is all noise
        width = max(1, int(round(len(h) / 20)))
        edges = np.arange(0, len(h), width)
        counts = np.add.reduceat(h, edges) if len(h) else h
        ax.bar(edges + 0.5, counts, width=[min(width, len(h) - e) for e in edges], align="edge", color=colour,
               alpha=0.8, edgecolor="white", linewidth=0.4)
        top1, top10 = r.get("top1") or {}, r.get("top10") or {}
        chance = (f"chance: {n * width / max(n_cand, 1):.1f} searches a bar\n"
                  f"(top-1 {r.get('chance_top1', 1 / n_cand):.2f}, top-10 {r.get('chance_top10', 10 / n_cand):.2f})")
        ax.axhline(n * width / max(n_cand, 1), color="k", ls="--", lw=0.9, label=chance)
        ax.plot([], [], " ", label=f"top-1 {_est(top1):.2f} [{top1.get('ci_low', np.nan):.2f}, "
                                   f"{top1.get('ci_high', np.nan):.2f}]")
        ax.plot([], [], " ", label=f"top-10 {_est(top10):.2f} [{top10.get('ci_low', np.nan):.2f}, "
                                   f"{top10.get('ci_high', np.nan):.2f}]")
        searched = r.get("searched", n)
        extra = f", {r['no_template']} without a dlib template" if r.get("no_template") else ""
        ax.set_title(f"{title}\n{searched} searches among {n_cand}{extra}", fontsize=8)
        ax.set_xlabel("rank of the true test image" + (f" (bars of {width})" if width > 1 else ""), fontsize=7.5)
        ax.set_xlim(0.3, len(h) + 0.7)
        ax.set_ylim(0, max(counts.max() if len(counts) else 0, n * width / max(n_cand, 1)) * 1.6 + 1)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6.2, loc="upper right")
        ax.set_ylabel("searches", fontsize=7.5)
    fig.suptitle("Identification: a face generated from a test image's attributes, searched among test images by "
                 "dlib distance;\nthe baseline ranks the candidates by how many attributes they share with the "
                 "description", fontsize=8.5)
    fig.tight_layout()
    return save(fig, out, "identification")


@FIGURES.figure("leakage")
def leakage(s: dict[str, Any], out: Path) -> str | None:
    appr = s.get("approaches") or {}
    approaches = _approaches(s, [a for a, r in appr.items() if (r or {}).get("leakage")])
    if not approaches:
        return None
    names = list(dict.fromkeys(d for a in approaches for d in appr[a]["leakage"]))
    fig, axes = plt.subplots(len(approaches), len(names), figsize=(3.1 * len(names), 3.0 * len(approaches) + 0.5),
                             squeeze=False, sharex=True, sharey=True)
    for r, a in enumerate(approaches):
        for c, d in enumerate(names):
            ax, rows = axes[r, c], appr[a]["leakage"].get(d) or []
            free = [x for x in rows if not x["mentioned"] and x["generated_shows"].get("estimate") is not None]
            named = [x for x in rows if x["mentioned"] and x["generated_shows"].get("estimate") is not None]
            ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="share = training prevalence")
            for x in free:
                ax.errorbar(x["train_prevalence"], _est(x["generated_shows"]), yerr=_xerr(x["generated_shows"]),
                            fmt="o", ms=3, color=COLOURS.get(a, "C0"), elinewidth=0.6, alpha=0.8,
                            label="not mentioned" if x is free[0] else None)
            for k, x in enumerate(named):
                ax.plot(x["train_prevalence"], _est(x["generated_shows"]), "x" if x["asked"] else "+", ms=6,
                        color="tab:red", label=None)
                dx, dy = ((4, -7), (4, 4), (-4, 4), (-4, -7))[k % 4]  # alternate: named attributes often coincide
                ax.annotate(x["attribute"].replace("_", " "), (x["train_prevalence"], _est(x["generated_shows"])),
                            fontsize=5.5, color="tab:red", xytext=(dx, dy), textcoords="offset points",
                            ha="left" if dx > 0 else "right")
            # the unmentioned attributes the faces show most beyond their prevalence (by 0.1 or more): named
            excess = sorted(free, key=lambda x: x["train_prevalence"] - _est(x["generated_shows"]))
            for x in [x for x in excess if _est(x["generated_shows"]) - x["train_prevalence"] >= 0.1][:3]:
                ax.annotate(x["attribute"].replace("_", " "), (x["train_prevalence"], _est(x["generated_shows"])),
                            fontsize=5.5, xytext=(3, 3), textcoords="offset points")
            n_match = rows[0].get("n_train_matching") if rows else None
            ax.set_title(f"{_name(a)}, {_description_text(s, d, width=40)}" + ("" if n_match is None else
                         f"\n({n_match:,} matching training images)"), fontsize=7)
            ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
            ax.tick_params(labelsize=7)
            if r == len(approaches) - 1:
                ax.set_xlabel("prevalence in the training images", fontsize=7.5)
            if c == 0:
                ax.set_ylabel("share of generated faces\nshowing it (95% CI)", fontsize=7.5)
    handles = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    handles["named by the description (red; x asked, + asked absent)"] = plt.Line2D([], [], marker="x", ls="",
                                                                                    color="tab:red")
    fig.legend(handles.values(), handles.keys(), fontsize=7, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Prior leakage: attributes a description leaves out (encoded 0) against how common they are in "
                 "training", fontsize=9)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save(fig, out, "leakage")


@FIGURES.figure("training")
def training(s: dict[str, Any], out: Path) -> str | None:
    tr = s.get("training") or {}
    approaches = _approaches(s, [a for a, t in tr.items() if (t or {}).get("history")])
    if not approaches:
        return None
    fig, axes = plt.subplots(1, len(approaches), figsize=(3.4 * len(approaches), 3.4), squeeze=False)
    for ax, a in zip(axes[0], approaches):
        h = tr[a]["history"]
        e = [x["epoch"] for x in h]
        ax.plot(e, [x["loss"] for x in h], "o-", ms=3, color=COLOURS.get(a, "C0"), label="training (KL weighted)")
        val = [x.get("val_loss") for x in h]
        if any(v is not None for v in val):
            ax.plot(e, [np.nan if v is None else v for v in val], "s--", ms=3, color="k", label="validation (KL x 1)")
        ax.set_xlabel("epoch", fontsize=7.5)
        ax.set_ylabel("loss per image", fontsize=7.5)
        ax.tick_params(labelsize=7)
        kw = [x.get("kl_weight") for x in h]
        if any(w is not None for w in kw):
            twin = ax.twinx()
            twin.plot(e, [np.nan if w is None else w for w in kw], ":", color="tab:green", label="KL weight")
            twin.set_ylim(0, 1.05)
            twin.set_ylabel("KL weight", fontsize=7, color="tab:green")
            twin.tick_params(labelsize=7, colors="tab:green")
            lines = ax.get_legend_handles_labels()
            more = twin.get_legend_handles_labels()
            handles, labels = lines[0] + more[0], lines[1] + more[1]
        else:
            handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, labels, fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
        n = tr[a].get("train_images")
        ax.set_title(f"{_name(a)}: {len(h)} epoch{'s' * (len(h) != 1)}"
                     + ("" if n is None else f", {n:,} training images"), fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle("Training: loss per image and epoch (squared error summed over the image's values, + KL;\n"
                 "validation with posterior means and KL weight 1)", fontsize=8.5)
    fig.tight_layout()
    return save(fig, out, "training")
