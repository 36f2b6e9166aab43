"""dose_response.inject returns where the face is after the artifact: padding moves it, nothing else does."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from artifactual.analyses.checks.dose_response import STRENGTHS, inject

SQUARE = (40, 200, 120)  # the "face" colour, unlike the background and the white border


def _picture(h: int = 100, w: int = 120, box: tuple[int, int, int, int] = (50, 20, 40, 40)) -> np.ndarray:
    img = np.full((h, w, 3), 90, np.uint8)
    x, y, bw, bh = box
    img[y:y + bh, x:x + bw] = SQUARE
    return img


def _mean_in(px: np.ndarray, box) -> np.ndarray:
    x, y, w, h = (int(v) for v in box)
    return px[y:y + h, x:x + w].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("s", [0.02, 0.05, 0.1, 0.15, 0.25])
def test_padding_moves_the_box_with_the_square(s):
    box = (50, 20, 40, 40)
    img = _picture(box=box)
    out, moved = inject(img, "padding", s, np.array(box))
    assert out.shape == img.shape
    assert all(isinstance(v, int) for v in moved) and moved[2] >= 2 and moved[3] >= 2
    # the returned box still frames the square: its pixels have the square's colour (edges resampled)
    assert np.abs(_mean_in(out, moved) - SQUARE).max() < 12, (moved, _mean_in(out, moved))
    # and it is the square itself, not a part of it: it covers the square's area within rounding
    is_square = np.all(np.abs(out.astype(int) - SQUARE) < 30, axis=2)
    x, y, w, h = moved
    assert abs(is_square.sum() - w * h) <= 2 * (w + h)
    if s >= 0.05:  # the old box no longer frames it: it takes in background
        assert np.abs(_mean_in(out, box) - SQUARE).max() > 20


def test_padding_box_follows_the_rule():
    # p = round(0.1 * 120) = 12; inner picture (96, 76) at offset 12
    _, moved = inject(_picture(), "padding", 0.1, (50, 20, 40, 40))
    assert moved == (12 + round(50 * 96 / 120), 12 + round(20 * 76 / 100), round(40 * 96 / 120), round(40 * 76 / 100))
    # a tiny box keeps a width and height of at least 2
    assert inject(_picture(), "padding", 0.25, (10, 10, 1, 1))[1][2:] == (2, 2)


@pytest.mark.parametrize("artifact", [a for a in STRENGTHS if a != "padding"])
def test_other_artifacts_leave_the_box_unchanged(artifact):
    box = np.array([50, 20, 40, 40])
    for s in STRENGTHS[artifact]:
        out, same = inject(_picture(), artifact, s, box)
        assert out.shape == (100, 120, 3) and out.dtype == np.uint8
        assert same is box


def test_padding_of_nothing_changes_nothing():
    img, box = _picture(), (50, 20, 40, 40)
    out, same = inject(img, "padding", 0.0, box)
    assert out is img and same is box


def test_unknown_artifact():
    with pytest.raises(KeyError, match="unknown artifact"):
        inject(_picture(), "sepia", 1.0, (0, 0, 10, 10))


def test_background_is_expected_to_show_when_the_face_box_is_the_whole_frame():
    from artifactual.analyses.audit_data import AuditData
    from artifactual.analyses.checks.dose_response import expected_to_show

    rng = np.random.default_rng(0)
    d = AuditData.from_arrays(rng.integers(0, 255, (4, 16, 16, 3)).astype(np.uint8), np.array([0, 1, 0, 1]),
                              np.array(["a"] * 4))
    assert d.preprocess.detect_face is False
    # the pipeline's ellipse is inscribed in the whole frame, wider than the 0.9 ellipse the injection spares
    assert expected_to_show("background", d) is True
    d.preprocess = replace(d.preprocess, detect_face=True)
    assert expected_to_show("background", d) is False
