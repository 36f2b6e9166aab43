"""Seed 000 §4.1 pipeline: each step, its switches, drops counted per source, and the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from skimage.data import astronaut

from artifactual.replication.config import override
from artifactual.replication.data import load_dataset
from artifactual.replication.data import dataset as dataset_mod
from artifactual.replication.preprocess import (Goel2022Preprocess, apply, detect_largest_face, detection_rates,
                                                 ellipse_mask, preprocess_dataset, resize_with_padding)
from helpers import write_jpeg


def test_haar_finds_the_astronaut_face_and_crops_it():
    img = astronaut()  # 512x512 RGB photograph with one frontal face, shipped with scikit-image
    cfg = Goel2022Preprocess(size=64)
    box, n = detect_largest_face(img.mean(axis=2).astype(np.uint8), cfg)
    assert box is not None and n >= 1
    x, y, w, h = box
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200  # the face, upper middle of the picture
    out, info = apply(img, cfg)
    assert out.shape == (64, 64) and out.dtype == np.uint8 and info["face_found"]
    assert out[0, 0] == 0 and out[0, -1] == 0 and out[32, 32] > 0  # ellipse corners black, face kept


def test_blank_image_has_no_face_and_is_dropped():
    out, info = apply(np.full((120, 120, 3), 128, np.uint8), Goel2022Preprocess(size=32))
    assert out is None and info["face_found"] is False


@pytest.mark.parametrize("switch, shape, on, off", [
    ("greyscale", (40, 20, 3), lambda o: o.shape == (32, 32), lambda o: o.shape == (32, 32, 3)),
    ("ellipse_mask", (40, 40, 3), lambda o: o[0, 0] == 0, lambda o: o[0, 0] == 200),
    ("pad_to_square", (40, 20, 3), lambda o: o[16, 0] == 0, lambda o: o.shape == (32, 32) and o[16, 0] == 200),
])
def test_each_step_can_be_switched_off(switch, shape, on, off):
    img = np.full(shape, 200, np.uint8)
    cfg = Goel2022Preprocess(detect_face=False, size=32, pad_value=0, mask_value=0)
    assert on(apply(img, cfg)[0])
    assert off(apply(img, override(cfg, {switch: False}))[0])


def test_resize_with_padding_keeps_aspect_ratio():
    img = np.full((40, 20), 255, np.uint8)
    out = resize_with_padding(img, 16, pad_value=7)
    assert out.shape == (16, 16)
    assert (out[:, :4] == 7).all() and (out[:, -4:] == 7).all() and (out[:, 4:12] == 255).all()


def test_ellipse_mask_keeps_centre_only():
    out = ellipse_mask(np.full((20, 30), 100, np.uint8), value=0)
    assert out[10, 15] == 100 and out[0, 0] == 0 and out[19, 29] == 0


def test_config_overrides_are_checked():
    with pytest.raises(KeyError, match="unknown config key 'szie'"):
        override(Goel2022Preprocess(), {"szie": 64})
    with pytest.raises(TypeError, match="expected an integer"):
        override(Goel2022Preprocess(), {"size": "big"})
    with pytest.raises(ValueError, match="detect_upscale must be >= 1"):
        Goel2022Preprocess(detect_upscale=0.5)


def test_detection_rates_by_source_and_cache(tmp_path, monkeypatch):
    (tmp_path / "imgs").mkdir()
    from PIL import Image

    Image.fromarray(astronaut()).save(tmp_path / "imgs" / "face.png")
    for i in range(3):
        write_jpeg(tmp_path / "imgs" / f"flat{i}.jpg", np.full((100, 100, 3), 60 * i, np.uint8))
    (tmp_path / "imgs" / "broken.jpg").write_bytes(b"junk")
    pd.DataFrame({"path": ["imgs/face.png", "imgs/flat0.jpg", "imgs/flat1.jpg", "imgs/flat2.jpg", "imgs/broken.jpg"],
                  "label": [1, 1, 0, 0, 0], "source": ["photo", "photo", "lab", "lab", "lab"]}
                 ).to_csv(tmp_path / "m.csv", index=False)
    ds = load_dataset("manifest", manifest=tmp_path / "m.csv", progress=False)
    cfg = Goel2022Preprocess(size=32)
    pp = preprocess_dataset(ds, cfg, workers=1, progress=False)
    assert not pp.from_cache and pp.arrays.shape == (1, 32, 32)
    assert pp.table["pp_status"].tolist() == ["ok", "no_face", "no_face", "no_face", "skipped"]
    rates = {r["source"]: r for r in detection_rates(pp.table)}
    assert (rates["photo"]["n"], rates["photo"]["n_face"]) == (2, 1)
    assert (rates["lab"]["n"], rates["lab"]["n_face"]) == (2, 0)  # the corrupt file was never tried
    assert rates["photo"]["ci_low"] < 0.5 < rates["photo"]["ci_high"]

    # second run: served from the cache, nothing decoded
    def no_decoding(*a, **k):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(dataset_mod, "decode_file", no_decoding)
    again = preprocess_dataset(ds, cfg, workers=1, progress=False)
    assert again.from_cache and np.array_equal(np.asarray(again.arrays), pp.arrays)
    with pytest.raises(AssertionError, match="decoded although cached"):
        preprocess_dataset(ds, override(cfg, {"size": 24}), workers=1, progress=False)  # new key: decodes


def test_cache_key_changes_with_config(tmp_path):
    ds = load_dataset("lfw_subset", progress=False).subset(np.arange(70))
    a = preprocess_dataset(ds, Goel2022Preprocess(detect_face=False, size=16), workers=2, progress=False)
    b = preprocess_dataset(ds, Goel2022Preprocess(detect_face=False, size=20), workers=2, progress=False)
    assert a.arrays.shape == (70, 16, 16) and b.arrays.shape == (70, 20, 20) and not b.from_cache


def test_parallel_and_serial_give_identical_arrays():
    ds = load_dataset("lfw_subset", progress=False)
    cfg = Goel2022Preprocess(detect_upscale=4.0, size=24)
    serial = preprocess_dataset(ds, cfg, workers=1, progress=False, cache=False)
    parallel = preprocess_dataset(ds, cfg, workers=2, progress=False, cache=False)
    assert np.array_equal(serial.arrays, parallel.arrays)
    assert serial.table["pp_status"].tolist() == parallel.table["pp_status"].tolist()
    faces = {r["face"]: r for r in detection_rates(serial.table, "face")}
    # Haar on 4x-enlarged 25x25 patches finds most faces and (almost) no non-face patch
    assert faces["1"]["rate"] > 0.7 and faces["0"]["rate"] < 0.1


def test_damaged_cache_is_rebuilt_not_trusted():
    from artifactual.replication.config import stable_hash, to_dict
    from artifactual.replication.data.dataset import cache_root

    ds = load_dataset("lfw_subset", progress=False).subset(np.arange(10))
    cfg = Goel2022Preprocess(detect_face=False, size=12)
    first = preprocess_dataset(ds, cfg, workers=1, progress=False)
    folder = cache_root() / "preprocessed" / ds.manifest_hash / stable_hash(to_dict(cfg))
    (folder / "arrays.npy").write_bytes(b"not an array")
    from artifactual.replication.cache import CacheWarning

    with pytest.warns(CacheWarning, match="arrays.npy"):
        again = preprocess_dataset(ds, cfg, workers=1, progress=False)
    assert not again.from_cache and np.array_equal(again.arrays, first.arrays)


def _largest_boxes(images, fraction):
    cfg = Goel2022Preprocess(min_face_fraction=fraction)
    return [detect_largest_face(im, cfg)[0] for im in images]


def test_min_face_fraction_skips_small_windows_only():
    from skimage import data
    images = [astronaut().mean(axis=2).astype(np.uint8), data.camera(), data.coffee().mean(axis=2).astype(np.uint8)]
    base = _largest_boxes(images, 0.0)
    assert Goel2022Preprocess().min_face_fraction == 0  # OpenCV's default unless a design asks
    assert base[0] is not None and _largest_boxes(images, 0.1) == base  # the face is 18% of the frame
    assert _largest_boxes(images, 0.2)[0] != base[0]  # which is why 0.2 is only for face crops
    with pytest.raises(ValueError, match="min_face_fraction"):
        Goel2022Preprocess(min_face_fraction=1.0)


def test_min_face_fraction_keeps_the_same_rectangles_on_real_faces(real_data_root):
    import cv2
    rng = np.random.default_rng(0)
    files = []
    for pattern in ("lfw/lfw-deepfunneled/*/*.jpg", "utkface/**/*.jpg", "orl/**/*.pgm"):
        found = sorted(real_data_root.glob(pattern))
        files += [found[i] for i in rng.choice(len(found), size=min(20, len(found)), replace=False)]
    images = [cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files]
    base, fast = _largest_boxes(images, 0.0), _largest_boxes(images, 0.2)
    assert sum(a == b for a, b in zip(base, fast)) >= len(images) - 1, list(zip(files, base, fast))
