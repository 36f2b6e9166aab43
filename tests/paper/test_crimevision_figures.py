"""Seed 004's figures and section from a made-up results/crimevision folder: a summary in the study's schema
and tiny montage.npz / duplicates.csv of random pixels (never real frames). Every figure is drawn when its data
is there and skipped when it is not; the section reads the same summary, or says how to produce it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import is_png, pdf_flat_text

from artifactual.paper.build import build
from artifactual.paper.figures import draw
from artifactual.paper.figures.crimevision import FIGURES, _majority, _seed_rows

CLASSES = ["Abuse", "Fighting", "Normal"]
VIDEOS = {"Abuse": ["Abuse001", "Abuse002", "Abuse028"], "Fighting": ["Fighting005", "Fighting047"],
          "Normal": ["Normal_Videos001", "Normal_Videos002", "Normal_Videos004", "Normal_Videos_003"]}
TEST_VIDEOS = {"Abuse028", "Fighting047", "Normal_Videos_003"}
PROTOCOLS = {"random_frames": "frames dealt at random", "video_grouped": "whole videos held out",
             "given": "the dataset's own folders"}


def _q(est: float, half: float = 0.05) -> dict:
    return {"estimate": est, "ci_low": max(0.0, est - half), "ci_high": min(1.0, est + half)}


def _metrics(acc: float, n_frames: int, n_videos: int) -> dict:
    k = len(CLASSES)
    confusion = [[_q(acc if a == b else (1 - acc) / (k - 1)) for b in range(k)] for a in range(k)]
    per_class = [{"class": c, "n_frames": n_frames // k + (10 if c == "Normal" else 0), "n_videos": len(VIDEOS[c]),
                  "recall": _q(acc), "precision": _q(acc), "f1": _q(acc)} for c in CLASSES]
    return {"accuracy": _q(acc), "macro_f1": _q(acc - 0.02), "per_class": per_class, "confusion": confusion,
            "classes": CLASSES, "n_frames": n_frames, "n_videos": n_videos, "n_boot": 200,
            "unit": "video (bootstrap within class)"}


def _result(model: str, protocol: str, acc: float, network: bool = False) -> dict:
    n_frames, n_videos = (90, 3) if protocol == "given" else (270, 9)
    row = {"model": model, "protocol": protocol, "folds_used": 1 if network else 5,
           "metrics": _metrics(acc, n_frames, n_videos), "chance": {"uniform": 1 / 3, "majority": 0.4},
           "train_frames": [180], "seconds": 12.5}
    if network:
        row["training"] = [{"arch": "densenet121", "weights": "random initialisation (made up)", "images_given": 180,
                            "train_images": 150, "val_images": 16, "epochs_run": 2, "best_epoch": 1, "seconds": 9.0,
                            "history": [{"epoch": e, "train_loss": 1.0, "val_loss": 1.1, "val_accuracy": 0.4,
                                         "seconds": 4.0} for e in (1, 2)]}]
    return row


def fake_summary(networks: bool = True) -> dict:
    """Made-up numbers in the schema of results/crimevision/summary.json (analyses/crimevision_report.py)."""
    models = {"thumb_logreg": "logistic regression on thumbnails", "video_identity": "names the video"}
    if networks:
        models["densenet121_scratch"] = "the seed's model, from random initialisation"
    accs = {"random_frames": 0.97, "video_grouped": 0.41, "given": 0.23}
    results = [_result(m, p, accs[p] - 0.01 * i, network=m == "densenet121_scratch")
               for p in PROTOCOLS for i, m in enumerate(models)]
    props = []
    for j, prop in enumerate(("brightness", "edge_density")):
        for c in [*CLASSES, "all"]:
            props.append({"row": "class_mean", "property": prop, "class": c, "mean": 100.0 - 40 * j + len(c),
                          "ci_low": 90.0 - 40 * j, "ci_high": 110.0 - 40 * j, "n_frames": 90,
                          "n_videos": 9 if c == "all" else len(VIDEOS[c]), "note": None})
        props.append({"row": "class_difference", "property": prop, "test": "F of video means", "statistic": 1.5 + j,
                      "p_value": 0.2 / (1 + j), "n_videos": 9, "n_classes": 3, "n_perm": 200, "note": None,
                      "p_holm": 0.4 / (1 + j)})
    dup = {p: {"n_test": 270, "n_excluded": 0, "n_compared": 270, "n_videos_test": 9,
               "n_duplicate_phash": 250 if p == "random_frames" else 0,
               "n_same_video_phash": 250 if p == "random_frames" else 0,
               "n_videos_with_duplicate_phash": 9 if p == "random_frames" else 0,
               "n_duplicate_correlation": 200 if p == "random_frames" else 0} for p in PROTOCOLS}
    return {
        "name": "crimevision", "task": "made-up video labels",
        "never_about_real_people": "nothing here is about anyone",
        "seed_claim": {"accuracy": 0.83, "per_class": 0.83, "source": "seed 004, section 6 (made-up test copy)"},
        "data": {"frames_found": 300, "frames_used": 297, "videos": 9, "classes": CLASSES,
                 "per_class_split": [{"class": c, "split": s, "frames": 30,
                                      "videos": sum((v in TEST_VIDEOS) == (s == "test") for v in VIDEOS[c])}
                                     for c in CLASSES for s in ("test", "train")],
                 "skipped_by_reason": {"blank frame": 3}, "notes": {}, "source": "made-up frames"},
        "problems": ["3 blank frames skipped"], "models": models, "protocols": PROTOCOLS,
        "subsampling": "networks train on 1 of 5 folds (made up)", "results": results,
        "inflation": [{"model": m, "minus": o, "estimate": 0.55, "ci_low": 0.4, "ci_high": 0.7, "p_value": 0.001,
                       "paired": o == "video_grouped", "n_frames": [270, 270], "n_videos": [9, 9]}
                      for m in models for o in ("video_grouped", "given")],
        "duplicates": dup, "properties": props,
        "video_naming": {"thumb": {"accuracy": _q(0.95), "n_frames": 270, "n_videos": 9, "chance": 1 / 9,
                                   "majority": 0.2}},
        "audit": {"verdict": None, "verdict_reasons": None, "headline": None, "checks": None, "classes": None,
                  "decomposition": None, "skipped": "not run (--set with_audit=false)"},
        "readings": ["thumb_logreg: a made-up reading."],
    }


def write_folder(folder: Path, summary: dict | None = None, montage: bool = True, duplicates: bool = True,
                 object_strings: bool = False) -> Path:
    """summary.json and, when asked, montage.npz (random 8x8 pixels) and duplicates.csv in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps(fake_summary() if summary is None else summary))
    rng = np.random.default_rng(0)
    rows = [(c, v, "test" if v in TEST_VIDEOS else "train") for c in CLASSES for v in VIDEOS[c] for _ in range(3)]
    if montage:
        kind = object if object_strings else str  # the study's pandas string columns arrive as object arrays
        np.savez_compressed(folder / "montage.npz", frames=rng.integers(0, 256, (len(rows), 8, 8, 3), dtype=np.uint8),
                            classes=np.array([r[0] for r in rows]), videos=np.array([r[1] for r in rows], dtype=kind),
                            split=np.array([r[2] for r in rows], dtype=kind))
    if duplicates:
        n = 30
        pd.DataFrame({"phash_distance": np.r_[rng.integers(0, 5, n) * 2, rng.integers(6, 12, n) * 2, [np.nan]],
                      "correlation": rng.random(2 * n + 1), "excluded": [False] * (2 * n) + [True],
                      "phash_duplicate": [True] * n + [False] * (n + 1),
                      "video": "Abuse001", "phash_same_video": [True] * n + [False] * (n + 1),
                      "protocol": ["random_frames"] * n + ["video_grouped"] * n + ["given"]}).to_csv(
            folder / "duplicates.csv", index=False)
    return folder


@pytest.mark.parametrize("object_strings", [False, True])
def test_every_figure_is_drawn_from_made_up_data(tmp_path, object_strings):
    folder = write_folder(tmp_path / "crimevision", object_strings=object_strings)
    made = draw("crimevision", folder)
    assert made == {key: f"figures/{key}.png" for key in FIGURES.figures}
    assert list(made) == ["montage", "montage_frames", "protocols", "confusion", "duplicates", "properties"]
    assert all(is_png(folder / rel) for rel in made.values())


def test_figures_whose_data_is_absent_are_skipped(tmp_path):
    folder = write_folder(tmp_path / "crimevision", montage=False, duplicates=False)
    assert set(draw("crimevision", folder)) == {"protocols", "confusion", "properties"}
    bare = write_folder(tmp_path / "bare", summary={"protocols": PROTOCOLS}, montage=False, duplicates=False)
    assert draw("crimevision", bare) == {}
    only_files = write_folder(tmp_path / "files", summary={})
    assert set(draw("crimevision", only_files)) == {"montage", "montage_frames", "duplicates"}


def test_the_seed_model_is_densenet_when_trained_else_the_first():
    model, rows = _seed_rows(fake_summary())
    assert model == "densenet121_scratch" and [r["protocol"] for r in rows] == list(PROTOCOLS)
    assert _seed_rows(fake_summary(networks=False))[0] == "thumb_logreg"


def test_majority_rate_falls_back_to_the_class_counts():
    row = _result("thumb_logreg", "given", 0.5)
    assert _majority(row) == 0.4
    del row["chance"]  # a summary written before `chance` was recorded
    n = [c["n_frames"] for c in row["metrics"]["per_class"]]
    assert _majority(row) == pytest.approx(max(n) / sum(n))


def test_nested_audit_folder_is_drawn_as_an_audit(tmp_path):
    folder = write_folder(tmp_path / "crimevision", montage=False, duplicates=False)
    curve = {"fpr": [0, 0.2, 1], "tpr": [0, 0.8, 1], "tpr_low": [0, 0.6, 1], "tpr_high": [0, 0.9, 1],
             "recall": [0, 0.8, 1], "precision": [1, 0.9, 0.5], "precision_low": [1, 0.8, 0.5],
             "precision_high": [1, 1, 0.5]}
    model = {"name": "pixel_logreg", "auroc": 0.9, "average_precision": 0.88, "curves": {"roc": curve, "pr": curve}}
    (folder / "audit").mkdir()
    (folder / "audit" / "summary.json").write_text(json.dumps(
        {"classes": {"0": "normal", "1": "crime"}, "headline": {"models": [model]}, "checks": []}))
    made = draw("crimevision", folder)
    assert "roc_pr" not in made and is_png(folder / "audit" / "figures" / "roc_pr.png")


def test_section_reads_the_summary_and_shows_the_figures(tmp_path):
    write_folder(tmp_path / "results" / "crimevision")
    pdf = build(tmp_path / "results", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    data = json.loads((tmp_path / "build" / "data.json").read_text())
    assert data["figures"]["crimevision"] == {k: f"crimevision-{k}.png" for k in FIGURES.figures}
    flat = pdf_flat_text(pdf)
    assert "Seed 004" in flat and "Not run yet. results/crimevision/summary.json" not in flat
    assert "0.970 [0.920, 1.000]" in flat  # thumb_logreg, random frames
    assert "0.550 [0.400, 0.700]" in flat  # the inflation
    assert "250 of 270" in flat  # near copies under the random frame split
    assert "The audit did not run. The study's reason: not run (--set with_audit=false)." in flat.replace("\u2019", "'")
    assert "random initialisation (made up)" in flat  # the network's weights, from its training record
    assert "nothing here classifies anyone's footage" in flat.replace("\u2019", "'")


def test_section_without_a_summary_says_how_to_run_it(tmp_path):
    pdf = build(tmp_path / "none", out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    flat = pdf_flat_text(pdf)
    assert "artifactual replicate crimevision --data-root DIR" in flat and "ucfcrime/" in flat
