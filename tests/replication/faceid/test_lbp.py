"""Seed 001's LBP pipeline: config checks, known answers, and chi-square against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from helpers import write_jpeg
from skimage.feature import local_binary_pattern
from sklearn.metrics.pairwise import additive_chi2_kernel

from artifactual.replication.data.images import ImageError
from artifactual.replication.faceid.lbp import (FaceFinder, LbpConfig, NoFaceError, chi2_distance, chi2_similarity,
                                                 face_crop, find_face, lbp_histograms, lbp_template, lbp_templates)

WHOLE = FaceFinder(whole_image=True)


@pytest.mark.parametrize("kw, word", [
    ({"median_size": 4}, "median_size"), ({"median_size": 0}, "median_size"), ({"points": 2}, "points"),
    ({"radius": 0}, "radius"), ({"grid": 0}, "grid"), ({"size": 10, "grid": 7}, "too small"),
    ({"face": "haar"}, "FaceFinder"),
])
def test_bad_config_values_are_refused(kw, word):
    with pytest.raises((ValueError, TypeError), match=word):
        LbpConfig(**kw)


def test_bad_detector_values_are_refused():
    with pytest.raises(ValueError, match="scale_factor"):
        FaceFinder(scale_factor=1.0)
    with pytest.raises(ValueError, match="not a readable OpenCV cascade"):
        FaceFinder(cascade="no_such_cascade.xml")
    FaceFinder(whole_image=True, cascade="no_such_cascade.xml")  # no detection: the cascade is never read


def test_template_layout_each_cell_sums_to_one():
    cfg = LbpConfig(face=WHOLE)
    t = lbp_template(np.random.default_rng(0).integers(0, 256, (70, 50, 3), dtype=np.uint8), cfg)
    assert t.shape == (cfg.dim,) == (7 * 7 * 10,) and t.dtype == np.float32
    np.testing.assert_allclose(t.reshape(49, 10).sum(axis=1), 1, rtol=1e-6)
    assert LbpConfig(grid=8, points=8).dim == 8 * 8 * 10


def test_flat_image_is_all_one_uniform_code():
    """Every neighbour equals the centre: every pixel gets uniform code P (all bits set). At the image's
    edge scikit-image reads outside neighbours as 0, so only the inner cells are pure."""
    t = lbp_histograms(np.full((56, 56), 120, np.uint8), LbpConfig()).reshape(7, 7, 10)
    expected = np.zeros((5, 5, 10), np.float32)
    expected[..., 8] = 1
    np.testing.assert_array_equal(t[1:-1, 1:-1], expected)
    assert (t[..., 8] > 0.7).all()


def test_histograms_match_an_independent_count():
    rng = np.random.default_rng(3)
    face = rng.integers(0, 256, (112, 112), dtype=np.uint8)
    cfg = LbpConfig(face=WHOLE)
    t = lbp_histograms(face, cfg).reshape(7, 7, 10)
    codes = local_binary_pattern(face, 8, 1, method="uniform")
    for i, j in [(0, 0), (3, 5), (6, 6)]:
        cell = codes[16 * i:16 * (i + 1), 16 * j:16 * (j + 1)]
        ref = np.array([(cell == c).mean() for c in range(10)])
        np.testing.assert_allclose(t[i, j], ref, rtol=1e-6)


def test_chi2_matches_scikit_learn_and_does_not_depend_on_chunks():
    rng = np.random.default_rng(1)
    p, g = rng.random((7, 30)), rng.random((11, 30))
    p[0, :5] = 0
    g[2, :5] = 0  # 0/0 bins count 0
    ref = -additive_chi2_kernel(p, g)  # sklearn: -sum((x - y)^2 / (x + y))
    np.testing.assert_allclose(chi2_distance(p, g), ref, rtol=1e-10)
    np.testing.assert_allclose(chi2_distance(p, g, chunk_elements=1), ref, rtol=1e-10)
    np.testing.assert_allclose(chi2_similarity(p, g), -ref, rtol=1e-10)
    assert (chi2_distance(p, p).diagonal() == 0).all()


def test_chi2_refuses_negative_values_and_shape_mismatch():
    with pytest.raises(ValueError, match="negative"):
        chi2_distance(np.array([[-1.0, 1.0]]), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="same number of columns"):
        chi2_distance(np.ones((1, 3)), np.ones((1, 4)))


def test_binarise_gives_a_two_level_crop_and_changes_the_template():
    px = skimage.data.astronaut()
    on, off = LbpConfig(binarise=True), LbpConfig()
    crop, box = face_crop(px, on)
    assert set(np.unique(crop)) <= {0, 255} and crop.shape == (112, 112)
    assert box == face_crop(px, off)[1]  # detection runs on the greyscale, not the binary image
    assert not np.allclose(lbp_template(px, on), lbp_template(px, off))


def test_median_filter_brings_a_noisy_copy_closer_to_the_clean_face():
    rng = np.random.default_rng(0)
    clean = skimage.data.astronaut()[20:220, 130:330]  # the face region
    noisy = clean.copy()
    salt = rng.random(clean.shape[:2]) < 0.05
    noisy[salt] = rng.choice([0, 255], size=(int(salt.sum()), 1))
    dist = {}
    for m in (1, 3):
        cfg = LbpConfig(median_size=m, face=WHOLE)
        dist[m] = chi2_distance(lbp_template(noisy, cfg)[None], lbp_template(clean, cfg)[None])[0, 0]
    assert dist[3] < dist[1] / 2


def test_haar_finds_the_astronaut_and_reports_a_blank_image():
    x, y, w, h = find_face(skimage.data.astronaut(), FaceFinder())
    assert 150 < x + w / 2 < 260 and 50 < y + h / 2 < 150 and w > 60
    with pytest.raises(NoFaceError, match="no face found") as err:
        lbp_template(np.full((80, 80), 128, np.uint8), LbpConfig(), name="blank.png")
    assert isinstance(err.value, ImageError) and err.value.reason == "no face found"
    assert err.value.path == "blank.png"


def test_pixel_types():
    cfg = LbpConfig(face=WHOLE)
    u8 = np.random.default_rng(0).integers(0, 256, (30, 30), dtype=np.uint8)
    np.testing.assert_array_equal(lbp_template(u8 / 255.0, cfg), lbp_template(u8, cfg))
    with pytest.raises(ValueError, match="uint8 or floats"):
        lbp_template(u8.astype(np.int32) * 3, cfg)


def test_batch_reports_every_image_it_cannot_use(tmp_path):
    good = write_jpeg(tmp_path / "astronaut.jpg", skimage.data.astronaut())
    (tmp_path / "text.jpg").write_text("not an image")
    blank = np.full((90, 90), 128, np.uint8)
    out = lbp_templates([good, tmp_path / "text.jpg", blank, str(good)], LbpConfig(), workers=1, progress=False)
    assert out.found.tolist() == [True, False, False, True]
    assert out.vectors.shape == (2, 490) and out.rows.tolist() == [0, 3]
    assert out.reasons[0] == "" and out.reasons[2].startswith("no face found") and out.reasons[1]
    assert out.boxes[1] is None and out.boxes[0] == out.boxes[3]
    np.testing.assert_array_equal(out.vectors[0], out.vectors[1])
