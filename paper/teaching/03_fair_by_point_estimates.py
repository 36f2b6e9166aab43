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
# # Fair, by point estimates?
#
# Seed 002 (Knabenhans 2024) trains a gender classifier on 48x48 greyscale UTKFace faces and calls it
# "quite fair regarding performance on different ethnic subgroups" because the per-group accuracies lie
# close together: the max-min spread is under 5% and the standard deviation 1-2% of the mean (its
# Table 3). Its age table includes a decade, 100-109, with **one** test image, classified correctly:
# "accuracy 100%". This notebook puts the seed's way beside the same table with counts, intervals and a
# minimum count.
#
# **Learning goals.** After this notebook you can
# - explain why per-group point estimates differ by chance, and why the smallest group is the one most
#   likely to look "fairest" or "least fair";
# - read a subgroup table with n, 95% intervals, a worst group, a max-min difference with its interval,
#   and groups below a minimum count marked `too_small`;
# - say why "the interval of the max-min difference excludes 0" does not show unfairness, and what the
#   project's verdict (`differs` / `similar` / `cannot_tell`) reads instead;
# - estimate how many test items a group needs before its accuracy is known to within about 0.05.
#
# **Time:** about 2 minutes (about 20 s in quick mode). **You need:** `pip install -e '.[teaching]'` (or
# `make teaching`); with `ARTIFACTUAL_DATA` set and holding `utkface/` it also trains the seed's logistic
# regression on real UTKFace faces. Without it, everything runs on clearly labelled simulations.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's widget notice; this notebook uses none

import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm

from artifactual.analyses.fairness import FairnessConfig, group_table
from artifactual.analyses.formatting import fmt_estimate, fmt_interval
from artifactual.paper.lessons import lesson

L = lesson()
print(L.describe("utkface"))
T0 = time.perf_counter()
N_BOOT = L.size(full=1000, quick=200)  # bootstrap draws of every table
REPS = L.size(full=1000, quick=200)  # fresh simulated test sets for the point-estimate experiments
TABLE_REPS = L.size(full=200, quick=30)  # fresh simulated test sets, each with its full table
REP_BOOT = L.size(full=400, quick=100)  # bootstrap draws inside each of those tables
CFG = FairnessConfig(n_boot=N_BOOT)  # the project's defaults: min_n=30, min_per_class=5, margin 0.05
SEEDS_WAY = FairnessConfig(n_boot=N_BOOT, min_n=1, min_per_class=1)  # no minimum count: every group gets numbers
print(f"bootstrap draws {N_BOOT}; minimum count min_n={CFG.min_n} test items "
      f"(and {CFG.min_per_class} of each class for balanced accuracy / ROC AUC / F1)")


def rows_of(table: dict, attribute: str, metrics=("accuracy", "balanced_accuracy", "roc_auc")) -> pd.DataFrame:
    """One line per group: n, and each metric as 'estimate [95% interval]', or why it has none."""
    out = []
    for r in table["groups"]:
        if r["attribute"] != attribute:
            continue
        row = {"group": r["group"], "n": r["n"], "too_small": r["too_small"]}
        for m in metrics:
            v = r[m]
            row[m] = (fmt_estimate(v["estimate"], v["ci_low"], v["ci_high"]) if v
                      else "too_small" if r["too_small"] else "undefined")
        out.append(row)
    return pd.DataFrame(out).set_index("group")


def seeds_way(table: dict, attribute: str, metrics=("accuracy", "balanced_accuracy", "roc_auc")) -> None:
    """The seed's reading: point estimates only, mean / std / max-min spread over groups, 'fair' if spread < 0.05."""
    pts = pd.DataFrame({m: {r["group"]: r[m]["estimate"] if r[m] else None for r in table["groups"]
                            if r["attribute"] == attribute} for m in metrics})
    print(pts.round(3).to_string())
    stats = table["attributes"][attribute]["spread_stats_all_groups"]
    print(pd.DataFrame({m: stats[m] for m in metrics}).round(3).to_string())
    acc = pts["accuracy"].dropna()
    verdict = "FAIR" if stats["accuracy"]["spread"] < 0.05 else "BIASED"
    print(f"the seed's reading: accuracy spread {stats['accuracy']['spread']:.3f} -> {verdict}; "
          f"'fairest' group {acc.idxmax()} ({acc.max():.3f}), 'least fair' group {acc.idxmin()} ({acc.min():.3f})")


def honest_way(table: dict, attribute: str, metrics=("accuracy", "balanced_accuracy", "roc_auc")) -> None:
    """The same table with n, intervals, too_small groups, worst group, max-min difference, and the verdict."""
    print(rows_of(table, attribute, metrics).to_string())
    a = table["attributes"][attribute]
    w, d = a["worst"]["accuracy"], a["difference"]["accuracy"]
    n_w = next(r["n"] for r in table["groups"] if r["attribute"] == attribute and r["group"] == w["group"])
    print(f"worst group (accuracy): {w['group']} (n={n_w}) {fmt_estimate(w['estimate'], w['ci_low'], w['ci_high'])}")
    if d is not None:
        print(f"max-min accuracy difference over groups with n >= {table['config']['min_n']}: "
              f"{fmt_estimate(d['estimate'], d['ci_low'], d['ci_high'])}  (descriptive: biased upward, see below)")
    print(f"verdict: {a['parity']}: {a['statement']}")
    print(f"bootstrap unit: {table['unit']}")


# %% [markdown]
# ## 1. Two groups

# %% [markdown]
# **Predict (Q3.1).** A group of 20 test faces scores 0.95 accuracy (19 right) and a group of 600
# scores 0.85 (510 right). Is the classifier unfair to the large group? Write down what you would need
# to know before answering.

# %%
two = {"small": (20, 19), "large": (600, 510)}  # (n, correct): constructed counts, one class mix per group
y2, pred2, g2 = [], [], []
for name, (n, right) in two.items():
    y = np.tile([0, 1], n // 2)
    pred = y.copy()
    pred[np.linspace(0, n - 1, n - right).astype(int)] ^= 1  # n - right errors spread over both classes
    y2.append(y)
    pred2.append(pred)
    g2 += [name] * n
y2, pred2, g2 = np.concatenate(y2), np.concatenate(pred2), np.array(g2)
score2 = np.where(pred2 == 1, 0.7, 0.3)  # hard scores: ROC AUC is not the point here
print("Every group gets numbers (min_n=1), as in the seed's tables:")
print(rows_of(group_table(y2, pred2, score2, {"group": g2}, SEEDS_WAY), "group", ("accuracy",)).to_string())
print("\nThe project's table (min_n=30):")
honest_way(group_table(y2, pred2, score2, {"group": g2}, CFG), "group", ("accuracy",))

# %% [markdown]
# ## 2. Simulation 1: a classifier that is equally accurate in every group
#
# **SIMULATION, not real faces.** We make up test sets where the truth is known: five groups of very
# unequal sizes (like UTKFace's ethnicity and age groups), two balanced classes, and a classifier whose
# chance of being right is **0.88 in every group and for both classes**. By construction this classifier
# is fair. Any difference between groups below is chance.

# %%
SIZES = {"A": 1200, "B": 400, "C": 150, "D": 40, "E": 20}
TRUE_ACC = 0.88


def simulate(true_acc: dict, seed: int, sizes: dict = SIZES):
    """Labels, hard predictions, scores and group of one simulated test set; P(correct) = true_acc[group].

    A latent value (2y - 1) * Phi^-1(acc) + N(0, 1) is positive for class 1 and negative for class 0 with
    probability acc, so each group's accuracy, TPR and TNR are all acc; its logistic is the score.
    """
    rng = np.random.default_rng(seed)
    group = np.repeat(list(sizes), list(sizes.values()))
    y = rng.integers(0, 2, len(group))
    latent = (2 * y - 1) * norm.ppf([true_acc[g] for g in group]) + rng.normal(size=len(group))
    score = 1 / (1 + np.exp(-1.5 * latent))
    return y, (score >= 0.5).astype(int), score, group


FAIR = {g: TRUE_ACC for g in SIZES}
SEED_SIM1, SEED_SIM2 = 29, 61  # two test sets picked from many draws: see section 3
y, pred, score, group = simulate(FAIR, seed=SEED_SIM1)
print("Simulation 1 (truth: accuracy 0.88 in every group). Group sizes:", SIZES)
print("\nThe seed's way: point estimates, their spread, and a verdict")
seeds_way(group_table(y, pred, score, {"group": group}, SEEDS_WAY), "group")

# %% [markdown]
# **Predict (Q3.2).** Now draw many fresh test sets from the same fair classifier. (a) Which group will
# most often have the highest point estimate, and which the lowest? (b) In what share of test sets will
# the seed's rule ("accuracy spread under 0.05 -> fair") call this classifier fair?

# %%
group_of = np.repeat(np.arange(len(SIZES)), list(SIZES.values()))
best, worst, spread = np.zeros(len(SIZES)), np.zeros(len(SIZES)), []
for rep in range(REPS):
    y_r, p_r, _, _ = simulate(FAIR, seed=1000 + rep)
    acc = np.bincount(group_of, weights=(y_r == p_r)) / np.bincount(group_of)  # each group's point estimate
    best[np.argmax(acc)] += 1
    worst[np.argmin(acc)] += 1
    spread.append(acc.max() - acc.min())
spread = np.array(spread)
print(pd.DataFrame({"n": list(SIZES.values()), "share 'fairest'": best / REPS, "share 'least fair'": worst / REPS},
                   index=list(SIZES)).round(3).to_string())
print(f"\n{REPS} simulated test sets; the true accuracy is 0.88 in every group.")
print(f"max-min spread of point estimates: median {np.median(spread):.3f}, "
      f"middle 95% {fmt_interval(*np.percentile(spread, [2.5, 97.5]))}")
print(f"the seed's rule calls this fair classifier fair in {np.mean(spread < 0.05):.1%} of test sets "
      f"(n={REPS} test sets)")

# %% [markdown]
# **Predict (Q3.3).** The project's table gives the max-min accuracy difference with a 95% bootstrap
# interval. In simulation 1 the true difference is exactly 0. Will that interval contain 0? And what
# will the project's verdict (`differs`, `similar` or `cannot_tell`) say?

# %%
print("Simulation 1, the same test set as above, the project's way:")
honest_way(group_table(y, pred, score, {"group": group}, CFG), "group")

covers, verdicts = 0, []
for rep in range(TABLE_REPS):
    y_r, p_r, s_r, g_r = simulate(FAIR, seed=1000 + rep)
    a = group_table(y_r, p_r, s_r, {"group": g_r}, FairnessConfig(n_boot=REP_BOOT, seed=rep))["attributes"]["group"]
    covers += a["difference"]["accuracy"]["ci_low"] <= 0
    verdicts.append(a["parity"])
print(f"\nOver {TABLE_REPS} fresh test sets (bootstrap {REP_BOOT} draws each):")
print(f"  the max-min difference's 95% interval contained the true value 0 in {covers / TABLE_REPS:.1%}")
print("  verdicts:", pd.Series(verdicts).value_counts().reindex(["differs", "similar", "cannot_tell"],
                                                               fill_value=0).to_dict())

# %% [markdown]
# ## 3. Simulation 2: one small group really is worse
#
# **SIMULATION.** Same group sizes, but now group D (40 test items) truly gets accuracy **0.76**; every
# other group keeps 0.88. This classifier is unfair to D. The one test set shown first was picked, among
# many draws, as one whose point estimates look like simulation 1's (compare D's row in the two
# tables); the repetitions after it show how often that happens without picking.

# %% [markdown]
# **Predict (Q3.4).** Can the seed's way tell simulation 2 from simulation 1? Will D's point estimate
# stand out from the chance dips of simulation 1? How often will the project's table say `differs`, and
# how often `cannot_tell`?

# %%
UNFAIR = {**FAIR, "D": 0.76}
y_u, pred_u, score_u, group_u = simulate(UNFAIR, seed=SEED_SIM2)
print("Simulation 2 (truth: D at 0.76, the rest at 0.88). The seed's way:")
seeds_way(group_table(y_u, pred_u, score_u, {"group": group_u}, SEEDS_WAY), "group")
print("\nThe project's way:")
honest_way(group_table(y_u, pred_u, score_u, {"group": group_u}, CFG), "group")

d_fair, d_unfair, rule_fair, rule_unfair = [], [], [], []
for rep in range(REPS):
    for truth, d_list, rule in ((FAIR, d_fair, rule_fair), (UNFAIR, d_unfair, rule_unfair)):
        y_r, p_r, _, _ = simulate(truth, seed=5000 + rep)
        acc = np.bincount(group_of, weights=(y_r == p_r)) / np.bincount(group_of)
        d_list.append(acc[3])
        rule.append(acc.max() - acc.min() < 0.05)
d_fair, d_unfair = np.array(d_fair), np.array(d_unfair)
print(f"\nPoint estimate of D over {REPS} test sets per world:")
print(f"  simulation 1 (D truly 0.88): middle 95% {fmt_interval(*np.percentile(d_fair, [2.5, 97.5]))}")
print(f"  simulation 2 (D truly 0.76): middle 95% {fmt_interval(*np.percentile(d_unfair, [2.5, 97.5]))}")
cut = np.percentile(d_fair, 5)
print(f"  a D estimate at or under {cut:.3f} happens in 5% of FAIR test sets and in "
      f"{np.mean(d_unfair <= cut):.1%} of UNFAIR ones")
print(f"the seed's rule says 'fair' in {np.mean(rule_fair):.1%} (simulation 1) and {np.mean(rule_unfair):.1%} "
      f"(simulation 2) of test sets")

verdicts_u, flagged_d = [], 0
for rep in range(TABLE_REPS):
    y_r, p_r, s_r, g_r = simulate(UNFAIR, seed=5000 + rep)
    a = group_table(y_r, p_r, s_r, {"group": g_r}, FairnessConfig(n_boot=REP_BOOT, seed=rep))["attributes"]["group"]
    verdicts_u.append(a["parity"])
    flagged_d += any(dv["group"] == "D" and dv["excludes_zero"] for dv in a["deviations"])
print(f"\nThe project's verdict over {TABLE_REPS} simulation-2 test sets:",
      pd.Series(verdicts_u).value_counts().reindex(["differs", "similar", "cannot_tell"], fill_value=0).to_dict(),
      f"; D's own band excluded 0 in {flagged_d / TABLE_REPS:.1%}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (title, tab) in zip(axes, (
        ("Simulation 1: every group truly 0.88", group_table(y, pred, score, {"group": group}, SEEDS_WAY)),
        ("Simulation 2: D truly 0.76", group_table(y_u, pred_u, score_u, {"group": group_u}, SEEDS_WAY)))):
    rows = [r for r in tab["groups"] if r["attribute"] == "group"]
    est = np.array([r["accuracy"]["estimate"] for r in rows])
    lo, hi = np.array([r["accuracy"]["ci_low"] for r in rows]), np.array([r["accuracy"]["ci_high"] for r in rows])
    x = np.arange(len(rows))
    ax.errorbar(x, est, yerr=[est - lo, hi - est], fmt="o", capsize=4, label="estimate, 95% interval")
    ax.axhline(TRUE_ACC, color="grey", ls="--", label="true 0.88")
    for i, r in enumerate(rows):
        ax.annotate(f"n={r['n']}" + (" (too_small)" if r["n"] < CFG.min_n else ""), (i, 0.62), ha="center",
                    fontsize=8)
    ax.set_xticks(x, [r["group"] for r in rows])
    ax.set_ylim(0.6, 1.02)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("accuracy")
axes[0].legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 0.08))
plt.tight_layout()
plt.show()

fig, ax = plt.subplots(figsize=(6.5, 3.3))
bins = np.linspace(0.5, 1.0, 21) + 1e-9
ax.hist(d_fair, bins=bins, alpha=0.6, label="simulation 1: D truly 0.88")
ax.hist(d_unfair, bins=bins, alpha=0.6, label="simulation 2: D truly 0.76")
ax.set_xlabel(f"point estimate of D's accuracy (n={SIZES['D']})")
ax.set_ylabel(f"test sets (of {REPS})")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. How many test items does a group need?

# %% [markdown]
# **Predict (Q3.5).** A group's true accuracy is 0.88. How many test items does it need for its 95%
# interval to reach about 0.05 either side of the estimate? How many for 0.02?

# %%
rows = []
for n in (20, 50, 100, 200, 400, 800, 1600, 3200):
    y_n, p_n, s_n, _ = simulate({"one": TRUE_ACC}, seed=n, sizes={"one": n})  # a fresh test set of n items
    o = group_table(y_n, p_n, s_n, {}, CFG)["overall"]["accuracy"]
    rows.append({"n": n, "accuracy": fmt_estimate(o["estimate"], o["ci_low"], o["ci_high"]),
                 "half-width": (o["ci_high"] - o["ci_low"]) / 2})
print("One group, true accuracy 0.88 (SIMULATION):")
print(pd.DataFrame(rows).set_index("n").round(3).to_string())

# %% [markdown]
# ## 5. Real faces: the seed's logistic regression on UTKFace
#
# With `ARTIFACTUAL_DATA` holding `utkface/`, this cell trains the seed's baseline, scikit-learn's
# logistic regression with its defaults on 48x48 greyscale pixels scaled to [0, 1], with the seed's
# split (20% test, stratified by gender, seed 0), using the project's seed-002 code
# (`analyses/knabenhans2024.py`). We hold UTKFace's `crop_part1` (about 9,800 faces, the seed had
# 23,705); the quick mode trains on a random subsample of 3,000 faces. The seed analysed its CNN
# "model 2"; the logistic regression is its baseline and trains in seconds. Gender labels are
# UTKFace's annotations; race uses UTKFace's own five codes. UTKFace has no identities, so the
# bootstrap resamples images. Without the data the cell says so and stops.

# %%
if not L.has("utkface"):
    print("No UTKFace under the data root: skipped (set ARTIFACTUAL_DATA to a folder holding utkface/). "
          "Everything above is simulation.")
else:
    from artifactual.analyses.knabenhans2024 import (RACE_NAMES, Knabenhans2024Config, age_decade, fit_logreg,
                                                     preprocessed_arrays, seed_preprocess, split_indices)
    from artifactual.replication.data import load_dataset
    from artifactual.replication.parallel import use_settings

    t = time.perf_counter()
    with use_settings(progress=False):
        ds = load_dataset("utkface", data_root=L.data_root)
        utk = preprocessed_arrays(ds, seed_preprocess(48))  # 48x48 grey (the seed's input), cached after a first run
    keep = np.arange(len(utk.y))
    if L.quick:
        keep = np.sort(np.random.default_rng(0).choice(len(utk.y), min(3000, len(utk.y)), replace=False))
    utk = type(utk)(utk.X[keep], utk.y[keep], utk.table.iloc[keep].reset_index(drop=True), utk.report)
    split = split_indices(utk.y, Knabenhans2024Config())
    model, info = fit_logreg(utk, split)
    test = split["test"]
    s_test = model.predict_score(utk.X[test])
    p_test = (s_test >= 0.5).astype(int)
    tt = utk.table.iloc[test]
    attrs = {"race": pd.to_numeric(tt["race"], errors="coerce").map(RACE_NAMES).to_numpy(object),
             "age_decade": age_decade(tt["age"]).to_numpy(object)}
    print(f"UTKFace: {len(utk.y):,} faces with gender ({'quick-mode subsample' if L.quick else 'all we hold'}); "
          f"train {len(split['train']):,}, test {len(test):,}; logistic regression converged: "
          f"{info['converged']} ({info['n_iter']} iterations, as the seed's defaults) "
          f"[{time.perf_counter() - t:.0f} s]")
    real = group_table(utk.y[test], p_test, s_test, attrs, CFG)
    real_seed = group_table(utk.y[test], p_test, s_test, attrs, SEEDS_WAY)
    o = real["overall"]
    print("overall test: " + ", ".join(f"{m} {fmt_estimate(o[m]['estimate'], o[m]['ci_low'], o[m]['ci_high'])}"
                                       for m in ("accuracy", "roc_auc")) + f" (n={o['n']})")
    for attr in attrs:
        print(f"\n=== {attr}: the seed's way ===")
        seeds_way(real_seed, attr)
        print(f"\n=== {attr}: the project's way ===")
        honest_way(real, attr)

    rows = [r for r in real_seed["groups"] if r["attribute"] == "age_decade"]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for i, r in enumerate(rows):
        v, small = r["accuracy"], r["n"] < CFG.min_n
        ax.errorbar(i, v["estimate"], yerr=[[v["estimate"] - v["ci_low"]], [v["ci_high"] - v["estimate"]]],
                    fmt="s" if small else "o", color="tab:red" if small else "tab:blue", capsize=3)
        ax.annotate(f"n={r['n']}", (i, 0.33), ha="center", fontsize=7)
    ax.set_xticks(range(len(rows)), [r["group"] for r in rows], rotation=45, fontsize=8)
    ax.set_ylim(0.3, 1.05)
    ax.set_ylabel("test accuracy")
    ax.set_title("UTKFace, logistic regression, by age decade (red: n < 30, too_small in the project's table)",
                 fontsize=9)
    plt.tight_layout()
    plt.show()

print(f"\n[notebook ran in {time.perf_counter() - T0:.0f} s]")
