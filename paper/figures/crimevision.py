"""Figures of the seed-004 replication ("Crime Vision" on UCF-Crime frames), from ``results/crimevision``:
``summary.json`` and the figure data the study writes beside it (``montage.npz``: 3 frames of every video with
its class, video id and split; ``duplicates.csv``: every test frame's nearest training frame under each
protocol). Each returns None when its data is absent:

- ``montage``: the middle frame of every video, one row per class, labelled with video id and split;
- ``montage_frames``: the 3 frames of one video per class side by side (near copies of each other);
- ``protocols``: every model's accuracy under every protocol (95% video-bootstrap intervals), the seed's 83%
  and each row's majority-class rate;
- ``confusion``: the seed's model's row-normalised confusion matrix under each protocol;
- ``duplicates``: each test frame's perceptual-hash distance to its nearest training frame, per protocol,
  with the near-copy threshold;
- ``properties``: per-class means of each image property with video-bootstrap intervals and Holm's p.

Examples
--------
>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> montage({}, out), duplicates({}, out), protocols({"results": []}, out)  # no data: skipped
(None, None, None)
>>> list(FIGURES.figures)
['montage', 'montage_frames', 'protocols', 'confusion', 'duplicates', 'properties']
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analyses.frames import HASH_THRESHOLD
from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("crimevision")
SEED_MODEL = "densenet121_scratch"  # the seed's architecture (trained from random initialisation here)
SPLIT_COLOURS = {"train": "tab:blue", "test": "tab:orange"}
MONTAGE_COLUMNS = 7  # tiles per line: the labels stay legible at the page's width


def _label(name: str) -> str:
    return str(name).replace("_", " ")


def _montage(out: Path) -> dict[str, np.ndarray] | None:
    """montage.npz as arrays (strings as ``str``), or None when absent."""
    f = out / "montage.npz"
    if not f.exists():
        return None
    with np.load(f) as z:
        try:
            data = {k: z[k] for k in z.files}
        except ValueError:
            data = None
    if data is None:  # video ids and splits saved as object arrays (pandas string columns): pickled strings
        with np.load(f, allow_pickle=True) as z:
            data = {k: z[k] for k in z.files}
    return {k: (v if k == "frames" else np.asarray(v).astype(str)) for k, v in data.items()}


def _videos(m: dict[str, np.ndarray]) -> dict[str, list[tuple[str, str, np.ndarray]]]:
    """class -> [(video, split, rows of its frames in montage.npz)], training videos first, then by id."""
    out: dict[str, list[tuple[str, str, np.ndarray]]] = {}
    for cls in sorted(set(m["classes"])):
        vids = sorted(set(m["videos"][m["classes"] == cls]),
                      key=lambda v: (m["split"][m["videos"] == v][0] != "train", v))
        out[cls] = [(v, m["split"][m["videos"] == v][0], np.flatnonzero(m["videos"] == v)) for v in vids]
    return out


def _wrap(video: str, width: int = 13) -> str:
    """A long video id broken before its number ("Normal_Videos_003" -> "Normal_Videos_\\n003")."""
    hit = re.fullmatch(r"(.*?)(\d+)", video)
    return f"{hit[1]}\n{hit[2]}" if hit and len(video) > width else video


def _count(vids: list[tuple[str, str, np.ndarray]]) -> str:
    n_train = sum(s == "train" for _, s, _ in vids)
    return f"{len(vids)} videos\n({n_train} train, {len(vids) - n_train} test)"


@FIGURES.figure("montage")
def montage(s: dict[str, Any], out: Path) -> str | None:
    m = _montage(out)
    if m is None:
        return None
    by_class = _videos(m)
    cols = min(MONTAGE_COLUMNS, max(len(v) for v in by_class.values()))
    # a class with more videos than columns wraps onto further lines of its block
    lines = [(cls, vids[k:k + cols], k == 0) for cls, vids in by_class.items() for k in range(0, len(vids), cols)]
    fig, axes = plt.subplots(len(lines), cols + 1, figsize=(1.0 * (cols + 1.4), 1.2 * len(lines)),
                             squeeze=False, gridspec_kw={"width_ratios": [1.4] + [1] * cols})
    for i, (cls, vids, first) in enumerate(lines):
        axes[i, 0].axis("off")
        if first:
            axes[i, 0].text(1.0, 0.5, f"{cls}\n{_count(by_class[cls])}", ha="right", va="center", fontsize=8,
                            transform=axes[i, 0].transAxes)
        for j in range(cols):
            ax = axes[i, j + 1]
            ax.set_xticks([]), ax.set_yticks([])
            if j >= len(vids):
                ax.axis("off")
                continue
            video, split, rows = vids[j]
            ax.imshow(m["frames"][rows[len(rows) // 2]])
            ax.set_title(f"{_wrap(video)}\n{split}", fontsize=6.5, color=SPLIT_COLOURS.get(split, "k"), pad=2)
            for spine in ax.spines.values():
                spine.set(color=SPLIT_COLOURS.get(split, "k"), linewidth=1.5)
    fig.suptitle("Every video's middle frame, one block per class: each class is a few cameras\n"
                 "(blue: the dataset's train/ folder, orange: its test/ folder)", fontsize=9)
    fig.subplots_adjust(wspace=0.1, hspace=0.75)
    return save(fig, out, "montage")


@FIGURES.figure("montage_frames")
def montage_frames(s: dict[str, Any], out: Path) -> str | None:
    m = _montage(out)
    if m is None:
        return None
    by_class = _videos(m)
    per = max(len(rows) for vids in by_class.values() for _, _, rows in vids)
    fig, axes = plt.subplots(len(by_class), per, figsize=(1.25 * per + 1.2, 1.3 * len(by_class)), squeeze=False)
    for i, (cls, vids) in enumerate(by_class.items()):
        video, split, rows = vids[0]
        for j in range(per):
            ax = axes[i, j]
            ax.set_xticks([]), ax.set_yticks([])
            if j >= len(rows):
                ax.axis("off")
                continue
            ax.imshow(m["frames"][rows[j]])
            ax.set_title(f"frame {j + 1} of {len(rows)}", fontsize=6, pad=2)
        axes[i, 0].set_ylabel(f"{cls}\n{video}\n({split})", fontsize=7, rotation=0, ha="right", va="center")
    fig.suptitle("Frames of one video, evenly spaced through it:\nthe same camera, near copies", fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.35)
    return save(fig, out, "montage_frames")


def _majority(row: dict[str, Any]) -> float | None:
    """The share of the largest class among the row's test frames (``chance.majority``, or from its counts)."""
    got = (row.get("chance") or {}).get("majority")
    if got is not None:
        return float(got)
    n = [c["n_frames"] for c in row["metrics"].get("per_class") or []]
    return max(n) / sum(n) if n and sum(n) else None


@FIGURES.figure("protocols")
def protocols(s: dict[str, Any], out: Path) -> str | None:
    rows = s.get("results") or []
    if not rows:
        return None
    prots = list(s.get("protocols") or dict.fromkeys(r["protocol"] for r in rows))
    models = list(s.get("models") or dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["protocol"]): r for r in rows}
    fig, ax = plt.subplots(figsize=(6.5, 0.26 * len(models) * (len(prots) + 1) + 1.3))
    y, ticks, labels = 0.0, [], []
    for mi, model in enumerate(models):
        ax.text(-0.01, y - 0.55, _label(model), fontsize=7.5, fontweight="bold", ha="right", va="center",
                transform=ax.get_yaxis_transform())
        for pi, p in enumerate(prots):
            r = by.get((model, p))
            if r is None:
                continue
            acc = r["metrics"]["accuracy"]
            ax.errorbar(acc["estimate"], y, xerr=[[acc["estimate"] - acc["ci_low"]], [acc["ci_high"] - acc["estimate"]]],
                        fmt="o", ms=4, color=f"C{pi}", capsize=2, label=_label(p) if mi == 0 else None)
            maj = _majority(r)
            if maj is not None:
                ax.plot(maj, y, "|", color="k", ms=9, mew=1.5, label="majority-class rate" if mi == pi == 0 else None)
            ticks.append(y)
            labels.append(f"{_label(p)} ({r['metrics']['n_videos']} videos)")
            y += 1
        y += 1
    claim = (s.get("seed_claim") or {}).get("accuracy")
    if claim is not None:
        ax.axvline(claim, color="tab:red", ls="--", lw=1, label=f"seed's {claim:.0%} (no interval, no data named)")
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.02), xlabel="accuracy on the protocol's test frames (95% video-bootstrap interval)",
           title="Every model under every protocol:\nframes split at random, whole videos held out, the given split")
    ax.title.set_fontsize(9)
    ax.xaxis.label.set_fontsize(8)
    fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=3)
    return save(fig, out, "protocols")


def _seed_rows(s: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The seed's model (DenseNet121 when run, else the first model) and its result row per protocol."""
    rows = s.get("results") or []
    names = list(dict.fromkeys(r["model"] for r in rows))
    model = SEED_MODEL if SEED_MODEL in names else names[0]
    prots = list(s.get("protocols") or dict.fromkeys(r["protocol"] for r in rows))
    return model, [r for p in prots for r in rows if r["model"] == model and r["protocol"] == p]


@FIGURES.figure("confusion")
def confusion(s: dict[str, Any], out: Path) -> str | None:
    if not s.get("results"):
        return None
    model, rows = _seed_rows(s)
    rows = [r for r in rows if r["metrics"].get("confusion")]
    if not rows:
        return None
    k = len(rows[0]["metrics"]["classes"])
    fig, axes = plt.subplots(1, len(rows), figsize=(3.0 * len(rows) + 0.8, 0.55 * k + 2.0), squeeze=False,
                             layout="constrained")
    for ax, r in zip(axes[0], rows):
        met = r["metrics"]
        cm = np.array([[c["estimate"] if c["estimate"] is not None else np.nan for c in row] for row in met["confusion"]])
        im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
        for a in range(k):
            for b in range(k):
                if np.isfinite(cm[a, b]):
                    ax.text(b, a, f"{cm[a, b]:.2f}", ha="center", va="center", fontsize=8,
                            color="white" if cm[a, b] > 0.6 else "black")
        n = {c["class"]: c for c in met.get("per_class") or []}
        ax.set_yticks(range(k), [f"{c}\n{n[c]['n_videos']} videos" if c in n else c for c in met["classes"]], fontsize=8)
        ax.set_xticks(range(k), met["classes"], fontsize=8, rotation=35, ha="right")
        acc = met["accuracy"]
        ax.set_title(f"{_label(r['protocol'])}\naccuracy {acc['estimate']:.2f}\n{met['n_frames']:,} frames, "
                     f"{met['n_videos']} videos", fontsize=8)
        ax.set_xlabel("predicted", fontsize=8)
    axes[0, 0].set_ylabel("true class (videos tested)", fontsize=8)
    fig.colorbar(im, ax=list(axes[0]), fraction=0.02, shrink=0.8, label="share of the true class's frames")
    fig.suptitle(f"{_label(model)}: row-normalised confusion matrices", fontsize=9)
    return save(fig, out, "confusion")


def _threshold(s: dict[str, Any]) -> int:
    """The near-copy phash threshold: the summary's when it records one, else analyses/frames.py's default."""
    for d in (s.get("duplicates") or {}).values():
        got = ((d or {}).get("thresholds") or {}).get("hash")
        if got is not None:
            return int(got)
    return HASH_THRESHOLD


@FIGURES.figure("duplicates")
def duplicates(s: dict[str, Any], out: Path) -> str | None:
    f = out / "duplicates.csv"
    if not f.exists():
        return None
    t = pd.read_csv(f)
    t = t[~t["excluded"].astype(bool)] if "excluded" in t else t
    prots = [p for p in (s.get("protocols") or {}) if p in set(t["protocol"])] or list(dict.fromkeys(t["protocol"]))
    if not prots:
        return None
    thr = _threshold(s)
    bins = np.arange(-1, 66, 2)  # phash distances between two 64-bit hashes with 32 ones each are even
    fig, axes = plt.subplots(1, len(prots), figsize=(3.0 * len(prots), 3), squeeze=False, sharex=True)
    for ax, p in zip(axes[0], prots):
        part = t[t["protocol"] == p]
        same = part["phash_same_video"].astype(bool) if "phash_same_video" in part else pd.Series(False, part.index)
        ax.hist([part.loc[same, "phash_distance"], part.loc[~same, "phash_distance"]], bins=bins, stacked=True,
                color=["tab:red", "tab:grey"], label=["nearest: same video", "nearest: another video"])
        ax.axvline(thr + 1, color="k", ls="--", lw=0.9, label=f"near copy: distance \u2264 {thr}")
        n_dup = int((part["phash_distance"] <= thr).sum())
        d = (s.get("duplicates") or {}).get(p) or {}
        vids = (f"{d['n_videos_with_duplicate_phash']} of {d['n_videos_test']} test videos hold one"
                if d.get("n_videos_with_duplicate_phash") is not None and d.get("n_videos_test") else "")
        ax.set_title(f"{_label(p)}\n{n_dup:,} of {len(part):,} test frames are near copies\n{vids}",
                     fontsize=8)
        ax.set_xlim(-1.5, min(65, float(t["phash_distance"].max()) + 4))
        ax.set_xlabel("phash distance to nearest\ntraining frame (of 64 bits)", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[0, 0].set_ylabel("test frames", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, out, "duplicates")


@FIGURES.figure("properties")
def properties(s: dict[str, Any], out: Path) -> str | None:
    rows = s.get("properties") or []
    means = [r for r in rows if r.get("row") == "class_mean" and r.get("class") != "all"]
    if not means:
        return None
    tests = {r["property"]: r for r in rows if r.get("row") == "class_difference"}
    overall = {r["property"]: r for r in rows if r.get("row") == "class_mean" and r.get("class") == "all"}
    props = list(dict.fromkeys(r["property"] for r in means))
    cols = min(4, len(props))
    nrows = int(np.ceil(len(props) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(2.5 * cols, 2.4 * nrows), squeeze=False)
    for ax, prop in zip(axes.ravel(), props):
        part = [r for r in means if r["property"] == prop]
        for i, r in enumerate(part):
            lo, hi = r.get("ci_low"), r.get("ci_high")
            err = None if lo is None or hi is None else [[r["mean"] - lo], [hi - r["mean"]]]
            ax.errorbar(i, r["mean"], yerr=err, fmt="o" if err else "x", color=f"C{i}", capsize=3)
        if prop in overall:
            ax.axhline(overall[prop]["mean"], color="grey", ls=":", lw=0.8)
        ax.set_xticks(range(len(part)), [f"{r['class']}\n({r['n_videos']})" for r in part], fontsize=7.5)
        ax.tick_params(axis="y", labelsize=7.5)
        t = tests.get(prop) or {}
        stat = "" if t.get("statistic") is None else f"F {t['statistic']:.2f}, "
        holm = "—" if t.get("p_holm") is None else ("< 0.001" if t["p_holm"] < 0.001 else f"{t['p_holm']:.3f}")
        ax.set_title(f"{_label(prop)}\n{stat}Holm p {holm}", fontsize=8.5)
    for ax in axes.ravel()[len(props):]:
        ax.axis("off")
    fig.suptitle("Image properties by class (videos in brackets): frame-weighted means, 95% intervals "
                 "resampling videos (dotted: all frames)", fontsize=9)
    fig.tight_layout()
    return save(fig, out, "properties")
