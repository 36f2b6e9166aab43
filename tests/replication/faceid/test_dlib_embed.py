"""dlib's 128-d face ResNet on scikit-image's LFW crops (faces 0-99; 100-199 are non-faces).

The subset carries no names, so same-person-versus-different-person is not testable here: we test
determinism, shape and norm, and that a flipped or slightly blurred copy of a face is closer to it
than other faces are. The real-data test checks same versus different people on LFW itself.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from sklearn.metrics.pairwise import cosine_similarity as sk_cosine, euclidean_distances

from artifactual.replication.faceid.dlib_embed import (DIM, DLIB_SAME_PERSON_DISTANCE, DlibConfig, cosine_similarity,
                                                        dlib_template, dlib_templates, euclidean_similarity,
                                                        model_dir, models)
from artifactual.replication.faceid.lbp import FaceFinder, NoFaceError

CROPS = DlibConfig(face=FaceFinder(whole_image=True))


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    return (skimage.data.lfw_subset()[:100] * 255).round().astype(np.uint8)  # the first 100 are faces


def test_model_files_are_found_and_loaded_once():
    folder = model_dir()
    assert (folder / "shape_predictor_5_face_landmarks.dat").is_file()
    assert models()[0] is models()[0] and models()[1] is models()[1]


def test_template_is_deterministic_128_float32_unit_ish(faces):
    a = dlib_template(faces[0], CROPS)
    b = dlib_template(faces[0].copy(), CROPS)
    assert a.shape == (DIM,) == (128,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert 0.8 < np.linalg.norm(a) < 2.0  # dlib's descriptors are not normalised; about 1.3-1.6
    rgb = np.repeat(faces[0][..., None], 3, axis=2)
    np.testing.assert_array_equal(dlib_template(rgb, CROPS), a)  # grey = its three equal channels


def test_flipped_and_blurred_copies_are_closer_than_other_faces(faces):
    others = [dlib_template(f, CROPS) for f in faces[50:62]]
    for j in (0, 7, 21):
        a = dlib_template(faces[j], CROPS)
        flip = dlib_template(faces[j][:, ::-1], CROPS)
        blur = dlib_template(cv2.GaussianBlur(faces[j], (0, 0), 0.6), CROPS)
        d_other = np.linalg.norm(np.stack(others) - a, axis=1)
        d_flip, d_blur = np.linalg.norm(flip - a), np.linalg.norm(blur - a)
        assert d_flip < DLIB_SAME_PERSON_DISTANCE and d_blur < DLIB_SAME_PERSON_DISTANCE
        assert d_flip < np.median(d_other) and d_blur < np.median(d_other)
        assert d_flip < d_other.min()


def test_batch_equals_one_by_one_and_reports_no_face(faces):
    blank = np.full((120, 120, 3), 128, np.uint8)
    out = dlib_templates([faces[3], blank, faces[4]], DlibConfig(face=FaceFinder(whole_image=False,
                                                                                 detect_upscale=4)),
                         workers=1, progress=False)
    assert out.found[1] == np.False_ and out.reasons[1].startswith("no face found")
    crops = dlib_templates([faces[3], faces[4]], CROPS, workers=1, progress=False)
    np.testing.assert_array_equal(crops.vectors, np.stack([dlib_template(f, CROPS) for f in faces[3:5]]))
    with pytest.raises(NoFaceError):
        dlib_template(blank, DlibConfig())


@pytest.mark.parametrize("kw", [{"min_face_side": 0}, {"padding": 2.0}, {"padding": float("nan")},
                                {"num_jitters": -1}, {"face": "whole"}])
def test_bad_config_values_are_refused(kw):
    with pytest.raises((ValueError, TypeError)):
        DlibConfig(**kw)


def test_similarities_match_scikit_learn():
    rng = np.random.default_rng(0)
    p, g = rng.normal(size=(5, 128)), rng.normal(size=(9, 128))
    g[3] = 0  # a zero template scores 0, not NaN
    np.testing.assert_allclose(cosine_similarity(p, g), sk_cosine(p, g), atol=1e-5)
    np.testing.assert_allclose(euclidean_similarity(p, g), -euclidean_distances(p, g), atol=1e-4)


@pytest.mark.realdata
def test_same_person_is_closer_than_different_people_on_lfw(real_data_root: Path):
    folders = [p for p in sorted((real_data_root / "lfw").glob("*/*"))
               if p.is_dir() and len(list(p.glob("*.jpg"))) >= 2]
    if len(folders) < 3:
        pytest.skip("LFW under ARTIFACTUAL_DATA/lfw has fewer than 3 people with 2 images")
    files = [f for p in folders[:3] for f in sorted(p.glob("*.jpg"))[:2]]
    out = dlib_templates(files, DlibConfig(), workers=1, progress=False)
    assert out.found.all()
    d = -euclidean_similarity(out.vectors, out.vectors)
    same = [d[0, 1], d[2, 3], d[4, 5]]
    assert max(same) < DLIB_SAME_PERSON_DISTANCE < min(d[0, 2], d[0, 4], d[2, 4])
