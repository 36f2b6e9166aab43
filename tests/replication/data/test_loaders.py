"""Each loader on tiny files written in the real naming schemes; the manifest's bad-input rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.replication.data import DATASETS, load_dataset, resolve_data_root
from artifactual.replication.data.dataset import DatasetError
from artifactual.replication.data.summary import summarize
from artifactual.replication.registry import Registry
from helpers import face_like, make_bad_files, write_jpeg


def test_registry_refuses_duplicates_and_lists_choices():
    reg = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("a")(2)
    with pytest.raises(KeyError, match="choose one of: a"):
        reg.get("b")
    assert DATASETS.names() == ["celeba", "lfw", "lfw_subset", "manifest", "orl", "ucfcrime", "utkface"]


def test_lfw_subset_is_the_embedded_default():
    ds = load_dataset("lfw_subset", progress=False)
    assert len(ds) == 200 and ds.table["face"].tolist() == [1] * 100 + [0] * 100
    img, labels, meta = ds.sample(0)
    assert img.shape == (25, 25) and img.dtype == np.uint8 and labels == {"face": 1}
    assert meta["source"] == "skimage_lfw_subset" and pd.isna(meta["identity"])


def _lfw_tree(root: Path, image_dir: str = "lfw-deepfunneled") -> Path:
    people = {"Ann_Lee": 2, "Bo_Chan": 1, "Cy_Dee": 1, "Di_Eve": 1}
    for name, k in people.items():
        (root / image_dir / name).mkdir(parents=True)
        for i in range(1, k + 1):
            write_jpeg(root / image_dir / name / f"{name}_{i:04d}.jpg")
    (root / image_dir / "Bo_Chan" / "notes.jpg").write_bytes(b"")  # breaks the naming scheme
    meta = root / "metadata"
    meta.mkdir()
    (meta / "male_names.txt").write_text("Bo_Chan_0001.jpg\nCy_Dee_0001.jpg\n\n")
    (meta / "female_names.txt").write_text("Ann_Lee_0001.jpg\nAnn_Lee_0002.jpg\nCy_Dee_0001.jpg\n")
    (meta / "lfw_with_smile_label.txt").write_text("./lfw/Ann_Lee/Ann_Lee_0001.jpg 1\n.\\lfw\\Bo_Chan\\Bo_Chan_0001.jpg 0\n")
    return root


def test_lfw_layout_identity_gender_smile(tmp_path):
    _lfw_tree(tmp_path / "lfw")
    ds = load_dataset("lfw", data_root=tmp_path, progress=False)
    t = ds.table.set_index("path")
    ok = ds.usable().table
    assert len(ok) == 5 and ok["identity"].nunique() == 4
    assert t.loc["Bo_Chan/notes.jpg", "status"] == "skipped"
    assert t.loc["Ann_Lee/Ann_Lee_0002.jpg", "gender"] == "F"
    assert pd.isna(t.loc["Cy_Dee/Cy_Dee_0001.jpg", "gender"])  # in both lists: conflict
    assert pd.isna(t.loc["Di_Eve/Di_Eve_0001.jpg", "gender"])  # in neither list: missing
    assert ds.notes["gender_conflict_na"] == 1 and ds.notes["gender_missing_na"] == 2  # Di_Eve + notes.jpg
    assert t.loc["Ann_Lee/Ann_Lee_0001.jpg", "smiling"] == 1 and t.loc["Bo_Chan/Bo_Chan_0001.jpg", "smiling"] == 0
    assert pd.isna(t.loc["Di_Eve/Di_Eve_0001.jpg", "smiling"])
    assert ds.label_columns == ["gender", "smiling"]


def test_lfw_finds_sklearn_layout(tmp_path):
    _lfw_tree(tmp_path / "lfw", image_dir="lfw_home/lfw_funneled")
    ds = load_dataset("lfw", data_root=tmp_path, progress=False)
    assert ds.root.name == "lfw_funneled" and len(ds.usable()) == 5


def test_lfw_fetch_without_network_fails_clearly(tmp_path, monkeypatch):
    import sklearn.datasets
    from urllib.error import URLError

    from artifactual.replication.data.lfw import fetch_with_sklearn

    def offline(**kw):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", offline)
    with pytest.raises(DatasetError, match="could not download LFW .* needs internet"):
        fetch_with_sklearn(tmp_path)


def test_utkface_names_and_malformed(tmp_path):
    folder = tmp_path / "utkface" / "crop_part1"
    folder.mkdir(parents=True)
    for name in ["25_1_2_20170116174525125.jpg.chip.jpg", "3_0_0_20161219140623097.jpg",
                 "61_1_20170109142408075.jpg.chip.jpg", "abc.jpg.chip.jpg"]:
        write_jpeg(folder / name)
    ds = load_dataset("utkface", data_root=tmp_path, progress=False)
    t = ds.table.set_index(ds.table["path"].map(lambda p: Path(p).name))
    assert t.loc["25_1_2_20170116174525125.jpg.chip.jpg", ["age", "gender", "race"]].tolist() == [25, 1, 2]
    assert t.loc["3_0_0_20161219140623097.jpg", "gender"] == 0
    assert t.loc["61_1_20170109142408075.jpg.chip.jpg", "age"] == 61
    assert pd.isna(t.loc["61_1_20170109142408075.jpg.chip.jpg", "gender"])
    assert pd.isna(t.loc["abc.jpg.chip.jpg", "age"])
    assert ds.notes["malformed_name"] == 2 and (ds.table["status"] == "ok").all()


def test_orl_subjects_and_ignored_folders(tmp_path):
    root = tmp_path / "orl" / "att_faces"
    for s in (1, 2):
        (root / f"s{s}").mkdir(parents=True)
        for k in (1, 2, 3):
            Image.fromarray(face_like(112, 92, colour=False)).save(root / f"s{s}" / f"{k}.pgm")
    (root / "41").mkdir()
    Image.fromarray(face_like(colour=False)).save(root / "41" / "1.pgm")
    (root / "README").write_text("ORL")
    ds = load_dataset("orl", data_root=tmp_path, progress=False)
    assert len(ds.usable()) == 6 and ds.table["identity"].nunique() == 2
    assert ds.notes["ignored_files"] == 1
    assert ds.table["mode"].unique().tolist() == ["L"]


def test_missing_data_root_says_what_to_do(monkeypatch):
    monkeypatch.delenv("ARTIFACTUAL_DATA", raising=False)
    with pytest.raises(DatasetError, match="--data-root DIR or set ARTIFACTUAL_DATA"):
        resolve_data_root(None, "lfw")
    with pytest.raises(DatasetError, match="does not exist"):
        resolve_data_root("/no/such/folder", "lfw")


def test_manifest_bad_input_all_counted(tmp_path):
    files = make_bad_files(tmp_path / "imgs")
    rows = [{"path": f"imgs/{p.name}", "label": "A" if i % 2 else "B", "source": "web"}
            for i, p in enumerate(files.values())]
    rows += [
        {"path": "imgs/good.jpg", "label": "A", "source": "web"},  # duplicate row
        {"path": "imgs/absent.jpg", "label": "A", "source": "web"},  # missing file
        {"path": "../outside.jpg", "label": "B", "source": "web"},  # escapes the CSV folder
        {"path": "imgs/cmyk.jpg", "label": "B", "source": "lonely"},  # duplicate path, other source
    ]
    write_jpeg(tmp_path.parent / "outside.jpg")
    single = tmp_path / "single"
    single.mkdir()
    write_jpeg(single / "x.jpg")
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    ds = load_dataset("manifest", manifest=tmp_path / "m.csv", progress=False)
    s = summarize(ds)
    reasons = s["skipped"]["by_reason"]
    assert reasons == {
        "truncated image data": 1, "empty file (0 bytes)": 1, "not a recognised image format": 1,
        "over PIL's decompression-bomb limit": 1, "duplicate row": 2, "missing file": 1,
        "path escapes the data root": 1,
    }
    assert s["n_rows"] == len(rows) and s["n_images"] + s["n_skipped"] == len(rows)
    conv = s["files"]["conversions"]
    for needle in ("CMYK -> RGB", "16-bit", "alpha composited", "palette -> RGB", "first frame used",
                   "EXIF orientation 6"):
        assert any(needle in k for k in conv), needle
    assert s["files"]["identical_content"] == {"groups": 0, "files": 0}


def test_single_class_and_one_image_source_warn(tmp_path):
    for i in range(3):
        write_jpeg(tmp_path / f"{i}.jpg", face_like() + i)
    pd.DataFrame({"path": ["0.jpg", "1.jpg", "2.jpg"], "label": ["x", "x", "x"],
                  "source": ["a", "a", "solo"]}).to_csv(tmp_path / "m.csv", index=False)
    s = summarize(load_dataset("manifest", manifest=tmp_path / "m.csv", progress=False))
    assert any("label 'label' has a single class (x)" in w for w in s["warnings"])
    assert any("source 'solo' has 1 usable image" in w for w in s["warnings"])


def test_manifest_without_required_columns(tmp_path):
    pd.DataFrame({"path": ["a.jpg"], "y": [1]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(DatasetError, match=r"lacks column\(s\) \['label', 'source'\]"):
        load_dataset("manifest", manifest=tmp_path / "m.csv", progress=False)


def test_manifest_saved_with_content_hash(tmp_path):
    ds = load_dataset("lfw_subset", progress=False)
    path = ds.save_manifest(tmp_path / "m.csv")
    back = pd.read_csv(path)
    assert len(back) == 200 and {"path", "source", "identity", "face", "sha256", "status"} <= set(back.columns)
    assert (tmp_path / "m.csv.sha256").read_text().split()[0] == ds.manifest_hash
    parquet = pd.read_parquet(ds.save_manifest(tmp_path / "m.parquet"))
    assert parquet["sha256"].tolist() == back["sha256"].tolist()
    other = ds.subset(np.arange(199))
    assert other.manifest_hash != ds.manifest_hash
