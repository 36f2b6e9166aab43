"""Seed 004's tables, readings and figure data, from the records the study wrote
(``analyses/studies/crimevision.py``): metrics with video-bootstrap intervals per model and protocol, the
inflation between protocols, near-duplicate frames across each split, per-class image properties, how well one
frame names its video, the audit's verdict; then ``summary.json``, ``summary.md`` and the montage data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analyses.crimevision import MODEL_TEXT, NETWORKS, PROTOCOL_TEXT, SEED_CLAIM
from artifactual.analyses.formatting import clean, fmt_estimate, fmt_p
from artifactual.analyses.frames import (CORR_THRESHOLD, HASH_THRESHOLD, class_property_table, duplicate_summary,
                                         frame_properties, near_duplicates)
from artifactual.analyses.video_metrics import accuracy_difference, class_metrics, video_weights
from artifactual.analyses.stats import stream
from artifactual.replication.config import to_dict
from artifactual.replication.runs import atomic_write_json, atomic_write_text


def _ci(m: dict[str, Any] | None, signed: bool = False) -> str:
    """An interval dict as ``estimate [low, high]`` (:func:`~artifactual.analyses.formatting.fmt_estimate`).

    >>> _ci({"estimate": 0.85, "ci_low": 0.841, "ci_high": 0.859})
    '0.850 [0.841, 0.859]'
    >>> _ci({"estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3}, signed=True)
    '+0.200 [+0.100, +0.300]'

    """
    m = m or {}
    return fmt_estimate(m.get("estimate"), m.get("ci_low"), m.get("ci_high"), signed=signed)


def predictions(rec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(tested rows, predicted class) of a model@protocol record, over all its folds."""
    rows = np.concatenate([np.asarray(f["test"], int) for f in rec["folds"]])
    pred = np.concatenate([np.asarray(f["proba"]).argmax(1) for f in rec["folds"]]) if len(rows) else np.zeros(0, int)
    order = np.argsort(rows, kind="stable")
    return rows[order], pred[order]


def videos_right(y: np.ndarray, pred: np.ndarray, videos: np.ndarray, k: int) -> dict[str, int]:
    """How many test videos a model calls right by a vote of their frames (ties: the lower class index).

    With a few cameras a class, this is the count a reader should see beside frame accuracy: frames of one video
    are nearly one answer repeated.

    >>> videos_right(np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 0, 0]), np.array(list("aaabb")), 2)
    {'k': 1, 'n': 2}
    """
    right = 0
    uniq = pd.unique(videos)
    for v in uniq:
        rows = videos == v
        right += int(np.bincount(pred[rows], minlength=k).argmax() == y[rows][0])
    return {"k": right, "n": int(len(uniq))}


def result_rows(done: dict[str, Any], y, videos, classes, cfg) -> list[dict[str, Any]]:
    rows = []
    for p in cfg.protocols:
        for m in cfg.models:
            rec = done[f"{m}@{p}"]
            tested, pred = predictions(rec)
            infos = [f["info"] for f in rec["folds"]]
            shares = np.bincount(y[tested], minlength=len(classes)) / max(len(tested), 1)
            rows.append({"model": m, "protocol": p, "folds_used": len(rec["folds"]),
                         "metrics": class_metrics(y[tested], pred, videos[tested], classes, cfg.n_boot, cfg.seed),
                         "videos_right": videos_right(y[tested], pred, videos[tested], len(classes)),
                         # what guessing gets on the same test frames: uniformly, or always the largest class
                         "chance": {"uniform": 1 / len(classes), "majority": float(shares.max())},
                         "train_frames": [i.get("train_images", i.get("train_frames")) for i in infos],
                         **({"training": infos} if m in NETWORKS else {}), "seconds": rec.get("seconds")})
    return rows


def inflation(done, y, videos, cfg) -> list[dict[str, Any]]:
    """Accuracy under the random frame split minus under each video-respecting protocol, per model."""
    out = []
    for m in cfg.models:
        if f"{m}@random_frames" not in done:
            continue
        rows, pred = predictions(done[f"{m}@random_frames"])
        a = {"y": y[rows], "pred": pred, "videos": videos[rows]}
        for other in ("video_grouped", "given"):
            if f"{m}@{other}" not in done:
                continue
            rows_b, pred_b = predictions(done[f"{m}@{other}"])
            b = {"y": y[rows_b], "pred": pred_b, "videos": videos[rows_b]}
            out.append({"model": m, "minus": other, **accuracy_difference(a, b, cfg.n_boot, cfg.seed)})
    return out


def duplicates(X, videos, folds) -> tuple[dict[str, Any], pd.DataFrame]:
    """Near-duplicate frames across each protocol's split, over all its folds (every test frame against its
    fold's training frames), and the per-frame distances (figure data)."""
    out, tables = {}, []
    for p, fs in folds.items():
        frames = pd.concat([near_duplicates(X[tr], X[te], videos_train=videos[tr], videos_test=videos[te])["frames"]
                            for tr, te in fs], ignore_index=True)
        out[p] = {**duplicate_summary({"frames": frames}),
                  "thresholds": {"hash": HASH_THRESHOLD, "correlation": CORR_THRESHOLD}}
        tables.append(frames.assign(protocol=p))
    return out, pd.concat(tables, ignore_index=True)


def naming(done, y, videos, cfg) -> dict[str, Any]:
    """Accuracy of naming the video from one frame (per feature set), against chance (1 / videos) and the
    majority video's share, with a video-bootstrap interval."""
    out = {}
    n_videos = len(np.unique(videos))
    W = video_weights(y, videos, cfg.n_boot, stream(cfg.seed, "video-naming"))
    for key, pred in done["video_naming"]["predicted"].items():
        hit = (np.asarray(pred) == videos).astype(float)
        reps = (W @ hit) / W.sum(1)
        lo, hi = np.percentile(reps, [2.5, 97.5])
        out[key] = {"accuracy": {"estimate": float(hit.mean()), "ci_low": float(lo), "ci_high": float(hi)},
                    "n_frames": int(len(hit)), "n_videos": n_videos, "chance": 1 / n_videos,
                    "majority": float(pd.Series(videos).value_counts(normalize=True).iloc[0])}
    return out


def data_table(full, ds, classes) -> dict[str, Any]:
    t = full.table
    per = (ds.table.groupby(["crime_class", "split"]).agg(frames=("path", "size"), videos=("video", "nunique"))
           .reset_index().rename(columns={"crime_class": "class"}).to_dict("records"))
    skipped = t.loc[t["status"] != "ok", "reason"].astype(str).str.split(":", n=1).str[0].value_counts().to_dict()
    return {"frames_found": int(len(t)), "frames_used": int(len(ds)), "videos": int(ds.table["video"].nunique()),
            "classes": classes, "per_class_split": per, "skipped_by_reason": skipped, "notes": dict(full.notes),
            "source": "UCF-Crime (Sultani, Chen, Shah, CVPR 2018), every 10th frame at 64x64, as stored in "
                      "github.com/Rahul21333/Video-anomaly-detection at 8c05d2c (no licence stated; UCF-Crime is "
                      "distributed for research)"}


def assemble(cfg, full, ds, classes, X, y, videos, split, folds, done, audit, rd, problems) -> dict[str, Any]:
    results = result_rows(done, y, videos, classes, cfg)
    props = frame_properties(X)
    dup, dup_frames = duplicates(X, videos, folds)
    summary = {
        "name": "crimevision",
        "task": "UCF-Crime's video labels (" + ", ".join(classes) + ") from one 64x64 frame; a replication of a "
                "published classifier, not a tool to classify anyone's footage",
        "never_about_real_people": "artifactual classifies nobody's footage; these numbers describe what a "
                                   "frame classifier's accuracy is made of on a public research dataset",
        "seed_claim": SEED_CLAIM, "config": to_dict(cfg), "data": data_table(full, ds, classes),
        "problems": problems, "models": {m: MODEL_TEXT[m] for m in cfg.models},
        "protocols": {p: PROTOCOL_TEXT[p] for p in cfg.protocols},
        "subsampling": (f"networks train on {cfg.net_folds} of {cfg.folds} folds of the cross-validated protocols, "
                        f"on at most {cfg.densenet.max_train_images:,} (DenseNet121) / {cfg.effnet.max_train_images:,} "
                        f"(EfficientNet-Lite0) training frames, {cfg.densenet.epochs} / {cfg.effnet.epochs} epochs: "
                        "the CPU budget"),
        "results": results, "inflation": inflation(done, y, videos, cfg),
        "duplicates": dup,
        "properties": class_property_table(props, np.asarray(classes)[y], videos, n_boot=cfg.n_boot, seed=cfg.seed),
        "video_naming": naming(done, y, videos, cfg),
        "audit": {k: audit.get(k) for k in ("verdict", "verdict_reasons", "headline", "checks", "classes",
                                            "decomposition", "skipped")},
        "run_dir": str(rd.path),
        "provenance": {k: rd.provenance.as_dict()[k] for k in ("versions", "git_commit")},
    }
    summary["readings"] = readings(summary)
    return summary, dup_frames


def _right(vr: dict[str, int] | None, metrics: dict[str, Any]) -> str:
    """'3 of 11 videos called right', or the video count alone for records without the vote.

    >>> _right({"k": 3, "n": 11}, {}), _right(None, {"n_videos": 11})
    ('3 of 11 videos called right', '11 videos')
    """
    return f"{vr['k']} of {vr['n']} videos called right" if vr else f"{metrics['n_videos']} videos"


def readings(s: dict[str, Any]) -> list[str]:
    """One line per conclusion, each with its numbers."""
    out = []
    by = {(r["model"], r["protocol"]): r["metrics"] for r in s["results"]}
    chance = {(r["model"], r["protocol"]): r["chance"] for r in s["results"]}
    right = {(r["model"], r["protocol"]): r.get("videos_right") for r in s["results"]}
    seed = s["seed_claim"]["accuracy"]
    for m in s["models"]:
        parts = [f"{p.replace('_', ' ')} {_ci(by[(m, p)]['accuracy'])} ({_right(right.get((m, p)), by[(m, p)])}, "
                 f"majority class {chance[(m, p)]['majority']:.3f})" for p in s["protocols"] if (m, p) in by]
        out.append(f"{m}: accuracy " + "; ".join(parts) + f"; the seed reports {seed:.0%}.")
    for d in s["inflation"]:
        if d["minus"] == "video_grouped":
            out.append(f"{d['model']}: the random frame split reads {_ci(d, signed=True)} accuracy above the "
                       f"video-grouped split (p {fmt_p(d['p_value'])}, "
                       f"{'paired' if d['paired'] else 'unpaired'} video bootstrap).")
    dup = s["duplicates"]
    for p, d in dup.items():
        out.append(f"{p.replace('_', ' ')}: {d['n_duplicate_phash']:,} of {d['n_compared']:,} test frames have a "
                   f"near copy (perceptual hash) among the training frames, {d.get('n_same_video_phash', 0):,} of "
                   f"them from the frame's own video ({d.get('n_videos_with_duplicate_phash', 0)} of "
                   f"{d.get('n_videos_test', 0)} test videos).")
    for key, v in s["video_naming"].items():
        named = v["accuracy"]["ci_low"] is not None and v["accuracy"]["ci_low"] > 2 * v["majority"]
        out.append(f"One frame names its video ({v['n_videos']} videos; features {key}) with accuracy "
                   f"{_ci(v['accuracy'])}, against chance {v['chance']:.3f} (largest video {v['majority']:.3f})"
                   + (": each video is its own recognisable camera, and each class is a few of them."
                      if named else "."))
    seed_model = next((r for r in s["results"] if r["model"] == "densenet121_scratch"), None)
    if seed_model:
        for p in s["protocols"]:
            row = next((r for r in s["results"] if r["model"] == "densenet121_scratch" and r["protocol"] == p), None)
            if row:
                rec = ", ".join(f"{c['class']} {_ci(c['recall'])}" for c in row["metrics"]["per_class"])
                out.append(f"The seed's model (DenseNet121, from random initialisation), {p.replace('_', ' ')}: "
                           f"per-class accuracy {rec}; the seed reports above 83% for each class.")
    if s["audit"].get("verdict"):
        why = "; ".join(s["audit"].get("verdict_reasons") or [])
        out.append(f"The audit (crime vs normal, source = video, video-grouped) reads {s['audit']['verdict']}"
                   + (f": {why}." if why else "."))
    elif s["audit"].get("skipped"):
        out.append(f"The audit was not run: {s['audit']['skipped']}.")
    return out


def summary_markdown(s: dict[str, Any]) -> str:
    lines = [f"# Seed 004 on UCF-Crime frames: {s['task']}", "", f"Seed: {s['seed_claim']['source']}.", "",
             f"Data: {s['data']['frames_used']:,} frames of {s['data']['videos']} videos used "
             f"({s['data']['frames_found']:,} found). {s['subsampling']}.", ""]
    lines += [f"- {p}" for p in s["problems"]]
    lines += ["", "| model | protocol | accuracy (95% CI) | macro-F1 (95% CI) | frames | videos | videos right |",
              "|---|---|---|---|---|---|---|"]
    for r in s["results"]:
        m, vr = r["metrics"], r.get("videos_right") or {}
        lines.append(f"| {r['model']} | {r['protocol']} | {_ci(m['accuracy'])} | {_ci(m['macro_f1'])} | "
                     f"{m['n_frames']:,} | {m['n_videos']} | {vr.get('k', '—')} |")
    lines += ["", "## Readings", ""] + [f"- {x}" for x in s["readings"]]
    return "\n".join(lines) + "\n"


def montage(X, y, videos, split, classes, per_video: int = 3) -> dict[str, np.ndarray]:
    """Figure data: ``per_video`` evenly spaced frames of every video, with class, video and split."""
    keep = []
    for v in pd.unique(videos):
        rows = np.flatnonzero(videos == v)
        keep += rows[np.linspace(0, len(rows) - 1, per_video).round().astype(int)].tolist()
    keep = np.asarray(keep)
    return {"frames": X[keep], "classes": np.asarray(classes, dtype=str)[y[keep]],
            "videos": np.asarray(videos[keep], dtype=str), "split": np.asarray(split[keep], dtype=str)}


def write_summary(summary: dict[str, Any], out: Path, X, y, videos, split, classes,
                  duplicate_frames: pd.DataFrame) -> None:
    """summary.json, summary.md and the figure data the paper draws: the montage frames (``montage.npz``) and
    every test frame's distance to its nearest training frame under each protocol (``duplicates.csv``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    duplicate_frames.drop(columns=[c for c in duplicate_frames if c.endswith("_nearest")]).to_csv(
        out / "duplicates.csv", index=False)
    np.savez_compressed(out / "montage.npz", **montage(X, y, videos, split, classes))
    atomic_write_json(out / "summary.json", clean(summary))
    atomic_write_text(out / "summary.md", summary_markdown(summary))
