"""What the UCF-Crime classes differ in besides crime, and which test frames have a copy in training.

Seed 004 ("Crime Vision") reports 83% accuracy classifying crime classes from single video frames. Two
things can earn such a number without any crime being seen:

- **What the camera does** (:func:`frame_properties`, :func:`class_property_table`): brightness, colour,
  black-and-white footage, letterbox bars, on-screen timestamps, blank frames. Each video is one camera
  and lies in one class, so whatever its camera does is a class label to a classifier. Intervals and
  tests therefore move whole videos: frames of one video are not independent.
- **Near copies across the split** (:func:`near_duplicates`, :func:`duplicate_summary`): the frames are
  every 10th frame of a video, so neighbours are near copies, and a random frame split puts the same
  scene on both sides. Each test frame's closest training frame is found by perceptual hash and by
  thumbnail correlation; given videos, whether that frame is from the same video (the leak).

Frames are uint8 arrays, (n, H, W, 3) RGB or (n, H, W) grey.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import imagehash
import numpy as np
import pandas as pd
from artifactual.analyses.stats import bootstrap_weights, holm, stream
from PIL import Image
from scipy import ndimage

# ITU-R BT.601 luma, as cv2.COLOR_RGB2GRAY and PIL's "L" (so phash sees the same grey as the rest)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

# Thresholds for a near copy, read off the real frames (33 videos, 4,086 frames; blank frames left out):
# - phash Hamming distance (64 bits; always even, as both hashes have 32 ones) between frames 10 apart in
#   one video: 0 for 40%, median 2, 84.5% <= 6, 90th percentile 10; frames 300 apart: median 8.
#   Nearest frame of ANY OTHER video: never below 8 (2 frames at 8, 4 at 10, 44 at 12), median 18.
#   So <= 6 flags 84.5% of neighbouring frames and no frame of another video.
# - Pearson correlation of 16x16 grey thumbnails, frames 10 apart: median 0.999, 10th percentile 0.936;
#   best match in another video: median 0.74, 99th percentile 0.935, maximum 0.981 (two unrelated scenes
#   whose dark top bars line up). >= 0.99 flags 73% of neighbouring frames and no frame of another video;
#   0.98 would flag 3 frames of other videos. Thumbnails are coarser, so phash is the primary criterion.
HASH_THRESHOLD = 6
CORR_THRESHOLD = 0.99
THUMB = 16


@dataclass(frozen=True)
class PropertyConfig:
    """Thresholds of :func:`frame_properties`, in grey levels (0-255) unless said otherwise."""

    # mean over pixels of max(|R-G|, |G-B|): black-and-white footage in the real frames scores 0.0,
    # the least colourful colour video (a beige hallway) 6.7; 3 leaves room for chroma noise of encoding
    greyscale_tolerance: float = 3.0
    # real blank frames have grey SD 0.0-0.1 (black) and 4.3 (a faint logo fading in); the next lowest
    # are a title card (7.9) and a logo on black (10.6), which have content a hash can match
    constant_sd: float = 5.0
    bar_mean: float = 16.0  # a border row or column is a bar when darker than this on average ...
    bar_sd: float = 10.0  # ... and flat (an image row at dusk is dark but textured)
    band: float = 0.15  # top and bottom bands where timestamps and captions sit, fraction of height
    stroke: float = 40.0  # white top-hat of the brightest channel above this: a thin bright mark
    canny_low: float = 100.0  # OpenCV's tutorial pair: edges of objects, not of compression noise
    canny_high: float = 200.0


def _frames(X: np.ndarray, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.dtype != np.uint8 or X.ndim not in (3, 4) or (X.ndim == 4 and X.shape[-1] != 3):
        raise ValueError(f"{name} must be uint8 frames (n, H, W, 3) RGB or (n, H, W) grey; got {X.dtype} "
                         f"{X.shape}. Stack the frames and convert with .astype(np.uint8) after scaling to 0-255.")
    return X


def _grey(X: np.ndarray) -> np.ndarray:
    """(n, H, W) float32 grey levels of uint8 frames."""
    return X.astype(np.float32) if X.ndim == 3 else X.astype(np.float32) @ LUMA


def _leading(mask: np.ndarray) -> np.ndarray:
    """Length of the run of True at the start of each row of ``mask`` (n, L)."""
    return np.where(mask.all(1), mask.shape[1], np.argmin(mask, axis=1))


def _letterbox(grey: np.ndarray, cfg: PropertyConfig) -> np.ndarray:
    """Fraction of each frame's area covered by near-black bars at its four borders.

    Rows are counted from the top and from the bottom, columns from the left and right, until one is not
    a bar; a bar row carrying a timestamp is textured and ends the count there.
    """
    h, w = grey.shape[1:]
    rows = (grey.mean(2) < cfg.bar_mean) & (grey.std(2) < cfg.bar_sd)  # (n, H)
    cols = (grey.mean(1) < cfg.bar_mean) & (grey.std(1) < cfg.bar_sd)  # (n, W)
    top, bottom = _leading(rows), _leading(rows[:, ::-1])
    left, right = _leading(cols), _leading(cols[:, ::-1])
    inner_h = np.clip(h - top - bottom, 0, h)  # an all-black frame counts its rows from both ends
    inner_w = np.clip(w - left - right, 0, w)
    return 1.0 - inner_h * inner_w / (h * w)


def _overlay(X: np.ndarray, cfg: PropertyConfig) -> np.ndarray:
    """Share of thin bright marks in the busier of the top and bottom bands minus that in the middle.

    A mark is a pixel where the white top-hat of the brightest channel (the pixel minus a 3x3 grey
    opening) exceeds ``cfg.stroke``: strokes a pixel or two wide, as digits of a timestamp at 64x64, white
    or coloured. Bright areas wider than 3 pixels (sky, lit walls) survive the opening and do not count,
    which a plain near-white test would not manage. Dark text on a bright band is not looked for.

    Checked by eye on the real frames (one middle frame per video, enlarged; 29 videos judged, 11 with a
    visible timestamp or logo): the video medians rank those 11 above the rest at AUROC 0.81. The five
    highest include four with visible timestamps (the fifth has a bright line along its bottom edge); the
    lowest are busy scenes without any (their middle has more marks, so they score below 0). Missed: text
    just inside a letterbox bar, where the band is mostly bar.
    """
    value = X.max(-1) if X.ndim == 4 else X
    marks = ndimage.white_tophat(value.astype(np.float32), size=(1, 3, 3)) > cfg.stroke  # (n, H, W)
    b = max(1, round(cfg.band * X.shape[1]))
    top, bottom = marks[:, :b].mean((1, 2)), marks[:, -b:].mean((1, 2))
    middle = marks[:, b:-b].mean((1, 2)) if X.shape[1] > 2 * b else 0.0
    return np.maximum(top, bottom) - middle


def frame_properties(X: np.ndarray, cfg: PropertyConfig = PropertyConfig()) -> pd.DataFrame:
    """Per-frame properties of the picture itself, one row per frame.

    Parameters
    ----------
    X : uint8 array (n, H, W, 3) RGB or (n, H, W) grey.
    cfg : thresholds (see :class:`PropertyConfig`).

    Returns
    -------
    DataFrame with columns ``brightness`` (mean grey level), ``contrast`` (grey SD), ``colourfulness``
    (Hasler & Süsstrunk 2003: sqrt(sd_rg² + sd_yb²) + 0.3 sqrt(mean_rg² + mean_yb²), rg = R - G,
    yb = (R + G) / 2 - B), ``greyscale`` (channels equal within ``cfg.greyscale_tolerance``; black-and-white
    footage, and blank black frames too),
    ``near_constant`` (grey SD < ``cfg.constant_sd``: blank frames), ``letterbox`` (fraction of the area
    covered by near-black border bars), ``overlay`` (timestamp-like marks in the top or bottom band
    beyond those in the middle, see ``_overlay``) and ``edge_density`` (fraction of Canny edge pixels).

    Examples
    --------
    >>> grey = np.tile(np.linspace(40, 250, 64).astype(np.uint8), (64, 1))  # a horizontal ramp
    >>> colour = np.zeros((64, 64, 3), np.uint8); colour[..., 0] = 200  # plain red
    >>> barred = np.repeat(grey[..., None], 3, -1); barred[:8] = 0; barred[-8:] = 0
    >>> p = frame_properties(np.stack([np.repeat(grey[..., None], 3, -1), colour, barred]))
    >>> p[["greyscale", "near_constant"]].values.tolist()
    [[True, False], [False, True], [True, False]]
    >>> p.colourfulness.round(1).tolist(), p.letterbox.round(2).tolist()
    ([0.0, 67.1, 0.0], [0.0, 0.0, 0.25])
    """
    X = _frames(X)
    grey = _grey(X)
    n = len(X)
    flat = grey.reshape(n, -1)
    if X.ndim == 4:
        R, G, B = (X[..., i].astype(np.float32).reshape(n, -1) for i in range(3))
        rg, yb = R - G, 0.5 * (R + G) - B
        colourful = (np.hypot(rg.std(1), yb.std(1)) + 0.3 * np.hypot(rg.mean(1), yb.mean(1)))
        spread = np.maximum(np.abs(R - G), np.abs(G - B)).mean(1)
    else:
        colourful, spread = np.zeros(n), np.zeros(n)
    grey8 = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    edges = np.array([np.count_nonzero(cv2.Canny(g, cfg.canny_low, cfg.canny_high)) for g in grey8])
    return pd.DataFrame({
        "brightness": flat.mean(1).astype(float),
        "contrast": flat.std(1).astype(float),
        "colourfulness": np.asarray(colourful, float),
        "greyscale": spread <= cfg.greyscale_tolerance,
        "near_constant": flat.std(1) < cfg.constant_sd,
        "letterbox": _letterbox(grey, cfg),
        "overlay": _overlay(X, cfg).astype(float),
        "edge_density": edges / flat.shape[1],
    })


# ---- are the classes different pictures? ----------------------------------------------------------

def _video_table(props: pd.DataFrame, classes: np.ndarray, videos: np.ndarray) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Per-video sums of each property (bools as 0/1), frame counts and class; one class per video."""
    if not (len(props) == len(classes) == len(videos)):
        raise ValueError(f"props, classes and videos must have one entry per frame; got {len(props)}, "
                         f"{len(classes)} and {len(videos)}")
    frame = props.astype(float).assign(_video=videos, _class=classes)
    by_video = frame.groupby("_video", sort=True)
    mixed = by_video["_class"].nunique()
    if (mixed > 1).any():
        raise ValueError(f"videos {mixed[mixed > 1].index.tolist()[:5]} lie in more than one class; "
                         "each video must lie in one class (check the video ids)")
    return by_video[list(props.columns)].sum(), by_video.size(), by_video["_class"].first()


def _mean_row(prop: str, cls: str, sums: np.ndarray, sizes: np.ndarray, reps: np.ndarray | None) -> dict:
    """One class's frame-weighted mean of one property; ``reps`` are its video-bootstrap replicates."""
    row = {"row": "class_mean", "property": prop, "class": cls, "mean": float(sums.sum() / sizes.sum()),
           "ci_low": None, "ci_high": None, "n_frames": int(sizes.sum()), "n_videos": len(sizes),
           "note": None}
    if reps is None:
        row["note"] = f"{len(sizes)} video: no interval, as frames of one video are not independent"
    else:
        row["ci_low"], row["ci_high"] = (float(q) for q in np.percentile(reps, [2.5, 97.5]))
    return row


def _between_ss(codes: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    """Between-class sum of squares of video values ``x`` (V,) for each row of class codes (P, V)."""
    sums = np.stack([np.where(codes == g, x, 0.0).sum(-1) for g in range(n_groups)], -1)  # (P, G)
    sizes = np.bincount(codes[0], minlength=n_groups)  # the same in every row: permutations move labels
    return (sums**2 / sizes).sum(-1) - x.sum() ** 2 / len(x)


def _difference_row(prop: str, means: pd.Series, video_class: pd.Series, n_perm: int,
                    rng: np.random.Generator) -> dict:
    """Permutation test that the classes differ in one property, class labels moved across videos.

    Written by hand because SciPy's ``permutation_test`` refuses a class with a single video. The total
    sum of squares is the same under every permutation, so F is a monotone function of the between-class
    sum of squares, which is what the permutations compare (add-one p-value).
    """
    codes, classes = pd.factorize(video_class, sort=True)
    x, g, v = means.to_numpy(float), len(classes), len(means)
    row = {"row": "class_difference", "property": prop,
           "test": "F of video means, class labels permuted across videos", "statistic": None,
           "p_value": None, "n_videos": v, "n_classes": g, "n_perm": n_perm, "note": None}
    if g < 2:
        row["note"] = "fewer than 2 classes"
        return row
    if np.ptp(x) == 0:
        row["statistic"], row["p_value"], row["note"] = 0.0, 1.0, "every video has the same value"
        return row
    observed = _between_ss(codes[None], x, g)[0]
    within = ((x - x.mean()) ** 2).sum() - observed
    if v > g:  # F needs a video beyond one per class; with none, every permutation ties (p = 1)
        row["statistic"] = float(observed / (g - 1) / (within / (v - g))) if within > 0 else float("inf")
    perms = rng.permuted(np.tile(codes, (n_perm, 1)), axis=1)
    tol = 1e-9 * max(observed, 1e-300)  # equal partitions must tie despite rounding
    row["p_value"] = float((1 + np.sum(_between_ss(perms, x, g) >= observed - tol)) / (1 + n_perm))
    return row


def class_property_table(props: pd.DataFrame, classes, videos, n_boot: int = 2000, seed: int = 0,
                         n_perm: int = 2000) -> list[dict]:
    """Per-class means of each frame property with video-bootstrap intervals, and a test per property.

    Videos are the independent unit: the interval resamples a class's videos with replacement (its mean
    is over all frames of the drawn videos), and the test permutes class labels across videos, with the
    F statistic of the video means (each video one value). Holm's correction across properties is in
    ``p_holm``. A class with a single video gets no interval (a note says why).

    Parameters
    ----------
    props : one row per frame (as :func:`frame_properties` returns); bool columns become shares.
    classes, videos : per-frame class and video id; each video must lie in one class.
    n_boot, n_perm : bootstrap replicates and permutations.
    seed : seeds the bootstrap and permutation streams (:func:`~artifactual.analyses.stats.stream`).

    Returns
    -------
    Rows ready for JSON. ``row == "class_mean"``: property, class (and ``"all"``), mean, ci_low,
    ci_high, n_frames, n_videos, note. ``row == "class_difference"``: property, test, statistic,
    p_value, p_holm, n_videos, n_classes, n_perm, note.

    Examples
    --------
    >>> props = pd.DataFrame({"brightness": [10.0, 12, 11, 13, 50, 52, 51, 49]})
    >>> rows = class_property_table(props, ["a"] * 4 + ["b"] * 4, list("ppqqrrss"), n_boot=200, n_perm=200)
    >>> [(r["class"], r["mean"], r["n_videos"]) for r in rows if r["row"] == "class_mean"]
    [('a', 11.5, 2), ('b', 50.5, 2), ('all', 31.0, 4)]
    >>> test = rows[-1]; test["row"], round(test["p_value"], 1)  # 4 videos: the best of 3 splits
    ('class_difference', 0.3)
    """
    classes, videos = np.asarray(classes).astype(str), np.asarray(videos).astype(str)
    sums, sizes, video_class = _video_table(props, classes, videos)
    rows = []
    cells = [(c, (video_class == c).to_numpy()) for c in sorted(video_class.unique())]
    for k, (cls, keep) in enumerate([*cells, ("all", np.ones(len(sizes), bool))]):
        s, n = sums.to_numpy()[keep], sizes.to_numpy()[keep]
        reps = None
        if len(n) >= 2:  # one weight per drawn video; all properties share the same draws
            w = bootstrap_weights(len(n), n_boot, stream(seed, "bootstrap", k))
            reps = (w @ s) / (w @ n)[:, None]  # (n_boot, n_properties)
        rows += [_mean_row(p, cls, s[:, j], n, None if reps is None else reps[:, j])
                 for j, p in enumerate(props.columns)]
    means = sums.div(sizes, axis=0)
    tests = [_difference_row(p, means[p], video_class, n_perm, stream(seed, "permutations", j))
             for j, p in enumerate(props.columns)]
    for row, p in zip(tests, holm([t["p_value"] for t in tests])):
        row["p_holm"] = p
    # each property's class rows, then its test
    return [r for t in tests for r in (*(m for m in rows if m["property"] == t["property"]), t)]


# ---- near copies across a split -------------------------------------------------------------------

def phash_bits(X: np.ndarray) -> np.ndarray:
    """(n, 64) bool perceptual hashes (``imagehash.phash``: 32x32 grey, DCT, 8x8 low frequencies > median).

    >>> bits = phash_bits(np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8))
    >>> bits.shape, int(bits[0].sum())  # the median splits the 64 coefficients in half
    ((2, 64), 32)
    """
    X = _frames(X)
    return np.stack([imagehash.phash(Image.fromarray(x)).hash.ravel() for x in X]) if len(X) else np.zeros((0, 64), bool)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) Hamming distances between rows of bool arrays, as two matrix products.

    Counts up to 64 are exact in float32, and BLAS makes the 1,000 x 3,000 matrix in milliseconds
    (a Python loop over imagehash's ``-`` would take seconds).

    >>> hamming(np.array([[1, 0, 1]], bool), np.array([[1, 0, 1], [0, 1, 1]], bool)).tolist()
    [[0, 2]]
    """
    a, b = a.astype(np.float32), b.astype(np.float32)
    return np.rint(a @ (1 - b).T + (1 - a) @ b.T).astype(int)


def thumbnails(X: np.ndarray, size: int = THUMB) -> np.ndarray:
    """(n, size²) grey thumbnails (area averaging), each centred and scaled to unit length, so that one
    matrix product gives Pearson correlations; a constant thumbnail stays all zero (correlates 0)."""
    grey = _grey(_frames(X))
    t = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in grey]).reshape(len(grey), -1)
    t -= t.mean(1, keepdims=True)
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    return np.divide(t, norm, out=np.zeros_like(t), where=norm > 1e-6)


def _nearest(scores: np.ndarray, usable: np.ndarray, best: str) -> tuple[np.ndarray, np.ndarray]:
    """Best score per row over the ``usable`` columns and its column (-1 and NaN when none is usable)."""
    if not usable.any():
        return np.full(len(scores), np.nan), np.full(len(scores), -1)
    cols = np.flatnonzero(usable)
    pick = (np.argmin if best == "min" else np.argmax)(scores[:, cols], axis=1)
    return scores[np.arange(len(scores)), cols[pick]].astype(float), cols[pick]


def near_duplicates(X_train: np.ndarray, X_test: np.ndarray, *, hash_threshold: int = HASH_THRESHOLD,
                    corr_threshold: float = CORR_THRESHOLD, videos_train=None, videos_test=None,
                    constant_sd: float = PropertyConfig.constant_sd) -> dict:
    """For every test frame, the closest training frame by perceptual hash and by thumbnail correlation.

    Blank frames (grey SD < ``constant_sd``) all hash alike, so they are left out on both sides: no
    training frame of that kind can be a nearest neighbour, and such test frames are not counted.

    Parameters
    ----------
    X_train, X_test : uint8 frames (n, H, W, 3) or (n, H, W).
    hash_threshold : a near copy has phash Hamming distance <= this (of 64 bits; see ``HASH_THRESHOLD``).
    corr_threshold : a near copy has 16x16 thumbnail correlation >= this (see ``CORR_THRESHOLD``).
    videos_train, videos_test : optional video ids; then each test frame says whether its nearest
        training frame is from its own video (the leak).

    Returns
    -------
    dict with ``frames`` (DataFrame, one row per test frame: phash_distance, phash_nearest, correlation,
    correlation_nearest, excluded, phash_duplicate, correlation_duplicate, and with videos also video,
    phash_same_video, correlation_same_video), ``thresholds``, ``n_train``, ``n_train_excluded``, and
    the counts of :func:`duplicate_summary`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> scene = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (64, 64))
    >>> other = cv2.resize(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), (64, 64))
    >>> copy = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
    >>> r = near_duplicates(np.stack([scene, other]), np.stack([copy, np.full_like(scene, 0)]),
    ...                     videos_train=["v1", "v2"], videos_test=["v1", "v3"])
    >>> r["frames"][["phash_nearest", "phash_duplicate", "excluded", "phash_same_video"]].values.tolist()
    [[0, True, False, True], [-1, False, True, False]]
    >>> r["n_duplicate_phash"], r["n_excluded"], r["n_videos_with_duplicate_phash"]
    (1, 1, 1)
    """
    X_train, X_test = _frames(X_train, "X_train"), _frames(X_test, "X_test")
    if not len(X_train):
        raise ValueError("X_train is empty: there is nothing to compare the test frames with")
    usable = _grey(X_train).reshape(len(X_train), -1).std(1) >= constant_sd
    excluded = _grey(X_test).reshape(len(X_test), -1).std(1) < constant_sd
    dist, d_idx = _nearest(hamming(phash_bits(X_test), phash_bits(X_train)), usable, "min")
    corr, c_idx = _nearest(thumbnails(X_test) @ thumbnails(X_train).T, usable, "max")
    frames = pd.DataFrame({"phash_distance": dist, "phash_nearest": np.where(excluded, -1, d_idx),
                           "correlation": corr, "correlation_nearest": np.where(excluded, -1, c_idx),
                           "excluded": excluded,
                           "phash_duplicate": ~excluded & (dist <= hash_threshold),
                           "correlation_duplicate": ~excluded & (corr >= corr_threshold)})
    frames.loc[excluded, ["phash_distance", "correlation"]] = np.nan
    if (videos_train is None) != (videos_test is None):
        raise ValueError("give both videos_train and videos_test, or neither")
    if videos_train is not None:
        v_train, v_test = np.asarray(videos_train).astype(str), np.asarray(videos_test).astype(str)
        if len(v_train) != len(X_train) or len(v_test) != len(X_test):
            raise ValueError(f"videos_train/videos_test need one id per frame: got {len(v_train)}/{len(v_test)} "
                             f"for {len(X_train)}/{len(X_test)} frames")
        frames["video"] = v_test
        for crit in ("phash", "correlation"):
            idx = frames[f"{crit}_nearest"].to_numpy()
            frames[f"{crit}_same_video"] = (idx >= 0) & (v_train[np.maximum(idx, 0)] == v_test)
    result = {"frames": frames, "n_train": len(X_train), "n_train_excluded": int((~usable).sum()),
              "thresholds": {"hash": int(hash_threshold), "correlation": float(corr_threshold),
                             "constant_sd": float(constant_sd), "thumbnail": THUMB}}
    return result | duplicate_summary(result)


def duplicate_summary(result: dict, videos_test=None) -> dict:
    """Counts of test frames with a near copy in training, from a :func:`near_duplicates` result.

    Per criterion (``phash``, ``correlation``): ``n_duplicate_*`` and ``fraction_duplicate_*`` (of the
    test frames compared, i.e. not blank), and when video ids are known (given here or to
    :func:`near_duplicates`) ``n_same_video_*`` (near copies whose nearest frame is from the same video;
    needs the ids of both sides) and ``n_videos_with_duplicate_*``. Also ``n_test``, ``n_excluded``
    (blank test frames), ``n_compared`` and ``n_videos_test``.

    >>> frames = pd.DataFrame({"excluded": [False, False, True], "phash_duplicate": [True, False, False],
    ...                        "correlation_duplicate": [True, True, False]})
    >>> s = duplicate_summary({"frames": frames}, videos_test=["a", "b", "b"])
    >>> s["fraction_duplicate_phash"], s["n_videos_with_duplicate_correlation"], s["n_excluded"]
    (0.5, 2, 1)
    """
    frames = result["frames"]
    kept = ~frames["excluded"].to_numpy(bool)
    out: dict = {"n_test": len(frames), "n_excluded": int((~kept).sum()), "n_compared": int(kept.sum())}
    if videos_test is None and "video" in frames:
        videos_test = frames["video"]
    videos = None if videos_test is None else np.asarray(videos_test).astype(str)
    if videos is not None:
        out["n_videos_test"] = len(np.unique(videos))
    for crit in ("phash", "correlation"):
        dup = frames[f"{crit}_duplicate"].to_numpy(bool) & kept
        out[f"n_duplicate_{crit}"] = int(dup.sum())
        out[f"fraction_duplicate_{crit}"] = float(dup.sum() / kept.sum()) if kept.any() else None
        if f"{crit}_same_video" in frames:
            out[f"n_same_video_{crit}"] = int((dup & frames[f"{crit}_same_video"].to_numpy(bool)).sum())
        if videos is not None:
            out[f"n_videos_with_duplicate_{crit}"] = len(np.unique(videos[dup]))
    return out
