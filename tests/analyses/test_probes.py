"""Known answers for every non-facial property in analyses/probes.py, on images made here or shipped with
scikit-image (astronaut: colour photo; camera: grey photo)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from artifactual.analyses.probes import (
    PROPERTY_NAMES, background_brightness, blockiness, border_fraction, colourfulness, estimate_jpeg_quality,
    image_properties, property_table,
)


def jpeg_bytes(pixels: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def decode(encoded: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(encoded)))


@pytest.fixture(scope="module")
def camera() -> np.ndarray:
    return data.camera()  # (512, 512) uint8


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()  # (512, 512, 3) uint8


def test_property_names_are_the_agreed_columns():
    assert PROPERTY_NAMES == (
        "luminance_mean", "luminance_std", "colourfulness", "is_greyscale", "sharpness_laplacian_var",
        "noise_sigma", "jpeg_quality", "blockiness", "border_fraction", "background_brightness",
        "width", "height", "aspect_ratio",
    )


@pytest.mark.parametrize("shape", [(24, 40), (24, 40, 3)])
def test_flat_grey_image(shape):
    p = image_properties(np.full(shape, 128, np.uint8))
    assert list(p) == list(PROPERTY_NAMES)
    assert p["luminance_mean"] == pytest.approx(128) and p["luminance_std"] == 0
    assert p["colourfulness"] == 0 and p["is_greyscale"] == 1.0
    assert p["sharpness_laplacian_var"] == 0 and p["noise_sigma"] == pytest.approx(0)
    assert p["border_fraction"] == 1.0  # a flat image is nothing but padding
    assert p["background_brightness"] == pytest.approx(128)
    assert math.isnan(p["jpeg_quality"])
    assert (p["width"], p["height"], p["aspect_ratio"]) == (40.0, 24.0, 40 / 24)


def test_luminance_uses_itu_601_weights():
    p = image_properties(np.full((8, 8, 3), (255, 0, 0), np.uint8))
    assert p["luminance_mean"] == pytest.approx(0.299 * 255, abs=0.6)
    assert p["luminance_std"] == 0


def test_colour_photo_is_not_grey_and_is_colourful(astronaut):
    p = image_properties(astronaut)
    assert p["is_greyscale"] == 0.0
    assert p["colourfulness"] > 15  # "slightly colourful" or more on Hasler & Süsstrunk's scale
    grey3 = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert image_properties(grey3)["is_greyscale"] == 1.0
    assert colourfulness(grey3) == 0


def test_greyscale_tolerates_two_levels_and_one_percent():
    grey3 = np.full((100, 100, 3), 100, np.uint8)
    grey3[..., 0] += 2  # within 2 grey levels everywhere: still grey
    assert image_properties(grey3)["is_greyscale"] == 1.0
    tinted = grey3.copy()
    tinted[:2, :, 2] = 200  # 2% of pixels clearly coloured
    assert image_properties(tinted)["is_greyscale"] == 0.0
    tinted[1, :, 2] = 100  # back to 1%: allowed
    assert image_properties(tinted)["is_greyscale"] == 1.0


def test_colourfulness_known_answer():
    # Half pure red, half pure green: rg is +255 / -255 (mean 0, std 255), yb is 127.5 everywhere.
    px = np.zeros((10, 10, 3), np.uint8)
    px[:5, :, 0] = 255
    px[5:, :, 1] = 255
    assert colourfulness(px) == pytest.approx(255 + 0.3 * 127.5)


def test_noise_sigma_recovers_added_gaussian_noise(camera):
    rng = np.random.default_rng(0)
    flat = np.clip(np.rint(128 + rng.normal(0, 10, (256, 256))), 0, 255).astype(np.uint8)
    assert image_properties(flat)["noise_sigma"] == pytest.approx(10, rel=0.1)
    clean = image_properties(camera)["noise_sigma"]
    noisy = np.clip(np.rint(camera + rng.normal(0, 10, camera.shape)), 0, 255).astype(np.uint8)
    assert clean < 3
    assert image_properties(noisy)["noise_sigma"] == pytest.approx(10, rel=0.2)


def test_blur_lowers_sharpness(camera):
    sharp = image_properties(camera)["sharpness_laplacian_var"]
    blurred = image_properties(cv2.GaussianBlur(camera, (0, 0), 2))["sharpness_laplacian_var"]
    assert sharp > 5 * blurred > 0
    assert sharp == pytest.approx(cv2.Laplacian(camera, cv2.CV_64F).var())


@pytest.mark.parametrize("quality", [30, 50, 75, 95])
def test_jpeg_quality_is_recovered(astronaut, quality):
    assert estimate_jpeg_quality(jpeg_bytes(astronaut, quality)) == quality
    p = image_properties(astronaut, encoded=jpeg_bytes(astronaut[..., 0], quality))
    assert p["jpeg_quality"] == quality


def test_jpeg_quality_is_nan_for_other_formats(camera):
    buf = io.BytesIO()
    Image.fromarray(camera).save(buf, "PNG")
    assert math.isnan(estimate_jpeg_quality(buf.getvalue()))
    assert math.isnan(estimate_jpeg_quality(b"\xff\xd8 truncated"))
    assert math.isnan(image_properties(camera, encoded=buf.getvalue())["jpeg_quality"])


def test_heavy_jpeg_compression_is_blocky(camera):
    q5 = blockiness(decode(jpeg_bytes(camera, 5)))
    q95 = blockiness(decode(jpeg_bytes(camera, 95)))
    assert q5 > 1.5 and q95 < 1.15
    assert blockiness(camera) == pytest.approx(1, abs=0.15)  # never block-coded
    # Shifting the decoded image off the 8x8 grid hides the blocks from the measure.
    assert blockiness(decode(jpeg_bytes(camera, 5))[3:, 3:]) < q5 - 0.3


def test_blockiness_known_answers():
    ramp = np.add.outer(np.arange(32), np.arange(32)).astype(np.uint8)  # every neighbour differs by 1
    assert blockiness(ramp) == 1.0
    across = np.kron(np.arange(4), np.ones((32, 8))).astype(np.uint8) * 10  # a step of 10 at columns 8, 16, 24
    # Boundary differences: 11 across the 3 column edges, 1 across the 3 row edges (equal counts); elsewhere 1.
    assert blockiness(ramp + across) == pytest.approx(6.0)
    assert blockiness((ramp + across)[:, 1:]) == pytest.approx(1.0, abs=0.5)  # grid moved: steps are off-boundary


def test_blockiness_nan_when_undefined():
    assert math.isnan(blockiness(np.zeros((8, 8), np.uint8)))  # no block boundary inside
    assert math.isnan(blockiness(np.full((32, 32), 7, np.uint8)))  # no gradient anywhere


def test_border_fraction_side_bars(camera):
    content = camera[::8, ::16]  # (64, 32), natural content with no flat rows or columns
    assert border_fraction(np.pad(content, ((0, 0), (16, 16)))) == 0.5
    assert border_fraction(content) == 0.0
    # Bars of different colours on different sides, within tol of noise, in colour.
    rgb = np.repeat(content[..., None], 3, axis=2)
    framed = np.pad(rgb, ((8, 8), (0, 0), (0, 0)), constant_values=255)
    framed = np.pad(framed, ((0, 0), (4, 4), (0, 0)), constant_values=0)
    framed[0, 0] = 1  # within tol=2 of black
    assert framed.shape == (80, 40, 3)
    assert border_fraction(framed) == pytest.approx(1 - 64 * 32 / (80 * 40))
    framed[0, 0] = 10  # now outside tol: the black column no longer reads as padding, but rows beneath do
    assert border_fraction(framed, tol=2) < border_fraction(framed, tol=10)


def test_background_brightness_outside_a_dark_face_on_white(astronaut):
    px = np.full((120, 100, 3), 255, np.uint8)
    box = (20, 30, 50, 60)
    cv2.ellipse(px, (45, 60), (25, 30), 0, 0, 360, (30, 30, 30), thickness=-1)
    assert background_brightness(px, box) == pytest.approx(255, abs=1)
    assert image_properties(px, face_box=box)["background_brightness"] == pytest.approx(255, abs=1)
    # Without a box the whole-image ellipse covers white too, but only white corners lie outside it.
    assert background_brightness(px) == pytest.approx(255, abs=1)
    # A box elsewhere puts the dark face outside: the background gets darker.
    assert background_brightness(px, (0, 0, 20, 20)) < 240


def test_background_brightness_known_mean_and_nan():
    px = np.zeros((41, 41), np.uint8)
    px[:, 20:] = 200  # the corners outside the inscribed ellipse are half dark, half bright
    assert background_brightness(px) == pytest.approx(100)
    assert math.isnan(background_brightness(np.zeros((1, 1), np.uint8)))  # the ellipse covers everything


def test_property_table_shape_columns_and_types(camera, astronaut):
    images = [camera, astronaut, np.zeros((10, 30), np.uint8)]
    table = property_table(images)
    assert table.shape == (3, len(PROPERTY_NAMES))
    assert list(table.columns) == list(PROPERTY_NAMES)
    assert all(table.dtypes == np.float64)
    assert table["is_greyscale"].tolist() == [1.0, 0.0, 1.0]
    assert table["aspect_ratio"].tolist() == [1.0, 1.0, 3.0]
    assert table["jpeg_quality"].isna().all()
    encoded = [jpeg_bytes(camera, 40), None, b"not an image"]
    boxes = [None, (100, 100, 200, 250), None]
    filled = property_table(images, encoded=encoded, boxes=boxes)
    assert filled["jpeg_quality"].iloc[0] == 40 and filled["jpeg_quality"].iloc[1:].isna().all()
    assert filled.loc[1, "background_brightness"] != table.loc[1, "background_brightness"]
    assert filled.loc[0, "background_brightness"] == table.loc[0, "background_brightness"]


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="uint8"):
        image_properties(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="uint8"):
        image_properties(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match="2 images but 1 encoded"):
        property_table([np.zeros((8, 8), np.uint8)] * 2, encoded=[None])
