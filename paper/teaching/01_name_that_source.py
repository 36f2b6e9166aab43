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
# # Name that source: can a classifier tell where a photo came from?
#
# Several papers claim that a classifier reads "criminality" from a face. In every one of them the
# two classes came from different photo sources: mugshot archives for one class, portrait databases
# for the other. Before asking what a classifier learns from such data, ask a simpler question:
# **can it tell the sources apart, without looking at anyone's face?**
#
# **Learning goals.** After this notebook you can
# - say what a *photo source* leaves in an image (lighting, frame, resolution, compression) that has
#   nothing to do with the person;
# - read a cross-validated AUROC with its 95% interval and its n;
# - explain why a classifier that separates two sources perfectly tells you nothing about the people;
# - recognise that differences you cannot see are still easy for a classifier.
#
# **Time:** about a minute (quick mode: seconds). **You need:** `pip install -e '.[teaching]'` (or
# `make teaching`). With `ARTIFACTUAL_DATA` pointing at a folder holding `lfw/`, `utkface/` and `orl/`,
# the last section also compares three real photo archives as they come.
#
# Nobody in these photos is a criminal. The two "sources" are public faces, one half of them passed
# through a mugshot-style capture, exactly the design choice the papers made.

# %%
import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData
from artifactual.analyses.checks import CHECKS
from artifactual.paper.lessons import lesson
from artifactual.replication.capture import MugshotCapture, apply_capture
from artifactual.replication.designs.goel2022 import CLASS_A, CLASS_B, Goel2022Design, build_design, embedded_capture
from artifactual.replication.parallel import use_settings

L = lesson()
print(L.describe("lfw", "utkface", "orl"))
# Fewer permutations and refits in the quick mode; the same code runs either way.
CFG = AuditConfig(raw_side=32, n_perm=L.size(full=1000, quick=100), interval_draws=L.size(full=100, quick=20))

# %% [markdown]
# ## Two sources
#
# The embedded data are the 100 faces of scikit-image's LFW subset (25x25 greyscale news photos).
# They are split at random into two halves. Half A passes through the project's mugshot-style
# capture (harsh flash, plain light background, lower resolution, a padded frame, strong JPEG);
# half B stays as found. Who ends up in which half is decided by a coin, so **the people in A and B
# do not differ in anything**: only the capture does.

# %%
with use_settings(progress=False):
    design = build_design(Goel2022Design(data="embedded", capture=embedded_capture()))
table = design.table
photos = [design.image(i) for i in range(len(design))]
source = np.where(table["captured"].to_numpy(bool), "A", "B")
print(f"{len(photos)} photos: {(source == 'A').sum()} in source A ({CLASS_A}), "
      f"{(source == 'B').sum()} in B ({CLASS_B})")
print("the capture applied to A:", ", ".join(embedded_capture().parts()))

rng = np.random.default_rng(1)
shown = rng.permutation(len(photos))[:16]
fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for ax, i in zip(axes.ravel(), shown):
    ax.imshow(photos[i], cmap="grey", vmin=0, vmax=255)
    ax.set_title(f"photo {i}", fontsize=8)
    ax.axis("off")
fig.suptitle("16 photos, sources hidden")
plt.show()

# %% [markdown]
# **Predict (Q1.1).** Look at the 16 photos. Write down, for each, whether you think it came from
# source A (mugshot-style capture) or B (as found). Which cues did you use? Were any of them about the
# person?

# %%
print("photo:  " + " ".join(f"{i:>3}" for i in shown))
print("source: " + " ".join(f"{source[i]:>3}" for i in shown))

# %% [markdown]
# ## What the classifier is allowed to see
#
# The classifier gets no pixels. It gets 13 numbers per photo that describe the photograph, not the
# person: mean brightness and contrast, colourfulness, whether it is greyscale, sharpness, noise,
# JPEG quality and blockiness, the share of constant border, the brightness of the background, and
# the photo's size and shape. To stop size from giving the answer away, every photo is first brought
# to 32x32 pixels.

# %%
def as_rgb32(px: np.ndarray) -> np.ndarray:
    px = cv2.resize(px, (32, 32), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(px, cv2.COLOR_GRAY2RGB) if px.ndim == 2 else px


def audit_data(pixels, labels, names) -> AuditData:
    """Photos -> the audit's data: each photo is its own person here (the subset has no names)."""
    return AuditData.from_arrays(np.stack([as_rgb32(p) for p in pixels]), np.asarray(labels), np.asarray(labels),
                                 label_values=names)


d = audit_data(photos, (source == "A").astype(int), {0: "B", 1: "A"})
print(d.properties.groupby(np.where(d.y == 1, "A", "B")).mean().T.round(2).to_string())

# %% [markdown]
# **Predict (Q1.2).** A logistic classifier is trained on those 13 numbers only, and tested by
# 5-fold cross-validation (repeated 5 times) on photos it never saw. What AUROC will it reach at
# telling A from B? (0.5 = a coin, 1.0 = perfect.) How wide do you expect the 95% interval to be
# with 100 photos?

# %%
(props,) = CHECKS.get("image_properties")(d, CFG)
print(f"AUROC {props.estimate:.3f}, 95% interval [{props.ci_low:.3f}, {props.ci_high:.3f}], n = {props.n} photos")
print("interval:", props.details["interval"])
COLUMNS = ["property", "auroc", "ci_low", "ci_high", "direction", "ks_distance", "n"]
per = pd.DataFrame(props.details["per_property"]).dropna(subset=["auroc"])[COLUMNS].set_index("property")
print("each property alone (direction chosen on training folds):")
print(per.sort_values("auroc", ascending=False).head(6).round(3).to_string())

# %%
best = per.sort_values("ks_distance", ascending=False).index[0]
fig, ax = plt.subplots(figsize=(5, 3))
for s in ("A", "B"):
    ax.hist(d.properties.loc[source == s, best], bins=20, alpha=0.6, label=f"source {s}")
ax.set_xlabel(best)
ax.set_ylabel("photos")
ax.legend()
ax.set_title(f"the property that separates the sources best: {best}")
plt.show()

# %% [markdown]
# **Predict (Q1.3).** Now black out the face: an ellipse inscribed in the frame is set to black, so
# only the corners and edges of each photo remain. Can a classifier trained on what is left still
# name the source? And on the face alone, brightness-normalised?

# %%
for r in CHECKS.get("face_removed_face_only")(d, CFG):
    print(f"{r.name:>22}: AUROC {r.estimate:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}], n = {r.n} — {r.reading[:90]}")

# %% [markdown]
# ## A difference you cannot see
#
# The capture above is strong: you could probably see it. Real sources differ more quietly. Here
# the same 100 faces are split again at random, and half of them are saved once as JPEG at quality
# 50 (nothing else changes). Look first.

# %%
mild = MugshotCapture(greyscale=False, flash=False, plain_background=False, low_resolution=False, padding=False,
                      jpeg=True, jpeg_quality=50)
with use_settings(progress=False):
    base = build_design(Goel2022Design(data="embedded", capture=MugshotCapture(
        greyscale=False, flash=False, plain_background=False, low_resolution=False, padding=False, jpeg=False)))
originals = [base.image(i) for i in range(len(base))]
coin = np.random.default_rng(7).permutation(len(originals)) < len(originals) // 2
mild_photos = [apply_capture(p, mild)[0] if c else p for p, c in zip(originals, coin)]
fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
for ax, i in zip(axes, shown[:8]):
    ax.imshow(mild_photos[i], cmap="grey", vmin=0, vmax=255)
    ax.set_title(f"photo {i}", fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# **Predict (Q1.4).** Which of these 8 were saved as JPEG? Can you tell at all? Will the 13-number
# classifier tell the JPEG half from the untouched half better than chance?

# %%
print("saved as JPEG:", ", ".join(f"photo {i}: {'yes' if coin[i] else 'no'}" for i in shown[:8]))
d_mild = audit_data(mild_photos, coin.astype(int), {0: "untouched", 1: "JPEG 50"})
(m,) = CHECKS.get("image_properties")(d_mild, CFG)
print(f"AUROC {m.estimate:.3f}, 95% interval [{m.ci_low:.3f}, {m.ci_high:.3f}], n = {m.n} photos")
per_mild = pd.DataFrame(m.details["per_property"]).dropna(subset=["auroc"])[COLUMNS].set_index("property")
print(per_mild.sort_values("auroc", ascending=False).head(4).round(3).to_string())

# %% [markdown]
# ## Going further: three real archives, untouched
#
# With a data root, the same 13 numbers are measured on photos from three real archives exactly as
# they are distributed (LFW news photos, UTKFace web crops, ORL laboratory shots; 60 people each,
# one photo a person) and the classifier is asked to name the archive, pair by pair. Nothing was
# done to these photos by us.

# %%
if L.has("lfw", "utkface", "orl"):
    from artifactual.replication.data import load_dataset

    per_source, rng = L.size(full=60, quick=20), np.random.default_rng(0)
    pix, names = [], []
    with use_settings(progress=False):
        for name in ("lfw", "utkface", "orl"):
            ds = load_dataset(name, data_root=L.data_root).usable()
            t = ds.table.reset_index(drop=True)
            ident = t["identity"].fillna(t["path"]).astype(str)
            first = t.groupby(ident).head(1).index.to_numpy()  # one photo a person
            for i in rng.choice(first, size=min(per_source, len(first)), replace=False):
                pix.append(ds.image(int(i)))
                names.append(name)
    names = np.array(names)
    rows = []
    for a, b in [("lfw", "utkface"), ("lfw", "orl"), ("utkface", "orl")]:
        pair = np.isin(names, [a, b])
        (r,) = CHECKS.get("image_properties")(audit_data([p for p, k in zip(pix, pair) if k],
                                                         (names[pair] == b).astype(int), {0: a, 1: b}), CFG)
        rows.append({"pair": f"{a} vs {b}", "auroc": round(r.estimate, 3), "ci_low": round(r.ci_low, 3),
                     "ci_high": round(r.ci_high, 3), "n photos": r.n})
    print(pd.DataFrame(rows).to_string(index=False))
else:
    print("No data root with lfw/, utkface/ and orl/: set ARTIFACTUAL_DATA to run this section on real archives.")

# %% [markdown]
# ## What to take away
#
# A classifier that names a photo's source from its lighting, frame and compression has learned
# nothing about the person. When a paper's two classes come from two sources, a high AUROC is what
# this notebook shows first, before any trait is involved. Notebook 02 rebuilds such a paper and
# takes its 0.99 apart.
