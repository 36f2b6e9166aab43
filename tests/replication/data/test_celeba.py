"""The CelebA loader on tiny trees written in the standard layout, and on the real copy when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.replication.data import load_dataset
from artifactual.replication.data.celeba import ATTRIBUTES, image_folder, load, read_attributes, read_partition
from artifactual.replication.data.dataset import DatasetError

RNG = np.random.default_rng(0)
NAMES_LINE = " ".join(ATTRIBUTES) + " "  # the real file's second line ends with a space


def values(*present: str) -> str:
    """An attribute row's values: 1 for the attributes named, -1 for the rest, aligned like the real file."""
    return " ".join(" 1" if a in present else "-1" for a in ATTRIBUTES)


def write_image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (20, 16, 3), dtype=np.uint8)).save(path, "JPEG")  # 16 wide, 20 high
    return path


def write_attributes(root: Path, rows: list[str], names: str = NAMES_LINE) -> Path:
    path = root / "list_attr_celeba.txt"
    path.write_bytes(("\r\n".join(["202599", names, *rows])).encode())  # CRLF, no final newline: as the real one
    return path


def celeba_tree(root: Path, folder: str = "img_align_celeba", partition: bool = True) -> Path:
    """Three images with attributes (and a fourth attribute row with no image), the partition file."""
    for name in ["000001.jpg", "000002.jpg", "000003.jpg"]:
        write_image(root / folder / name)
    write_attributes(root, [f"000001.jpg {values('Male', 'Young')}", f"000002.jpg {values('Eyeglasses')}",
                            f"000003.jpg {values()}", f"000004.jpg {values('Male')}"])
    if partition:
        (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n000004.jpg 2\n")
    return root


def rows(ds) -> pd.DataFrame:
    return ds.table.set_index("path")


def test_attributes_and_partition(tmp_path):
    ds = load(celeba_tree(tmp_path), workers=1, progress=False)
    t = rows(ds)
    assert ds.label_columns == ATTRIBUTES and ds.subgroup_columns == ["partition"]
    assert t.loc["img_align_celeba/000001.jpg", ["Male", "Young", "Eyeglasses", "5_o_Clock_Shadow"]].tolist() == [
        1, 1, 0, 0]
    assert t.loc["img_align_celeba/000002.jpg", ["Male", "Eyeglasses"]].tolist() == [0, 1]
    assert (t.loc["img_align_celeba/000003.jpg", ATTRIBUTES] == 0).all()
    assert t["partition"].tolist() == [0, 1, 2]
    assert all(str(ds.table[c].dtype) == "Int64" for c in [*ATTRIBUTES, "partition"])
    assert set(ds.table["source"]) == {"celeba"} and ds.table["identity"].isna().all()
    assert (ds.table["status"] == "ok").all() and (ds.table["width"] == 16).all() and (ds.table["height"] == 20).all()
    assert ds.notes == {"attributes_without_image": 1, "images_without_attributes": 0, "bad_attribute_rows": 0,
                        "partition_missing": 0, "not_an_image": 0}
    image, labels, meta = ds.sample(0)
    assert image.shape == (20, 16, 3) and labels["Male"] == 1 and meta["partition"] == 0


@pytest.mark.parametrize("folder", ["img_align_celeba", "celebA", "IMG_ALIGN_CELEBA", "Img/img_align_celeba",
                                    "faces", "img_align_celeba/img_align_celeba"])
def test_image_folder_names(tmp_path, folder):
    ds = load(celeba_tree(tmp_path, folder=folder), workers=1, progress=False)
    assert ds.table["path"].tolist() == [f"{folder}/00000{i}.jpg" for i in (1, 2, 3)]
    assert len(ds.usable()) == 3


def test_png_copy_matched_by_stem(tmp_path):
    celeba_tree(tmp_path)
    for jpg in (tmp_path / "img_align_celeba").iterdir():
        Image.open(jpg).save(jpg.with_suffix(".png"))
        jpg.unlink()
    ds = load(tmp_path, workers=1, progress=False)
    assert ds.table[["Male", "partition"]].values.tolist() == [[1, 0], [0, 1], [0, 2]]
    assert len(ds.usable()) == 3 and ds.notes["attributes_without_image"] == 1


def test_image_without_attributes_and_non_images(tmp_path):
    celeba_tree(tmp_path)
    write_image(tmp_path / "img_align_celeba" / "000099.jpg")
    (tmp_path / "img_align_celeba" / "readme.txt").write_text("not an image")
    ds = load(tmp_path, workers=1, progress=False)
    t = rows(ds)
    assert t.loc["img_align_celeba/000099.jpg", "status"] == "skipped"
    assert t.loc["img_align_celeba/000099.jpg", "reason"] == "no attributes: 000099.jpg is not in list_attr_celeba.txt"
    assert pd.isna(t.loc["img_align_celeba/000099.jpg", "Male"])
    assert t.loc["img_align_celeba/readme.txt", "reason"] == "not an image file: expected .jpg, .jpeg or .png"
    assert (ds.notes["images_without_attributes"], ds.notes["not_an_image"]) == (1, 1)
    assert ds.notes["partition_missing"] == 2 and len(ds.usable()) == 3


def test_malformed_attribute_rows_are_skipped_naming_the_line(tmp_path):
    for name in ["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]:
        write_image(tmp_path / "celebA" / name)
    ones = values("Male").split()
    write_attributes(tmp_path, ["000001.jpg " + " ".join(ones[:-1]),        # line 3: 39 values
                                "000002.jpg " + " ".join(["2", *ones[1:]]),  # line 4: a 2
                                f"000003.jpg {values()}",
                                "",                                         # line 6: blank, ignored
                                f"000003.jpg {values('Male')}",             # line 7: listed again
                                f"000004.jpg {values('Young')}"])
    ds = load(tmp_path, workers=1, progress=False)
    t = rows(ds)
    assert t["reason"].tolist() == [
        "bad attribute row: line 3 of list_attr_celeba.txt has 39 values, expected 40",
        "bad attribute row: line 4 of list_attr_celeba.txt has '2' for 5_o_Clock_Shadow, expected -1 or 1",
        "bad attribute row: line 7 of list_attr_celeba.txt lists 000003.jpg again (first at line 5)",
        ""]
    assert t.loc["celebA/000004.jpg", "Young"] == 1 and len(ds.usable()) == 1
    assert ds.notes["bad_attribute_rows"] == 3 and ds.notes["images_without_attributes"] == 0
    table, problems = read_attributes(tmp_path / "list_attr_celeba.txt")
    assert table.index.tolist() == ["000004.jpg"] and [p.line for p in problems] == [3, 4, 7]


def test_zero_is_read_as_absent(tmp_path):
    path = write_attributes(tmp_path, [f"000001.jpg {values('Male').replace('-1', '0')}"])
    table, problems = read_attributes(path)
    assert problems == [] and table.loc["000001.jpg", "Male"] == 1 and table.loc["000001.jpg"].sum() == 1


@pytest.mark.parametrize("names, found", [(" ".join(ATTRIBUTES[:-1]), "found 39 "),
                                          (" ".join([*ATTRIBUTES[:-1], "Male"]), "found 40 with Male repeated")])
def test_wrong_names_line_is_an_error(tmp_path, names, found):
    celeba_tree(tmp_path)
    write_attributes(tmp_path, [f"000001.jpg {values()}"], names=names)
    with pytest.raises(DatasetError, match=rf"list_attr_celeba.txt, line 2: expected the 40 attribute names, {found}"):
        load(tmp_path, workers=1, progress=False)


def test_missing_count_line_or_attribute_file_is_an_error(tmp_path):
    celeba_tree(tmp_path)
    path = tmp_path / "list_attr_celeba.txt"
    path.write_text(NAMES_LINE + "\n000001.jpg " + values() + "\n")
    with pytest.raises(DatasetError, match=r"list_attr_celeba.txt, line 1: expected the image count"):
        load(tmp_path, workers=1, progress=False)
    path.unlink()
    with pytest.raises(DatasetError, match=r"no list_attr_celeba.txt under .*attribute labels"):
        load(tmp_path, workers=1, progress=False)


def test_missing_partition_file_is_allowed(tmp_path):
    ds = load(celeba_tree(tmp_path, partition=False), workers=1, progress=False)
    assert ds.table["partition"].isna().all() and str(ds.table["partition"].dtype) == "Int64"
    assert ds.notes["partition_missing"] == 3 and len(ds.usable()) == 3


def test_partition_file_errors(tmp_path):
    path = tmp_path / "list_eval_partition.txt"
    path.write_text("000001.jpg 0\r\n000002.jpg 1\r\n")
    assert read_partition(path).to_dict() == {"000001.jpg": 0, "000002.jpg": 1}
    path.write_text("000001.jpg 0\n000002.jpg 3\n")
    with pytest.raises(DatasetError, match=r"list_eval_partition.txt, line 2: partition '3' for 000002.jpg"):
        read_partition(path)
    path.write_text("000001.jpg 0\n000001.jpg 0\n")
    with pytest.raises(DatasetError, match=r"line 2: 000001.jpg is listed a second time"):
        read_partition(path)
    path.write_text("000001.jpg 0\n000002.jpg 1 1\n")
    with pytest.raises(DatasetError, match=r"does not parse as '<file> <0\|1\|2>' lines"):
        read_partition(path)


def test_corrupt_jpeg_is_skipped_not_a_crash(tmp_path):
    celeba_tree(tmp_path)
    good = (tmp_path / "img_align_celeba" / "000002.jpg").read_bytes()
    (tmp_path / "img_align_celeba" / "000002.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "img_align_celeba" / "000003.jpg").write_bytes(b"")
    ds = load(tmp_path, workers=1, progress=False)
    t = rows(ds)
    assert t["status"].tolist() == ["ok", "skipped", "skipped"]
    assert t.loc["img_align_celeba/000002.jpg", "reason"] != "" and t.loc["img_align_celeba/000003.jpg", "reason"]
    assert t.loc["img_align_celeba/000002.jpg", "Eyeglasses"] == 1  # the labels stay; the pixels are unusable


def test_no_image_folder_is_an_error(tmp_path):
    write_attributes(tmp_path, [f"000001.jpg {values()}"])
    with pytest.raises(DatasetError, match=r"no CelebA image folder under .*img_align_celeba/ or celebA/"):
        load(tmp_path, workers=1, progress=False)
    (tmp_path / "celebA").mkdir()
    (tmp_path / "celebA" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"no image files \(.jpg, .jpeg, .png\) in .*celebA"):
        load(tmp_path, workers=1, progress=False)
    (tmp_path / "img_align_celeba").mkdir()
    with pytest.raises(DatasetError, match=r"more than one CelebA image folder .* \(img_align_celeba/, celebA/\)"):
        image_folder(tmp_path)


def test_registry_route(tmp_path):
    celeba_tree(tmp_path / "celeba")
    ds = load_dataset("celeba", data_root=tmp_path, progress=False)
    assert ds.name == "celeba" and ds.root == tmp_path / "celeba" and len(ds.usable()) == 3
    assert "Deep Learning Face Attributes in the Wild" in ds.card
    with pytest.raises(DatasetError, match="celeba"):
        load_dataset("celeba", data_root=tmp_path / "celeba", progress=False)  # no celeba/ below it


@pytest.fixture
def celeba_root() -> Path:
    root = Path(os.environ.get("ARTIFACTUAL_DATA", "")) / "celeba"
    if not os.environ.get("ARTIFACTUAL_DATA") or not root.is_dir():
        pytest.skip("real data absent: set ARTIFACTUAL_DATA to a folder holding celeba/")
    return root


@pytest.mark.realdata
def test_real_copy(celeba_root):
    ds = load_dataset("celeba", data_root=celeba_root.parent, progress=False)
    t = ds.table
    assert len(t) == 10_000 and len(ds.usable()) == 10_000
    assert t["path"].iloc[0] == "celebA/000001.jpg" and t["path"].iloc[-1] == "celebA/010000.jpg"
    assert ds.label_columns == ATTRIBUTES and len(ATTRIBUTES) == 40
    assert set(np.unique(t[ATTRIBUTES].to_numpy(dtype=int))) == {0, 1}
    assert (t["partition"] == 0).all()
    assert (t["width"] == 89).all() and (t["height"] == 109).all() and (t["mode"] == "RGB").all()
    assert ds.notes == {"attributes_without_image": 10_000, "images_without_attributes": 0, "bad_attribute_rows": 0,
                        "partition_missing": 0, "not_an_image": 0}
    assert t[["Male", "Young", "Eyeglasses"]].sum().tolist() == [4217, 7771, 674]
