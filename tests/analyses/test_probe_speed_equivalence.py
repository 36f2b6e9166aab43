"""The fast paths of analyses/probes.py (issue 20, target 1) against straightforward references.

Each reference is the code the property had before (NumPy float arithmetic, skimage's
``estimate_sigma``): the fast path must give the same float, or, for the three stds/variances now
taken from exact integer sums, agree to a few units in the last place. Checked on images made here
(noise, padding bars, odd sizes, grey, JPEG) and, with ARTIFACTUAL_DATA set, on real LFW and UTKFace photos.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.restoration import estimate_sigma

from artifactual.analyses import probes
from artifactual.replication.data.images import decode_bytes, decode_file

#: Rounding only: NumPy's two-pass std rounds each deviation, the exact integer variance once.
REL = 1e-14


def ref_noise(grey):
    if min(grey.shape) < probes.MIN_NOISE_SIDE:
        return math.nan
    if grey.min() == grey.max():
        return 0.0
    return float(estimate_sigma(grey / 255.0)) * 255.0


def ref_colourfulness(rgb):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ref_is_grey(rgb):
    c = rgb.astype(np.int16)
    spread = np.max(c, axis=2) - np.min(c, axis=2)
    return bool(np.mean(spread <= probes.GREY_TOLERANCE) >= probes.GREY_MIN_FRACTION)


def ref_border(pixels, tol=2):
    px = pixels.astype(np.int16)
    px = px[..., None] if px.ndim == 2 else px
    h, w = px.shape[:2]
    colour = {"top": np.median(px[0], axis=0), "bottom": np.median(px[-1], axis=0),
              "left": np.median(px[:, 0], axis=0), "right": np.median(px[:, -1], axis=0)}
    top, bottom, left, right = 0, h, 0, w

    def flat(line, side):
        return bool(np.all(np.abs(line - colour[side]) <= tol))

    peeled = True
    while peeled and top < bottom and left < right:
        peeled = False
        if flat(px[top, left:right], "top"):
            top, peeled = top + 1, True
        if top < bottom and flat(px[bottom - 1, left:right], "bottom"):
            bottom, peeled = bottom - 1, True
        if top < bottom and flat(px[top:bottom, left], "left"):
            left, peeled = left + 1, True
        if top < bottom and left < right and flat(px[top:bottom, right - 1], "right"):
            right, peeled = right - 1, True
    return float(1.0 - max(0, bottom - top) * max(0, right - left) / (h * w))


def assert_equivalent(pixels: np.ndarray) -> None:
    grey = probes.to_grey(pixels)
    p = probes.image_properties(pixels)
    assert p["luminance_mean"] == grey.mean()
    assert p["luminance_std"] == pytest.approx(grey.std(), rel=REL, abs=1e-12)
    lap = cv2.Laplacian(grey, cv2.CV_64F).var()
    assert p["sharpness_laplacian_var"] == pytest.approx(lap, rel=REL, abs=1e-12)
    noise = ref_noise(grey)
    assert p["noise_sigma"] == pytest.approx(noise, rel=REL, abs=1e-12, nan_ok=True)
    block = probes.blockiness(grey.astype(np.float64))  # float input: the former gather-and-mean path
    assert p["blockiness"] == block or (math.isnan(p["blockiness"]) and math.isnan(block))
    assert p["border_fraction"] == ref_border(pixels)
    if pixels.ndim == 3:
        assert p["colourfulness"] == pytest.approx(ref_colourfulness(pixels), rel=REL, abs=1e-12)
        assert p["is_greyscale"] == float(ref_is_grey(pixels))


def made_images() -> list[np.ndarray]:
    rng = np.random.default_rng(20)
    noisy = rng.integers(0, 256, (61, 47, 3), dtype=np.uint8)
    smooth = cv2.GaussianBlur(noisy, (7, 7), 2)
    barred = np.pad(smooth, ((5, 9), (3, 0), (0, 0)), constant_values=7)
    barred[:, -4:] = (250, 10, 120)  # a coloured bar on the right only
    near_grey = np.repeat(rng.integers(0, 256, (40, 40, 1), dtype=np.uint8), 3, axis=2)
    near_grey[..., 1] = np.clip(near_grey[..., 1].astype(int) + rng.integers(-3, 4, (40, 40)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(smooth).save(buf, "JPEG", quality=30)
    jpeg = decode_bytes(buf.getvalue(), "made.jpg").pixels
    return [noisy, smooth, barred, near_grey, jpeg, noisy[..., 0], np.pad(noisy[..., 1], 4, constant_values=255),
            np.full((9, 13, 3), 200, np.uint8), noisy[:7, :30]]


@pytest.mark.parametrize("index", range(len(made_images())))
def test_fast_paths_match_references_on_made_images(index):
    assert_equivalent(made_images()[index])


@pytest.mark.parametrize("shape", [(8, 8), (9, 13), (31, 8), (250, 250), (200, 301)])
def test_noise_sigma_is_estimate_sigma(shape):
    grey = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    assert probes._noise_sigma(grey) == pytest.approx(ref_noise(grey), rel=REL)


def test_integer_moments_are_exact():
    v = np.array([[0, 255, 255], [1, 2, 3]], np.uint8)
    mean, var = probes._integer_moments(v)
    assert mean == v.mean() and var == pytest.approx(v.var(), rel=REL)
    big = np.full((1000, 1000), -1020, np.int16)  # the largest |Laplacian| of uint8: sums stay exact
    assert probes._integer_moments(big) == (-1020.0, 0.0)


@pytest.mark.realdata
def test_fast_paths_match_references_on_real_photos(real_data_root):
    files = [f for name in ("lfw", "utkface") for f in sorted((real_data_root / name).rglob("*.jpg"))[::400]]
    assert len(files) > 20
    for f in files:
        assert_equivalent(decode_file(f).pixels)
