"""Bad and odd image files: each is decoded correctly (conversion recorded) or refused with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from artifactual.replication.data.images import ImageError, decode_file
from helpers import make_bad_files


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return make_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name, reason", [
    ("truncated", "truncated image data"),
    ("empty", "empty file (0 bytes)"),
    ("text", "not a recognised image format"),
    ("bomb", "over PIL's decompression-bomb limit"),
])
def test_unusable_files_raise_with_file_and_reason(bad, name, reason):
    with pytest.raises(ImageError) as info:
        decode_file(bad[name])
    assert info.value.reason == reason
    assert str(bad[name]) in str(info.value)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ImageError, match="missing file") as info:
        decode_file(tmp_path / "nope.jpg")
    assert "nope.jpg" in str(info.value)


def test_good_jpeg_has_no_conversions(bad):
    d = decode_file(bad["good"])
    assert d.pixels.shape == (48, 40, 3) and d.pixels.dtype == np.uint8
    assert d.conversions == []
    assert (d.facts.format, d.facts.mode, d.facts.width, d.facts.height) == ("JPEG", "RGB", 40, 48)
    assert d.facts.bytes == bad["good"].stat().st_size and len(d.facts.sha256) == 64


def test_cmyk_jpeg_becomes_rgb(bad):
    d = decode_file(bad["cmyk"])
    assert d.facts.mode == "CMYK" and d.conversions == ["CMYK -> RGB"]
    assert d.pixels.shape == (48, 40, 3)
    # the blue channel of the test pattern is a flat 90: the round trip keeps it near 90
    assert abs(float(d.pixels[..., 2].mean()) - 90) < 12


def test_sixteen_bit_png_is_scaled_not_clipped(bad):
    d = decode_file(bad["png16"])
    assert d.pixels.dtype == np.uint8 and d.pixels.ndim == 2
    assert d.pixels[0, 0] == 255 and d.pixels[0, 11] == 128  # 65535 -> 255, 32768 -> 128 (not 255 by clipping)
    assert any("16-bit" in c for c in d.conversions)


def test_rgba_alpha_composited_on_white(bad):
    d = decode_file(bad["rgba"])
    assert d.pixels.shape == (10, 10, 3)
    assert (d.pixels[:, :5] == 255).all()  # transparent half shows the white background
    assert (d.pixels[:, 5:, 0] == 200).all() and (d.pixels[:, 5:, 1] == 0).all()
    assert d.conversions == ["RGBA -> RGB (alpha composited on white)"]


def test_palette_gif_expanded(bad):
    d = decode_file(bad["palette_gif"])
    assert d.facts.format == "GIF" and d.facts.mode == "P"
    assert d.pixels.shape == (48, 40, 3) and "palette -> RGB" in d.conversions[0]


def test_animated_gif_first_frame(bad):
    d = decode_file(bad["animated_gif"])
    assert d.facts.n_frames == 3
    assert "animated (3 frames): first frame used" in d.conversions
    assert d.pixels[..., 0].mean() > 200 and d.pixels[..., 1].mean() < 50  # the red first frame


def test_exif_rotation_applied(bad):
    d = decode_file(bad["exif"])
    assert (d.facts.width, d.facts.height) == (50, 30)  # facts describe the stored file
    assert d.pixels.shape[:2] == (50, 30)  # pixels are shown upright
    assert "EXIF orientation 6 applied" in d.conversions
