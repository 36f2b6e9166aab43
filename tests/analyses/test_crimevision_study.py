"""Seed 004's study on made-up frame trees in the Kaggle layout: video metrics against scikit-learn, protocols
that never share a video, and a planted camera shortcut that the random frame split rewards and the
video-grouped split does not."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from artifactual.analyses.crimevision import CrimeVisionConfig, protocol_folds
from artifactual.analyses.video_metrics import accuracy_difference, class_metrics, video_weights
from artifactual.replication.config import override
from artifactual.replication.study import RunContext

CHEAP = ("thumb_logreg", "hist_logreg", "video_identity")


def camera_tree(root: Path, videos_per_class: int = 6, frames: int = 12, seed: int = 0) -> Path:
    """Two classes whose frames differ only by camera: every video is one random scene plus a little noise per
    frame, so a frame names its video, and the class is nothing but the set of videos (no class signal)."""
    rng = np.random.default_rng(seed)
    for cls, folder_test in (("Abuse", "Abuse"), ("Normal", "NormalVideos")):
        for v in range(videos_per_class):
            scene = rng.integers(0, 256, (8, 8, 3)).repeat(4, 0).repeat(4, 1)
            side = "test" if v >= videos_per_class - 2 else "train"
            folder = folder_test if side == "test" else cls
            name = f"{cls}{v:03d}" if cls != "Normal" else f"Normal_Videos{v:03d}"
            for f in range(frames):
                px = np.clip(scene + rng.normal(0, 6, scene.shape), 0, 255).astype(np.uint8)
                path = root / "ucfcrime" / side / folder / f"{name}_x264_{f * 10}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(px).save(path)
    return root


def test_video_metrics_agree_with_sklearn_and_resample_videos():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 40)
    pred = np.where(rng.random(120) < 0.7, y, rng.integers(0, 3, 120))
    videos = np.array([f"{c}-{i % 4}" for i, c in enumerate(y)])
    m = class_metrics(y, pred, videos, ["a", "b", "c"], n_boot=300)
    assert m["accuracy"]["estimate"] == pytest.approx(accuracy_score(y, pred))
    assert m["macro_f1"]["estimate"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert [r["recall"]["estimate"] for r in m["per_class"]] == pytest.approx(list(recall_score(y, pred, average=None)))
    assert np.allclose([[c["estimate"] for c in row] for row in m["confusion"]],
                       confusion_matrix(y, pred, normalize="true"))
    assert (m["n_frames"], m["n_videos"]) == (120, 12)
    assert m["accuracy"]["ci_low"] < m["accuracy"]["estimate"] < m["accuracy"]["ci_high"]
    # whole videos move together, and every replicate keeps each class's number of videos
    w = video_weights(y, videos, 50, np.random.default_rng(0))
    for v in np.unique(videos):
        cols = w[:, videos == v]
        assert (cols == cols[:, :1]).all()
    assert np.allclose(w.sum(1), 120)  # 12 videos of 10 frames, redrawn 4 per class


def test_identical_videos_give_a_zero_width_interval_and_paired_differences():
    y = np.repeat([0, 1], 30)
    videos = np.repeat([f"v{i}" for i in range(6)], 10)
    pred = np.where(np.isin(videos, ["v0", "v3"]), 1 - y, y)  # one wrong video per class
    m = class_metrics(y, pred, videos, ["a", "b"], n_boot=400)
    assert m["accuracy"]["ci_low"] < m["accuracy"]["estimate"] < m["accuracy"]["ci_high"]
    same = class_metrics(y, y, videos, ["a", "b"], n_boot=100)
    assert (same["accuracy"]["ci_low"], same["accuracy"]["ci_high"]) == (1.0, 1.0)
    d = accuracy_difference({"y": y, "pred": y, "videos": videos}, {"y": y, "pred": pred, "videos": videos}, 400)
    assert d["paired"] and d["estimate"] == pytest.approx(1 - 40 / 60)
    assert 0 <= d["ci_low"] < d["estimate"] < d["ci_high"]


def test_protocols_random_grouped_and_given():
    y = np.repeat([0, 1], 60)
    videos = np.repeat([f"v{i}" for i in range(12)], 10)
    split = np.where(np.isin(videos, ["v4", "v5", "v10", "v11"]), "test", "train")
    random_ = protocol_folds("random_frames", y, videos, split, 5, 0)
    grouped = protocol_folds("video_grouped", y, videos, split, 5, 0)
    assert sorted(np.concatenate([te for _, te in random_]).tolist()) == list(range(120))
    assert sorted(np.concatenate([te for _, te in grouped]).tolist()) == list(range(120))
    assert any(set(videos[tr]) & set(videos[te]) for tr, te in random_)
    assert not any(set(videos[tr]) & set(videos[te]) for tr, te in grouped)
    (tr, te), = protocol_folds("given", y, videos, split, 5, 0)
    assert set(split[tr]) == {"train"} and set(split[te]) == {"test"}
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_folds("by_day", y, videos, split, 5, 0)


def test_config_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown model"):
        CrimeVisionConfig(models=("resnet",))
    with pytest.raises(ValueError, match="net_folds"):
        CrimeVisionConfig(net_folds=9)


@pytest.fixture(scope="module")
def camera_run(tmp_path_factory):
    from artifactual.analyses.studies.crimevision import STUDY

    root = camera_tree(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("out")
    cfg = override(CrimeVisionConfig(), {"models": list(CHEAP), "n_boot": 200, "with_audit": False, "folds": 3})
    logs: list[str] = []
    summary = STUDY.execute(cfg, out, RunContext(data_root=root, workers=1, progress=False, log=logs.append))
    return summary, out, root, cfg, logs


def test_a_camera_shortcut_reads_high_on_random_frames_and_falls_under_video_grouping(camera_run):
    summary, out, _, _, _ = camera_run
    acc = {(r["model"], r["protocol"]): r["metrics"]["accuracy"] for r in summary["results"]}
    assert acc[("thumb_logreg", "random_frames")]["estimate"] > 0.95
    assert acc[("video_identity", "random_frames")]["estimate"] > 0.95
    for p in ("video_grouped", "given"):
        assert acc[("thumb_logreg", p)]["ci_low"] < 0.5 + 0.25  # no class signal beyond the camera
    right = {(r["model"], r["protocol"]): r["videos_right"] for r in summary["results"]}
    assert right[("thumb_logreg", "random_frames")] == {"k": 12, "n": 12}  # every camera seen: every video right
    assert right[("thumb_logreg", "given")]["n"] == 4 and right[("thumb_logreg", "given")]["k"] <= 4
    infl = next(d for d in summary["inflation"] if d["model"] == "thumb_logreg" and d["minus"] == "video_grouped")
    assert infl["paired"] and infl["ci_low"] > 0
    dup = summary["duplicates"]
    assert dup["random_frames"]["fraction_duplicate_phash"] > 0.8
    assert dup["random_frames"]["n_same_video_phash"] == dup["random_frames"]["n_duplicate_phash"]
    assert dup["video_grouped"]["n_duplicate_phash"] == 0 and dup["given"]["n_duplicate_phash"] == 0
    assert summary["video_naming"]["thumb"]["accuracy"]["estimate"] > 0.95
    assert summary["video_naming"]["thumb"]["chance"] == pytest.approx(1 / 12)
    assert any("video-grouped split" in r for r in summary["readings"])
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["results"][0]["metrics"]["n_videos"] > 0
    for name in ("summary.md", "montage.npz", "duplicates.csv"):
        assert (out / name).stat().st_size > 0
    assert summary["audit"]["skipped"].startswith("switched off")


def test_a_rerun_reads_the_records_and_gives_the_same_numbers(camera_run):
    from artifactual.analyses.studies.crimevision import STUDY

    summary, out, root, cfg, _ = camera_run
    logs: list[str] = []
    again = STUDY.execute(cfg, out, RunContext(data_root=root, workers=1, progress=False, log=logs.append))
    assert not any("training frames" in line for line in logs), logs  # nothing retrained
    assert again["results"] == summary["results"] and again["inflation"] == summary["inflation"]


def test_bad_layouts_are_named_and_counted(tmp_path):
    from artifactual.analyses.studies.crimevision import STUDY

    root = camera_tree(tmp_path, videos_per_class=4, frames=6)
    only_test = root / "ucfcrime" / "test" / "Explosion" / "Explosion001_x264_0.png"
    only_test.parent.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(only_test)
    (root / "ucfcrime" / "train" / "Abuse" / "clip.png").write_bytes(only_test.read_bytes())
    (root / "ucfcrime" / "train" / "Robbery").mkdir()
    cfg = override(CrimeVisionConfig(), {"models": ["thumb_logreg"], "protocols": ["given"], "n_boot": 50,
                                         "with_audit": False, "classes": ["Abuse", "Normal"], "folds": 2})
    s = STUDY.execute(cfg, tmp_path / "out", RunContext(data_root=root, workers=1, progress=False, log=lambda m: None))
    text = " ".join(s["problems"])
    assert "Explosion" in text and "only in test" in text and "Robbery" in text and "clip.png" in text
    assert s["data"]["skipped_by_reason"]["file name does not parse"] == 1
    with pytest.raises(ValueError, match="Shoplifting"):
        STUDY.execute(override(cfg, {"classes": ["Shoplifting", "Abuse"]}), tmp_path / "out2",
                      RunContext(data_root=root, workers=1, progress=False, log=lambda m: None))


@pytest.mark.slow
def test_real_frames_read_high_only_when_frames_of_one_video_sit_on_both_sides(tmp_path):
    """On the fetched UCF-Crime frames (skips without them): the cheap models and the near-copy counts."""
    import os

    from artifactual.analyses.studies.crimevision import STUDY

    root = Path(os.environ.get("ARTIFACTUAL_DATA", "/nonexistent"))
    if not (root / "ucfcrime").is_dir():
        pytest.skip("real data absent: set ARTIFACTUAL_DATA to a folder holding ucfcrime/")
    cfg = STUDY.configure("real", {"models": "[thumb_logreg,hist_logreg]", "with_audit": "false", "n_boot": "300"})
    s = STUDY.execute(cfg, tmp_path, RunContext(data_root=root, workers=1, progress=False, log=lambda m: None))
    assert (s["data"]["frames_found"], s["data"]["frames_used"], s["data"]["videos"]) == (4086, 4077, 33)
    acc = {(r["model"], r["protocol"]): r["metrics"]["accuracy"] for r in s["results"]}
    assert acc[("thumb_logreg", "random_frames")]["ci_low"] > 0.9
    assert acc[("thumb_logreg", "video_grouped")]["ci_high"] < 0.6
    assert s["duplicates"]["random_frames"]["fraction_duplicate_phash"] > 0.5
    assert s["duplicates"]["given"]["n_duplicate_phash"] == 0
