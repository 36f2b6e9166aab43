# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Frames are not samples: a random frame split against a split by video
#
# **Learning goals.** After this notebook you can
# - explain why the frames of one video are not independent samples, and how a random frame split leaks a test
#   video into training;
# - score a frame classifier with a video-grouped split and give intervals that resample VIDEOS, not frames;
# - count the test frames that have a near copy from their own video in training, and measure how well one frame
#   names its video;
# - read the number of videos, not the number of frames, as the sample size (a vote of frames per video).
#
# **Time:** about 1-2 minutes on 2 CPU cores (quick mode about 15 s). **You need:** `pip install -e '.[teaching]'`
# (or `make teaching`); with `ARTIFACTUAL_DATA` set to a folder holding `ucfcrime/` (UCF-Crime frames in the Kaggle
# layout, README "Real data") it uses the real frames, subsampled, and adds the dataset's own train/test folders as
# a third protocol; otherwise it runs a clearly labelled SIMULATION built from pictures that ship with scikit-image.

# %%
from artifactual.paper.lessons import lesson

L = lesson()
print(L.describe("ucfcrime"))

# %%
import time

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import skimage.data

from artifactual.analyses.crimevision import (CrimeVisionConfig, feature_sets, fit_predict, protocol_folds,
                                              video_naming)
from artifactual.analyses.crimevision_report import duplicates, naming, videos_right
from artifactual.analyses.formatting import fmt_estimate, fmt_p
from artifactual.analyses.video_metrics import accuracy_difference, class_metrics

T0 = time.perf_counter()
REAL = L.has("ucfcrime")
N_BOOT = L.size(full=2000, quick=300)  # video-bootstrap draws of every interval
SEED = 4
MODELS = ("thumb_logreg", "video_identity")
CFG = CrimeVisionConfig(models=MODELS, n_boot=N_BOOT, with_audit=False, seed=SEED)


def ci(m, signed=False):
    """'estimate [low, high]' of an interval dict."""
    return fmt_estimate(m["estimate"], m["ci_low"], m["ci_high"], signed=signed)


# %% [markdown]
# ## The claim, and the question
#
# Seed 004 (Rizvi, Shivaniwal, Aijaz, "Crime Vision") fine-tunes DenseNet121 on "crime-related images and videos"
# and reports 83% test accuracy, "above 83% for each class". It names no dataset, no split, no n and no interval.
# The project's study `crimevision` (README section "Seed 004's crime-scene frame classifier",
# `analyses/crimevision.py`) replicates it on UCF-Crime frames: every 10th frame of a few dozen surveillance
# videos, each video filed under one class.
#
# A video is one camera looking at one scene: its frames are near copies of each other. If frames are dealt to
# training and test at random (what a naive replication does), almost every test frame has a sibling from the same
# video in training, and a classifier can score by recognising the *camera*, with no idea what happens in the
# scene. This notebook measures that leak, with the project's own code:
# `protocol_folds` (the splits), `thumbnails`/`fit_predict` (the models), `video_naming`,
# `analyses/frames.py` (near copies) and `analyses/video_metrics.py` (intervals that resample videos).
#
# **Responsible use.** Nothing here classifies anyone's footage. On real data the classes are UCF-Crime's *video
# labels* (which folder the dataset's authors filed a video under); in the simulation they are drawn at random and
# called A-D. No picture of a person is used in the simulation.

# %% [markdown]
# ## The data: a simulation with a known truth (or UCF-Crime)
#
# The SIMULATION: each "video" is a slow camera pan and zoom over one picture bundled with scikit-image, 12 frames
# at 64x64 with a little sensor noise. Each video gets its class **at random** (5 videos per class, classes
# shuffled over videos), so nothing in a picture says anything about its class: the **true accuracy on new videos
# is chance, 0.25**. Whatever a protocol reads above that is leakage.

# %%
# pictures of people (astronaut, camera) are left out on purpose: no person's picture gets a label here
PICTURES = ["coffee", "chelsea", "rocket", "coins", "moon", "page", "text", "clock", "hubble_deep_field",
            "immunohistochemistry", "logo", "retina", "checkerboard", "grass", "gravel", "brick", "colorwheel",
            "cell", "microaneurysms", "horse"]
FRAMES_PER_VIDEO, SIDE, NOISE_SD = 12, 64, 3.0


def picture(name):
    """A bundled scikit-image picture as uint8 RGB."""
    im = np.asarray(getattr(skimage.data, name)())
    if im.dtype == bool:
        im = im.astype(np.uint8) * 255
    elif im.dtype != np.uint8:
        im = (255 * (im - im.min()) / max(np.ptp(im), 1e-9)).astype(np.uint8)
    if im.ndim == 2:
        im = np.repeat(im[..., None], 3, axis=2)
    return np.ascontiguousarray(im[..., :3])


def pan_video(img, n, rng):
    """n frames of a camera that pans (10% of the picture) and zooms (window 50-75% of it) over ``img``."""
    h, w = img.shape[:2]
    m = min(h, w)
    size0, size1 = rng.uniform(0.5, 0.75, 2) * m
    c0 = np.array([rng.uniform(0.4, 0.6) * w, rng.uniform(0.4, 0.6) * h])
    angle = rng.uniform(0, 2 * np.pi)
    c1 = c0 + 0.10 * m * np.array([np.cos(angle), np.sin(angle)])
    out = []
    for t in np.linspace(0, 1, n):
        s, c = (1 - t) * size0 + t * size1, (1 - t) * c0 + t * c1
        M = np.array([[s / SIDE, 0, c[0] - s / 2], [0, s / SIDE, c[1] - s / 2]])  # output pixel -> picture
        f = cv2.warpAffine(img, M, (SIDE, SIDE), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_AREA,
                           borderMode=cv2.BORDER_REFLECT)
        out.append(np.clip(f + rng.normal(0, NOISE_SD, f.shape), 0, 255).astype(np.uint8))
    return out


def simulate(seed):
    rng = np.random.default_rng(seed)
    X = np.stack([f for name in PICTURES for f in pan_video(picture(name), FRAMES_PER_VIDEO, rng)])
    videos = np.repeat(PICTURES, FRAMES_PER_VIDEO)
    return X, videos


def random_video_classes(videos, k, rng):
    """Each video's class at random (equal numbers of videos per class), repeated over its frames."""
    names = pd.unique(videos)
    cls = rng.permutation(np.resize(np.arange(k), len(names)))
    return cls[pd.Index(names).get_indexer(videos)]


if REAL:
    from artifactual.analyses.studies.crimevision import frames, select_classes
    from artifactual.replication.data import load_dataset

    full = load_dataset("ucfcrime", data_root=L.data_root, progress=False)
    ds, CLASSES, class_notes = select_classes(full, CFG)
    # every STRIDE-th frame of each video (frames are already every 10th of the footage): a CPU budget
    STRIDE = L.size(full=2, quick=4)
    t = ds.table.sort_values(["video", "frame"])
    keep = t.groupby("video", sort=False).cumcount().to_numpy() % STRIDE == 0
    ds = ds.subset(t.index[keep])
    X = frames(ds, SIDE)
    y = ds.table["crime_class"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy(int)
    videos = ds.table["video"].astype(str).to_numpy()
    split = ds.table["split"].astype(str).to_numpy()
    PROTOCOLS = ("random_frames", "video_grouped", "given")
    print(f"REAL DATA: UCF-Crime frames under {L.data_root / 'ucfcrime'}: {len(y):,} frames (1 in {STRIDE} "
          f"of the {len(full.usable()):,} usable) of {len(set(videos))} videos, classes {CLASSES}.")
    print("The classes are UCF-Crime's video labels; nothing here classifies anyone's footage.")
    print(pd.crosstab(ds.table["crime_class"], ds.table["split"], values=ds.table["video"],
                      aggfunc="nunique").rename_axis(index="videos per class").to_string())
else:
    CLASSES = ["A", "B", "C", "D"]
    X, videos = simulate(SEED)
    y = random_video_classes(videos, len(CLASSES), np.random.default_rng(SEED))
    split = np.full(len(y), "train")  # the simulation has no given train/test folders
    PROTOCOLS = ("random_frames", "video_grouped")
    print(f"SIMULATION (known truth, not UCF-Crime): {len(PICTURES)} 'videos' x {FRAMES_PER_VIDEO} frames = "
          f"{len(y)} frames at {SIDE}x{SIDE}, noise SD {NOISE_SD} grey levels; classes {CLASSES} drawn at random "
          f"per video ({len(PICTURES) // len(CLASSES)} videos each). True accuracy on new videos: "
          f"{1 / len(CLASSES):.2f} (chance).")
K = len(CLASSES)
folds = {p: protocol_folds(p, y, videos, split, CFG.folds, SEED) for p in PROTOCOLS}
features = feature_sets(X, MODELS, CFG)  # 8x8 colour thumbnails (and colour histograms), computed once

# %%
if REAL:
    print("Frames of UCF-Crime are not shown here (the data card: no frame or derived image leaves the data root).")
else:
    show = pd.unique(videos)[:4]
    fig, axes = plt.subplots(len(show), 6, figsize=(9, 1.6 * len(show)))
    for r, v in enumerate(show):
        rows = np.flatnonzero(videos == v)[::2]
        for c, i in enumerate(rows[:6]):
            axes[r, c].imshow(X[i])
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(f"{v}\nclass {CLASSES[y[rows[0]]]}", fontsize=8)
    fig.suptitle("SIMULATION: every other frame of four 'videos' (class drawn at random per video)", fontsize=9)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## Two models, every protocol
#
# - `thumb_logreg`: logistic regression on 8x8 colour thumbnails, the cheap baseline of the study;
# - `video_identity`: a model that is only ever asked *which training video* a frame comes from, and answers that
#   video's class. It knows cameras, nothing else.
#
# Each cross-validated protocol has 5 folds and tests every frame once (out-of-fold predictions).

# %%
def run_protocol(protocol):
    """Out-of-fold predicted class of every tested frame, per model: (tested rows, {model: predictions})."""
    tested = np.concatenate([te for _, te in folds[protocol]])
    preds = {}
    for m in MODELS:
        pred = np.full(len(y), -1)
        for train, test in folds[protocol]:
            proba, _ = fit_predict(m, features, X, y, videos, train, test, K, CFG, log=lambda s: None)
            pred[test] = proba.argmax(1)
        preds[m] = pred[np.sort(tested)]
    return np.sort(tested), preds


def score_table(protocol, tested, preds):
    """Accuracy and macro-F1 with 95% intervals that resample videos within class."""
    rows = []
    majority = np.bincount(y[tested], minlength=K).max() / len(tested)
    for m, pred in preds.items():
        r = class_metrics(y[tested], pred, videos[tested], CLASSES, N_BOOT, SEED)
        rows.append({"protocol": protocol, "model": m, "accuracy [95% CI]": ci(r["accuracy"]),
                     "macro-F1 [95% CI]": ci(r["macro_f1"]), "test frames": r["n_frames"],
                     "test videos": r["n_videos"], "majority-class share": round(majority, 3)})
    return pd.DataFrame(rows)


results = {}

# %% [markdown]
# **Predict (Q5.1).** The frames are dealt into 5 folds at random (stratified by class); the model trains on four
# and is tested on the fifth, so every frame is tested once. In the simulation every video's class was drawn at
# random. What accuracy will the thumbnail model read under this random frame split? And the model that only
# knows which video a frame comes from?

# %%
results["random_frames"] = run_protocol("random_frames")
print(score_table("random_frames", *results["random_frames"]).to_string(index=False))
print(f"Intervals: {N_BOOT} bootstrap draws of whole videos within class. Chance is {1 / K:.2f}.")

# %% [markdown]
# **Predict (Q5.2).** The random frame split reads near-perfect accuracy (above). Now whole videos are dealt to the
# folds (`video_grouped`: no test video has a single frame in training). What will the same thumbnail model read,
# and how wide will its 95% interval be?

# %%
for p in PROTOCOLS[1:]:  # video_grouped; on real data also the dataset's own train/ and test/ folders
    results[p] = run_protocol(p)
table = pd.concat([score_table(p, *results[p]) for p in results], ignore_index=True)
print(table.to_string(index=False))

a_rows, a_preds = results["random_frames"]
for p in PROTOCOLS[1:]:
    tested, preds = results[p]
    paired = "same frames, paired" if len(tested) == len(a_rows) else "different test frames, unpaired"
    print(f"\nInflation (random frame split minus {p}), {paired} video bootstrap:")
    for m in MODELS:
        d = accuracy_difference({"y": y[a_rows], "pred": a_preds[m], "videos": videos[a_rows]},
                                {"y": y[tested], "pred": preds[m], "videos": videos[tested]}, N_BOOT, SEED)
        print(f"  {m}: {ci(d, signed=True)}, p {fmt_p(d['p_value'])}; n = {d['n_frames'][0]} vs "
              f"{d['n_frames'][1]} test frames, {d['n_videos'][0]} vs {d['n_videos'][1]} test videos")

# the wrong unit: the same predictions, with every frame treated as if it were its own video
tested, preds = results["video_grouped"]
m = "thumb_logreg"
by_video = class_metrics(y[tested], preds[m], videos[tested], CLASSES, N_BOOT, SEED)["accuracy"]
by_frame = class_metrics(y[tested], preds[m], np.arange(len(tested)).astype(str), CLASSES, N_BOOT, SEED)["accuracy"]
print(f"\n{m}, video-grouped: interval resampling videos ({len(set(videos[tested]))} units) {ci(by_video)}; "
      f"resampling frames as if independent ({len(tested)} units) {ci(by_frame)}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
labels = {"random_frames": "random frame split", "video_grouped": "video-grouped split", "given": "given folders"}
for j, m in enumerate(MODELS):
    for i, p in enumerate(results):
        r = class_metrics(y[results[p][0]], results[p][1][m], videos[results[p][0]], CLASSES, N_BOOT, SEED)["accuracy"]
        x = i + (j - 0.5) * 0.16
        ax.errorbar(x, r["estimate"], yerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                    fmt="o", color=f"C{j}", capsize=4, label=m if i == 0 else None)
ax.axhline(1 / K, color="grey", ls="--", lw=1, label=f"chance ({1 / K:.2f})")
ax.set_xticks(range(len(results)), [labels[p] for p in results])
ax.set_xlim(-0.5, len(results) - 0.5)
ax.set_ylabel("accuracy, 95% CI (videos resampled)")
ax.set_ylim(0, 1.05)
ax.set_title(("SIMULATION (true accuracy = chance)" if not REAL else "UCF-Crime frames")
             + ": the same models, scored by each split", fontsize=10)
ax.legend(fontsize=8, loc="upper right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Why: near copies across the split
#
# `analyses/frames.py` finds, for every test frame, its closest training frame by perceptual hash (a near copy:
# at most 6 of 64 bits differ) and by 16x16 thumbnail correlation (at least 0.99). The thresholds were read off the
# real UCF-Crime frames: at them, no frame of another video counts as a copy.

# %% [markdown]
# **Predict (Q5.3).** Under the random frame split, what share of test frames has a near copy **from its own
# video** among the training frames? Under the video-grouped split?

# %%
dup, dup_frames = duplicates(X, videos, folds)
rows = []
for p, d in dup.items():
    rows.append({"protocol": p, "test frames compared": d["n_compared"],
                 "near copy (phash)": d["n_duplicate_phash"],
                 "... from its own video": d["n_same_video_phash"],
                 "share": round(d["fraction_duplicate_phash"], 3),
                 "near copy (correlation)": d["n_duplicate_correlation"],
                 "test videos with a copy": f"{d['n_videos_with_duplicate_phash']} of {d['n_videos_test']}"})
print(pd.DataFrame(rows).to_string(index=False))
print("Counts of this split's frames (descriptive, no interval).")
med = dup_frames.groupby("protocol")["phash_distance"].median()
print("Median phash distance of a test frame to its nearest training frame: "
      + ", ".join(f"{p} {med[p]:.0f} bits" for p in dup))

# %% [markdown]
# ## How well does one frame name its video?

# %% [markdown]
# **Predict (Q5.4).** Frames of every video are dealt to 5 folds (so each test frame's video *was* seen in
# training, as under a random frame split), and the thumbnail model is asked which of the videos a frame comes from.
# What share will it name right? (Chance is one over the number of videos.)

# %%
named = video_naming(features, videos, y, CFG)
nm = naming({"video_naming": {"predicted": named}}, y, videos, CFG)["thumb"]
print(f"One 8x8-thumbnail frame names its video: {ci(nm['accuracy'])} of {nm['n_frames']} frames "
      f"({nm['n_videos']} videos, interval resamples videos; chance {nm['chance']:.3f}).")
print("So a 'class' classifier under the random frame split can answer: which video is this? -> that video's label "
      "(the video_identity model above does exactly that).")

# %% [markdown]
# ## A vote of frames per video: the real sample size

# %% [markdown]
# **Predict (Q5.5).** Let each video's frames vote (the majority predicted class). Under the video-grouped split,
# how many videos will the vote call right, and how wide is an interval whose unit is the video?

# %%
rows = []
for p, (tested, preds) in results.items():
    for m, pred in preds.items():
        v = videos[tested]
        names = pd.unique(v)
        yv = np.array([y[tested][v == n][0] for n in names])
        pv = np.array([np.bincount(pred[v == n], minlength=K).argmax() for n in names])  # ties: lower class
        vr = videos_right(y[tested], pred, v, K)
        assert vr["k"] == int((yv == pv).sum())
        acc = class_metrics(yv, pv, names, CLASSES, N_BOOT, SEED)["accuracy"]
        rows.append({"protocol": p, "model": m, "videos called right": f"{vr['k']} of {vr['n']}",
                     "video accuracy [95% CI]": ci(acc)})
print(pd.DataFrame(rows).to_string(index=False))
print(f"Chance {1 / K:.2f}. Each interval resamples the videos within class (n = the videos tested).")
print("An interval of [1.000, 1.000] or [0.000, 0.000] is the bootstrap's blind spot, not certainty: when every "
      "video is right (or wrong), so is every redraw. 0 of n videos is compatible with a true rate up to about 3/n.")

# %% [markdown]
# ## The known truth, drawn again (simulation) / a label-shuffle null (real data)
#
# One draw of random classes can be lucky. Here the classes are drawn again and again over the same videos and both
# protocols are rerun: in the simulation every draw has true accuracy 0.25; on real data, shuffling the labels
# across videos gives the accuracy each protocol reads when the label means nothing.

# %%
R = L.size(full=30, quick=3) if not REAL else L.size(full=6, quick=2)
draws = {p: [] for p in ("random_frames", "video_grouped")}
rng = np.random.default_rng(SEED + 1)
video_of = pd.unique(videos)
for r in range(R):
    if REAL:  # shuffle the real video labels across videos
        vc = pd.Series(y, index=videos).groupby(level=0).first().reindex(video_of).to_numpy()
        yr = rng.permutation(vc)[pd.Index(video_of).get_indexer(videos)]
    else:
        yr = random_video_classes(videos, K, rng)
    for p in draws:
        correct = []
        for train, test in protocol_folds(p, yr, videos, split, CFG.folds, SEED + r):
            proba, _ = fit_predict("thumb_logreg", features, X, yr, videos, train, test, K, CFG)
            correct.append(proba.argmax(1) == yr[test])
        draws[p].append(np.concatenate(correct).mean())
for p, accs in draws.items():
    print(f"{p}: mean accuracy {np.mean(accs):.3f} over {R} label draws (lowest {np.min(accs):.3f}, "
          f"highest {np.max(accs):.3f}; the spread of the draws, not an interval)")
if REAL:
    print(f"Shuffled labels carry no information: on new videos expect about chance ({1 / K:.2f} if guessing "
          f"uniformly, {np.bincount(y).max() / len(y):.2f} if always guessing the largest class).")
else:
    print(f"Truth: {1 / K:.2f} on new videos in every draw (labels carry no information by construction).")
fig, ax = plt.subplots(figsize=(6, 2.6))
for j, (p, accs) in enumerate(draws.items()):
    ax.hist(accs, bins=np.linspace(0, 1, 41), alpha=0.7, color=f"C{j + 2}", label=labels[p])
ax.axvline(1 / K, color="grey", ls="--", lw=1, label="truth (chance)")
ax.set_xlabel(f"thumb_logreg accuracy, one per label draw (n = {R} draws)")
ax.set_ylabel("label draws")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What to take away
#
# - A random frame split scores the classifier on frames whose siblings it trained on; it measures how well a frame
#   names its video, not whether anything about the class generalises. A model that only knows cameras reads the
#   same number.
# - Split by video (or use the dataset's own folders, if no video is in both), and resample videos for the interval:
#   with a few dozen videos the interval is wide, and that width is the honest answer.
# - Report the number of videos beside the number of frames; a vote per video shows how few independent answers
#   there are. A paper that reports "83% on the test set" without saying how frames were split cannot be read.

# %%
print(f"Ran in {time.perf_counter() - T0:.0f} s ({L.describe('ucfcrime')}).")
