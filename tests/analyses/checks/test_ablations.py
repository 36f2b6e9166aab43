"""The common photographic floor (replication.capture.apply_floor) and how the audit derives it from
the data (analyses.checks.ablations.common_floor)."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data

from artifactual.analyses.checks.ablations import common_floor
from artifactual.replication.capture import CommonFloor, apply_floor


def _small(img: np.ndarray, side: int = 64) -> np.ndarray:
    return cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)


def _smooth(h: int, w: int, seed: int) -> np.ndarray:
    """A random smooth RGB image: 8 x 8 noise blown up with bicubic interpolation, stretched to 0..255."""
    x = cv2.resize(np.random.default_rng(seed).normal(size=(8, 8, 3)), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.rint((x - x.min()) / (x.max() - x.min()) * 255).astype(np.uint8)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


IMAGES = {
    "astronaut": data.astronaut(),
    "astronaut64": _small(data.astronaut()),
    "camera64": _small(data.camera()),
    "smooth64": _smooth(64, 64, 0),
    "smooth100x80": _smooth(100, 80, 1),
}


# ---------------------------------------------------------------- CommonFloor


@pytest.mark.parametrize("kwargs, message", [
    ({"side": 3}, "side must be at least 4 pixels, got 3"),
    ({"jpeg_quality": 0}, "jpeg_quality must be in 1..100, got 0"),
    ({"jpeg_quality": 101}, "jpeg_quality must be in 1..100, got 101"),
    ({"frame_fraction": 0.5}, r"frame_fraction must be in \[0, 0.5\), got 0.5"),
    ({"frame_fraction": -0.1}, r"frame_fraction must be in \[0, 0.5\), got -0.1"),
    ({"frame_level": 256}, "frame_level must be in 0..255, got 256"),
])
def test_common_floor_rejects_bad_values_naming_them(kwargs, message):
    good = {"side": 32, "jpeg_quality": 50, "frame_fraction": 0.05, "frame_level": 255}
    with pytest.raises(ValueError, match=message):
        CommonFloor(**{**good, **kwargs})


# ---------------------------------------------------------------- apply_floor


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 3), (90, 70, 3), (30, 50), (12, 10, 3)])
def test_floor_keeps_the_shape_and_gives_three_equal_channels(shape):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = apply_floor(img, CommonFloor(side=16, jpeg_quality=40, frame_fraction=0.05, frame_level=255))
    assert out.dtype == np.uint8 and out.shape == shape[:2] + (3,)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_floor_rejects_what_is_not_an_image():
    floor = CommonFloor(side=16, jpeg_quality=40, frame_fraction=0.05, frame_level=255)
    for bad in (np.zeros((8, 8), np.float32), np.zeros((8, 8, 4), np.uint8), np.zeros((0, 8), np.uint8)):
        with pytest.raises(ValueError, match="px must be"):
            apply_floor(bad, floor)


def test_floor_is_idempotent_within_the_stated_tolerance():
    """apply_floor's docstring states the tolerance measured over 1,200 cases: per case a mean absolute
    difference of at most 3 grey levels, and at most 90 levels at one pixel (45 at quality 30 or more)."""
    worst_mean = 0.0
    for (name, img), side, quality, frame in itertools.product(IMAGES.items(), (16, 32, 48), (10, 30, 75),
                                                               (0.0, 0.05, 0.1)):
        floor = CommonFloor(side=side, jpeg_quality=quality, frame_fraction=frame, frame_level=255)
        once = apply_floor(img, floor)
        twice = apply_floor(once, floor)
        diff = np.abs(once.astype(int) - twice.astype(int))
        case = f"{name} {floor}"
        assert diff.mean() <= 3.0, case
        assert diff.max() <= (45 if quality >= 30 else 90), case
        worst_mean = max(worst_mean, float(diff.mean()))
    assert worst_mean > 0  # JPEG noise is there: the check above measured something


def test_the_uncorrected_round_trip_would_not_be_idempotent():
    """Why apply_floor corrects INTER_AREA: the plain INTER_AREA/INTER_LINEAR round trip blurs again at every
    pass, by far more than the floor's tolerance."""
    img = _grey(IMAGES["astronaut64"])

    def round_trip(x):
        small = cv2.resize(x, (32, 32), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (64, 64), interpolation=cv2.INTER_LINEAR)

    once = round_trip(img)
    assert _mad(once, round_trip(once)) > 3.0


@pytest.mark.parametrize("quality", [30, 75, 95])
@pytest.mark.parametrize("level", [0, 255])
def test_frame_pixels_are_the_frame_level(quality, level):
    img = IMAGES["astronaut"]  # 512 x 512
    floor = CommonFloor(side=32, jpeg_quality=quality, frame_fraction=0.1, frame_level=level)
    out = apply_floor(img, floor)[..., 0].astype(int)
    k = round(0.1 * 512)
    frame = np.ones(out.shape, bool)
    frame[k:-k, k:-k] = False
    err = np.abs(out[frame] - level)
    assert err.mean() <= 1.0 and np.percentile(err, 99) <= 10, (err.mean(), np.percentile(err, 99))
    assert np.abs(out[~frame] - level).mean() > 30  # the picture inside is not the frame


def test_colour_and_greyscale_versions_meet_at_the_floor():
    floor = CommonFloor(side=32, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    for img in (IMAGES["astronaut"], IMAGES["astronaut64"], IMAGES["smooth100x80"]):
        grey = _grey(img)
        grey_rgb = np.repeat(grey[..., None], 3, axis=2)
        assert _mad(img, grey_rgb) > 5  # before: they differ
        out = apply_floor(img, floor)
        assert np.array_equal(out, apply_floor(grey, floor))
        assert np.array_equal(out, apply_floor(grey_rgb, floor))


@pytest.mark.parametrize("name", ["astronaut", "camera", "coffee"])
@pytest.mark.parametrize("side", [16, 32, 64])
def test_full_and_low_resolution_versions_end_up_much_closer(name, side):
    img = getattr(data, name)()
    img = img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=2)
    h, w = img.shape[:2]
    s = side / min(h, w)
    low = cv2.resize(cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA), (w, h),
                     interpolation=cv2.INTER_LINEAR)
    floor = CommonFloor(side=side, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    before = _mad(_grey(img), _grey(low))  # in grey, so the floor gets no credit for dropping colour
    after = _mad(apply_floor(img, floor), apply_floor(low, floor))
    # measured 0.21..0.36 of the difference is left (the floor keeps a little more detail than the round trip)
    assert after < 0.4 * before, (before, after)


def test_a_jpeg_and_the_original_end_up_much_closer():
    img = IMAGES["astronaut"]
    floor = CommonFloor(side=32, jpeg_quality=50, frame_fraction=0.05, frame_level=255)
    compressed = _jpeg(img, 50)
    before = _mad(_grey(img), _grey(compressed))
    after = _mad(apply_floor(img, floor), apply_floor(compressed, floor))
    assert after < 0.2 * before, (before, after)


# ---------------------------------------------------------------- common_floor


def test_common_floor_takes_the_worst_source_for_each_part():
    props = pd.DataFrame({
        # source a: 250 x 250 JPEGs of quality 90, 80, 85 (median 85); borders 0, 0, 0.1 (median 0)
        # source b: small landscape images, longer sides 40, 48, 40, 44 (median 42); two not JPEG (NaN),
        #           the others quality 60 and 70 (median 65); borders 0.19, 0.19, 0.36, 0 (median 0.19)
        "width": [250, 250, 250, 40, 48, 40, 44],
        "height": [250, 250, 250, 30, 36, 30, 33],
        "jpeg_quality": [90.0, 80.0, 85.0, np.nan, 60.0, 70.0, np.nan],
        "border_fraction": [0.0, 0.0, 0.1, 0.19, 0.19, 0.36, 0.0],
    })
    source = np.array(["a", "a", "a", "b", "b", "b", "b"])
    floor = common_floor(props, source, raw_side=64)
    # side: a -> min(64, 250) = 64, b -> min(64, 42) = 42 (its longer side is scaled UP to 64, so it has 42
    #       pixels of detail); the worst is 42
    # jpeg: min(85, 65) = 65
    # frame: max(0, 0.19) = 0.19 of the area = 1 - (1 - 2p)^2  ->  1 - 2p = 0.9  ->  p = 0.05
    assert floor == CommonFloor(side=42, jpeg_quality=65, frame_fraction=0.05, frame_level=255)


def test_common_floor_defaults_and_bounds():
    props = pd.DataFrame({
        "width": [1000, 1000, 6, 6], "height": [500, 500, 5, 5],
        "jpeg_quality": [np.nan] * 4,  # no source is JPEG -> 75
        "border_fraction": [0.0, 0.0, 0.0, 0.001],  # thinner than the minimum -> 0.02
    })
    floor = common_floor(props, np.array(["big", "big", "tiny", "tiny"]), raw_side=64)
    # tiny: 6 pixels of detail, raised to the minimum of 8
    assert floor == CommonFloor(side=8, jpeg_quality=75, frame_fraction=0.02, frame_level=255)
    # a 1000 x 500 source alone fills the 64-pixel frame's longer side with full detail: no downscaling
    only_big = common_floor(props.iloc[:2], np.array(["big", "big"]), raw_side=64)
    assert only_big.side == 64


def test_common_floor_rounds_quality_down_and_checks_its_input():
    props = pd.DataFrame({"width": [100, 100], "height": [100, 100], "jpeg_quality": [74.0, 75.0],
                          "border_fraction": [0.0, 0.0]})
    assert common_floor(props, np.array(["a", "a"]), raw_side=64).jpeg_quality == 74  # median 74.5
    with pytest.raises(ValueError, match="source has 1 entries but properties has 2 rows"):
        common_floor(props, np.array(["a"]), raw_side=64)
    with pytest.raises(ValueError, match="border_fraction"):
        common_floor(props.drop(columns="border_fraction"), np.array(["a", "a"]), raw_side=64)
