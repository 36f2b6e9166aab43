"""The UCF-Crime loader on tiny trees written in the Kaggle frame layout, and on the real copy when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artifactual.replication.data import load_dataset
from artifactual.replication.data.dataset import DatasetError
from artifactual.replication.data.ucfcrime import BLANK_SD, layout_problems, load

RNG = np.random.default_rng(0)


def frame(root: Path, rel: str, blank: bool = False) -> Path:
    """A 16x16 RGB PNG at ``root/rel``: uniform noise (grey SD far above BLANK_SD) or one flat colour."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.full((16, 16, 3), 7, np.uint8) if blank else RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(px).save(path)
    return path


def kaggle_tree(root: Path) -> Path:
    """Two classes on both sides, the Normal/NormalVideos spellings, and one blank frame."""
    for rel in ["train/Fighting/Fighting007_x264_750.png", "train/Fighting/Fighting007_x264_760.png",
                "train/Normal/Normal_Videos001_x264_0.png", "test/Fighting/Fighting047_x264_1260.png",
                "test/NormalVideos/Normal_Videos_003_x264_40.png"]:
        frame(root, rel)
    frame(root, "train/Normal/Normal_Videos001_x264_10.png", blank=True)
    return root


def rows(ds):
    return ds.table.set_index("path")


def test_names_aliases_and_split(tmp_path):
    ds = load(kaggle_tree(tmp_path), workers=1, progress=False)
    t = rows(ds)
    assert t.loc["train/Fighting/Fighting007_x264_750.png", ["video", "frame", "crime_class", "split"]].tolist() == [
        "Fighting007", 750, "Fighting", "train"]
    normal = t.loc["test/NormalVideos/Normal_Videos_003_x264_40.png"]
    assert (normal["video"], normal["frame"], normal["split"]) == ("Normal_Videos_003", 40, "test")
    assert (normal["crime_class"], normal["class_folder"]) == ("Normal", "NormalVideos")
    assert (normal["source"], normal["identity"]) == ("Normal_Videos_003", "Normal_Videos_003")
    assert t.loc["train/Normal/Normal_Videos001_x264_0.png", "video"] == "Normal_Videos001"
    assert str(ds.table["frame"].dtype) == "Int64" and ds.label_columns == ["crime_class"]
    assert ds.notes["alias_applied"] == 1
    assert sorted(ds.usable().table["crime_class"].unique()) == ["Fighting", "Normal"]
    assert "folder test/NormalVideos is read as class 'Normal' (CLASS_ALIASES)" in layout_problems(ds.root, ds.table)


def test_blank_frame_skipped_with_its_sd(tmp_path):
    ds = load(kaggle_tree(tmp_path), workers=1, progress=False)
    blank = rows(ds).loc["train/Normal/Normal_Videos001_x264_10.png"]
    assert blank["status"] == "skipped" and blank["grey_sd"] == 0.0
    assert blank["reason"] == f"blank frame: grey-level SD 0.00 < {BLANK_SD}"
    assert ds.notes["blank_frame"] == 1
    assert (ds.usable().table["grey_sd"] > 30).all()  # luma of 3 noisy channels: SD about 74*0.67
    assert any(p.startswith("1 blank frame skipped") for p in layout_problems(ds.root, ds.table))


def test_bad_files_are_rows_with_reasons_not_crashes(tmp_path):
    kaggle_tree(tmp_path)
    frame(tmp_path, "test/Fighting/foo.png")
    (tmp_path / "test/Fighting/notes.txt").write_text("not a frame")
    frame(tmp_path, "train/Fighting007_x264_0.png")  # directly in train/, no class folder
    good = frame(tmp_path, "train/Fighting/Fighting007_x264_770.png").read_bytes()
    (tmp_path / "train/Fighting/Fighting007_x264_770.png").write_bytes(good[: len(good) // 2])
    ds = load(tmp_path, workers=1, progress=False)
    t = rows(ds)
    assert t.loc["test/Fighting/foo.png", "reason"] == (
        "file name does not parse: expected <Video>_x264_<frame>.png")
    assert t.loc["test/Fighting/notes.txt", "reason"].startswith("not an image file")
    assert t.loc["train/Fighting007_x264_0.png", "reason"].startswith("not in a class folder")
    assert t.loc["train/Fighting/Fighting007_x264_770.png", "status"] == "skipped"
    assert "image data" in t.loc["train/Fighting/Fighting007_x264_770.png", "reason"]  # truncated or corrupt
    notes = ds.notes
    assert (notes["unparsed_name"], notes["not_an_image"], notes["not_in_class_folder"]) == (1, 1, 1)
    problems = layout_problems(ds.root, ds.table)
    assert ("1 file name does not parse (expected <Video>_x264_<frame>.png), e.g. test/Fighting/foo.png"
            in problems)
    assert any("train/Fighting/Fighting007_x264_770.png" in p for p in problems)
    assert len(ds.usable()) == 5


def test_empty_folders_and_class_only_in_test(tmp_path):
    kaggle_tree(tmp_path)
    (tmp_path / "train" / "Robbery").mkdir()
    frame(tmp_path, "test/Shoplifting/Shoplifting005_x264_0.png")
    frame(tmp_path, "test/Shoplifting/Shoplifting005_x264_10.png")
    frame(tmp_path, "test/Shoplifting/Shoplifting006_x264_0.png")
    ds = load(tmp_path, workers=1, progress=False)
    problems = layout_problems(ds.root, ds.table)
    assert "train/Robbery is an empty class folder" in problems
    assert ("class 'Shoplifting' is present only in test/ (2 videos, 3 frames): a model trained on train/ "
            "never sees it") in problems
    assert (ds.notes["empty_class_folder"], ds.notes["class_only_in_test"], ds.notes["class_only_in_train"]) == (
        1, 1, 0)


def test_empty_split_folder_is_named(tmp_path):
    frame(tmp_path, "train/Abuse/Abuse001_x264_0.png")
    (tmp_path / "Test").mkdir()  # any case
    ds = load(tmp_path, workers=1, progress=False)
    assert layout_problems(ds.root, ds.table) == [
        "Test/ is empty: no class folders",
        "class 'Abuse' is present only in train/ (1 video, 1 frame): test/ never measures it"]
    assert ds.notes["class_only_in_train"] == 1  # both split folders exist, so Abuse is train-only


def test_video_in_two_places_is_skipped(tmp_path):
    kaggle_tree(tmp_path)
    frame(tmp_path, "train/Normal/Fighting007_x264_900.png")  # same video, second class
    frame(tmp_path, "test/Fighting/Fighting007_x264_910.png")  # and in the other split
    ds = load(tmp_path, workers=1, progress=False)
    fights = ds.table[ds.table["video"] == "Fighting007"]
    assert len(fights) == 4 and (fights["status"] == "skipped").all()
    reason = ("video in two places: Fighting007 lies in test/Fighting and train/Fighting and train/Normal")
    assert set(fights["reason"]) == {reason}
    assert ds.notes["video_in_two_classes"] == 4
    assert ("Fighting007 lies in test/Fighting and train/Fighting and train/Normal: its 4 frames are skipped"
            in layout_problems(ds.root, ds.table))


def test_no_split_folder_or_no_images_is_an_error(tmp_path):
    frame(tmp_path, "Fighting/Fighting007_x264_0.png")
    with pytest.raises(DatasetError, match=r"no train/ or test/ folder under .*Kaggle frame layout"):
        load(tmp_path, workers=1, progress=False)
    (tmp_path / "train" / "Abuse").mkdir(parents=True)
    (tmp_path / "train" / "Abuse" / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"no image files .*Video-anomaly-detection"):
        load(tmp_path, workers=1, progress=False)


def test_registry_route(tmp_path):
    kaggle_tree(tmp_path / "ucfcrime")
    ds = load_dataset("ucfcrime", data_root=tmp_path, progress=False)
    assert ds.name == "ucfcrime" and ds.root == tmp_path / "ucfcrime"
    assert len(ds) == 6 and len(ds.usable()) == 5 and "UCF-Crime" in ds.card
    with pytest.raises(DatasetError, match="ucfcrime"):
        load_dataset("ucfcrime", data_root=tmp_path / "ucfcrime", progress=False)  # no ucfcrime/ below it


@pytest.fixture
def ucfcrime_root() -> Path:
    root = Path(os.environ.get("ARTIFACTUAL_DATA", "")) / "ucfcrime"
    if not os.environ.get("ARTIFACTUAL_DATA") or not root.is_dir():
        pytest.skip("real data absent: set ARTIFACTUAL_DATA to a folder holding ucfcrime/")
    return root


@pytest.mark.realdata
def test_real_copy(ucfcrime_root):
    ds = load_dataset("ucfcrime", data_root=ucfcrime_root.parent, progress=False)
    t = ds.table
    assert len(t) == 4086 and t["video"].nunique() == 33
    assert sorted(t["crime_class"].unique()) == ["Abuse", "Explosion", "Fighting", "Normal"]
    assert ds.notes["blank_frame"] == 9 and len(ds.usable()) == 4086 - 9
    assert (t.groupby("video")[["crime_class", "split"]].nunique() == 1).all().all()
    assert (t["width"] == 64).all() and (t["height"] == 64).all()
    assert ds.notes["alias_applied"] == 264 and ds.notes["video_in_two_classes"] == 0
