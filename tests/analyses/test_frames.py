"""Frame properties, the video-level class table and near-copy search, on made-up frames with known answers:
a grey frame has no colour, bars and timestamps are found where they are painted, intervals move whole videos,
the permutation test holds its level under the null, a noised copy is found and an unrelated scene is not."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import cv2
import imagehash
import numpy as np
import pandas as pd
import pytest
from artifactual.analyses.frames import (
    CORR_THRESHOLD,
    HASH_THRESHOLD,
    class_property_table,
    duplicate_summary,
    frame_properties,
    hamming,
    near_duplicates,
    phash_bits,
    thumbnails,
)
from PIL import Image
from scipy import stats


def scene(seed: int, size: int = 64) -> np.ndarray:
    """A smooth made-up RGB picture (bilinear upsampling of 8x8 random colours): structure a hash can see."""
    small = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)


def noised(x: np.ndarray, sd: float, seed: int) -> np.ndarray:
    return np.clip(x + np.random.default_rng(seed).normal(0, sd, x.shape), 0, 255).astype(np.uint8)


# ---- frame properties -----------------------------------------------------------------------------

def test_greyscale_frame_has_no_colour_and_grey_input_matches_rgb():
    grey = cv2.cvtColor(scene(0), cv2.COLOR_RGB2GRAY)
    rgb_grey = np.repeat(grey[..., None], 3, -1)
    p = frame_properties(np.stack([rgb_grey, scene(0)]))
    assert p.greyscale.tolist() == [True, False]
    assert p.colourfulness[0] == pytest.approx(0.0, abs=1e-6) and p.colourfulness[1] > 10
    q = frame_properties(grey[None])  # (n, H, W) grey input
    assert q.brightness[0] == pytest.approx(p.brightness[0], abs=1e-3)
    assert q.contrast[0] == pytest.approx(p.contrast[0], abs=1e-3)
    assert bool(q.greyscale[0]) and q.colourfulness[0] == 0


def test_colourfulness_is_hasler_susstrunk():
    x = scene(1).astype(float)
    rg, yb = x[..., 0] - x[..., 1], 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert frame_properties(scene(1)[None]).colourfulness[0] == pytest.approx(expected, rel=1e-4)


def test_letterbox_is_the_bar_fraction():
    x = scene(2)
    x[:10] = 0
    x[-6:] = 3  # near-black, not exactly black
    pillar = scene(3)
    pillar[:, :8] = 0
    pillar[:, -8:] = 0
    p = frame_properties(np.stack([scene(2), x, pillar, np.zeros_like(x)]))
    assert p.letterbox.tolist() == pytest.approx([0.0, 16 / 64, 16 / 64, 1.0], abs=1 / 64)


def test_timestamp_in_the_top_band_raises_overlay():
    plain = cv2.GaussianBlur(scene(4), (5, 5), 0)
    stamped = plain.copy()
    cv2.putText(stamped, "12:04:33", (2, 7), cv2.FONT_HERSHEY_PLAIN, 0.6, (255, 255, 255), 1)
    middle = plain.copy()  # the same text in the middle of the picture is scene, not an overlay
    cv2.putText(middle, "12:04:33", (2, 36), cv2.FONT_HERSHEY_PLAIN, 0.6, (255, 255, 255), 1)
    p = frame_properties(np.stack([plain, stamped, middle]))
    assert p.overlay[1] > p.overlay[0] + 0.05
    assert p.overlay[2] < p.overlay[0]


def test_blank_frames_are_near_constant_and_have_no_edges():
    flat = np.full((64, 64, 3), 90, np.uint8)
    p = frame_properties(np.stack([flat, noised(flat, 1.0, 0), scene(5)]))
    assert p.near_constant.tolist() == [True, True, False]
    assert p.edge_density[0] == 0 and p.edge_density[2] > 0


def test_frames_must_be_uint8_stacks():
    with pytest.raises(ValueError, match="uint8 frames"):
        frame_properties(np.zeros((2, 64, 64, 3)))
    with pytest.raises(ValueError, match="uint8 frames"):
        frame_properties(np.zeros((2, 64, 64, 4), np.uint8))


# ---- the class table ------------------------------------------------------------------------------

def _table(values, classes, videos, **kw):
    return class_property_table(pd.DataFrame({"x": np.asarray(values, float)}), classes, videos, **kw)


def test_videos_sharing_a_value_give_a_zero_width_interval_and_rows_are_json():
    rows = _table([5.0] * 6 + [1, 2, 3, 4, 5, 6], ["a"] * 6 + ["b"] * 6, list("ppqqrrsstuvw"), n_boot=200)
    a = next(r for r in rows if r.get("class") == "a")
    assert a["ci_low"] == a["ci_high"] == a["mean"] == 5.0
    assert (a["n_frames"], a["n_videos"]) == (6, 3)
    json.dumps(rows)  # plain floats and ints only


def test_interval_resamples_videos_not_frames():
    # two videos of 10 frames, one all 0 and one all 1: a video bootstrap draws both-0, mixed or both-1
    rows = _table([0.0] * 10 + [1.0] * 10, ["a"] * 20, ["p"] * 10 + ["q"] * 10, n_boot=500)
    a = rows[0]
    assert a["mean"] == 0.5 and (a["ci_low"], a["ci_high"]) == (0.0, 1.0)  # frames: about 0.28 to 0.72


def test_class_with_one_video_gets_a_note_not_an_interval():
    rows = _table([1.0, 2, 3, 4, 5], ["a", "a", "b", "b", "b"], ["p", "p", "q", "r", "r"], n_boot=100)
    a = next(r for r in rows if r.get("class") == "a")
    assert a["ci_low"] is None and a["ci_high"] is None and "1 video" in a["note"]
    assert rows[-1]["p_value"] is not None


def test_a_video_in_two_classes_is_an_error():
    with pytest.raises(ValueError, match="more than one class"):
        _table([1.0, 2], ["a", "b"], ["p", "p"])


def test_permutation_p_is_uniform_under_the_null_and_small_when_classes_differ():
    rng = np.random.default_rng(0)
    videos = np.repeat(np.arange(12), 4)
    classes = np.repeat(np.arange(3), 16)
    null_p = []
    for r in range(150):  # video effects, no class effect: frames of one video are strongly alike
        x = rng.normal(size=12)[videos] + rng.normal(0, 0.3, 48)
        null_p.append(_table(x, classes, videos, n_boot=10, n_perm=200, seed=r)[-1]["p_value"])
    null_p = np.array(null_p)
    assert 0.02 <= np.mean(null_p <= 0.1) <= 0.2
    assert 0.4 <= null_p.mean() <= 0.6
    x = rng.normal(size=12)[videos] + 3 * classes + rng.normal(0, 0.3, 48)
    test = _table(x, classes, videos, n_boot=10, n_perm=500)[-1]
    assert test["p_value"] < 0.01 and test["p_holm"] == pytest.approx(test["p_value"])  # one property: Holm changes nothing


def test_statistic_is_scipys_f_of_video_means():
    rng = np.random.default_rng(3)
    videos, classes = np.repeat(np.arange(9), 3), np.repeat([0, 0, 0, 1, 1, 2, 2, 2, 2], 3)
    x = rng.normal(size=27)
    means = pd.Series(x).groupby(videos).mean().to_numpy()
    expected = stats.f_oneway(means[:3], means[3:5], means[5:]).statistic
    assert _table(x, classes, videos, n_boot=10, n_perm=50)[-1]["statistic"] == pytest.approx(expected)


def test_properties_where_every_video_agrees_get_p_one():
    rows = _table([2.0] * 8, ["a"] * 4 + ["b"] * 4, list("ppqqrrss"), n_boot=10, n_perm=50)
    assert rows[-1]["p_value"] == 1.0 and rows[-1]["note"] == "every video has the same value"


# ---- near copies ----------------------------------------------------------------------------------

def test_hamming_and_correlation_match_their_libraries():
    X = np.stack([scene(s) for s in range(6)])
    bits = phash_bits(X)
    hashes = [imagehash.phash(Image.fromarray(x)) for x in X]
    assert hamming(bits, bits).tolist() == [[a - b for b in hashes] for a in hashes]
    t = thumbnails(X)
    grey = [cv2.resize(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32), (16, 16),
                       interpolation=cv2.INTER_AREA).ravel() for x in X]
    assert t @ t.T == pytest.approx(np.corrcoef(grey), abs=1e-2)  # cv2's grey is rounded to uint8


def test_a_noised_copy_is_found_and_an_unrelated_scene_is_not():
    train = np.stack([scene(s) for s in range(10)])
    test = np.stack([noised(scene(7), 3.0, 1), scene(100)])
    r = near_duplicates(train, test)
    f = r["frames"]
    assert f.phash_nearest[0] == 7 and f.correlation_nearest[0] == 7
    assert f.phash_distance[0] <= HASH_THRESHOLD and f.correlation[0] >= CORR_THRESHOLD
    assert f.phash_duplicate.tolist() == [True, False] and f.correlation_duplicate.tolist() == [True, False]
    assert (r["n_duplicate_phash"], r["fraction_duplicate_phash"]) == (1, 0.5)


def test_same_video_flag_and_videos_with_a_copy():
    train = np.stack([scene(1), scene(2), scene(3)])
    test = np.stack([noised(scene(1), 2, 0), noised(scene(2), 2, 1), scene(50)])
    r = near_duplicates(train, test, videos_train=["A", "B", "C"], videos_test=["A", "X", "Y"])
    f = r["frames"]
    assert f.phash_same_video.tolist() == [True, False, False]
    assert f.phash_duplicate.tolist() == [True, True, False]
    assert r["n_same_video_phash"] == 1 and r["n_videos_with_duplicate_phash"] == 2 and r["n_videos_test"] == 3
    assert duplicate_summary(r, videos_test=["A", "A", "Y"])["n_videos_with_duplicate_phash"] == 1
    with pytest.raises(ValueError, match="both"):
        near_duplicates(train, test, videos_train=["A", "B", "C"])


def test_blank_frames_are_left_out_on_both_sides():
    black, dark = np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 12, np.uint8)
    train = np.stack([black, scene(1)])
    test = np.stack([dark, noised(black, 1.0, 0), noised(scene(1), 2, 1)])
    r = near_duplicates(train, test)
    f = r["frames"]
    assert f.excluded.tolist() == [True, True, False]
    assert not f.phash_duplicate[:2].any() and f.phash_nearest[:2].tolist() == [-1, -1]
    assert (r["n_excluded"], r["n_compared"], r["n_duplicate_phash"], r["n_train_excluded"]) == (2, 1, 1, 1)
    assert f.phash_nearest[2] == 1  # never the blank training frame


# ---- the real frames (skips without them) ----------------------------------------------------------

def _load(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    paths = sorted(folder.glob("*/*_x264_*.png"))
    X = np.stack([cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in paths])
    return X, np.array([re.sub(r"_x264_\d+\.png$", "", p.name) for p in paths])


@pytest.mark.realdata
def test_random_frame_split_copies_scenes_across_but_the_folder_split_does_not():
    root = Path(os.environ.get("ARTIFACTUAL_DATA", "")) / "ucfcrime"
    if not os.environ.get("ARTIFACTUAL_DATA") or not root.is_dir():
        pytest.skip("real data absent: set ARTIFACTUAL_DATA to a folder holding ucfcrime/{train,test}/<Class>/")
    (X_tr, v_tr), (X_te, v_te) = _load(root / "train"), _load(root / "test")
    folders = near_duplicates(X_tr, X_te, videos_train=v_tr, videos_test=v_te)
    X, v = np.concatenate([X_tr, X_te]), np.concatenate([v_tr, v_te])
    order = np.random.default_rng(0).permutation(len(X))
    cut = int(0.7 * len(X))
    random = near_duplicates(X[order[:cut]], X[order[cut:]], videos_train=v[order[:cut]],
                             videos_test=v[order[cut:]])
    assert folders["fraction_duplicate_phash"] < 0.02  # disjoint videos: seen 0 of 1,027
    assert random["fraction_duplicate_phash"] > 0.7  # seen 0.90, every one from its own video
    assert random["n_same_video_phash"] >= 0.95 * random["n_duplicate_phash"]
