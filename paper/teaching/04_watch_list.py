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
# # A watch-list at the station
#
# Seed 001 (Shanmugapriyan et al.) describes a system that matches faces from public CCTV cameras
# against a "criminal database" and raises an alert on a match. Its only number is borrowed from
# related work: "86% accuracy with a database of 50 records". This notebook asks what an operator at a
# busy station would actually see: how many alerts, and what fraction of them point at someone who is
# really on the list, when almost nobody walking past is.
#
# **Nobody here is a criminal.** Where this notebook measures anything on faces, the watch-list is a
# *constructed watch-list of public faces* (people in the LFW data set, by name), built by the project's
# seed-001 design; nobody on it is a criminal, and the notebook identifies nobody in anyone's photograph.
#
# **Learning goals.** After this notebook you can
# - turn a true-match rate, a false-alarm rate per passer-by and a base rate into alert precision (PPV),
#   false alerts per 10,000 passers-by and false alerts per true hit;
# - explain why a closed-set "accuracy with 50 records" says nothing about false alerts on strangers;
# - read a PPV curve over base rates, and carry the uncertainty of measured FNIR and FPIR
#   (person-bootstrap intervals) into it;
# - say what a false-alarm rate measured as 0 on a few hundred strangers does and does not show.
#
# **Time:** about 1 minute (about 15 s in quick mode). **You need:** `pip install -e '.[teaching]'` (or
# `make teaching`); with `ARTIFACTUAL_DATA` set and holding `lfw/` it measures FNIR and FPIR on a small
# constructed watch-list of public LFW faces with the seed's LBP pipeline and with dlib (a few hundred
# images, a few minutes the first time; templates are cached). Without it, the measured part runs on a
# clearly labelled simulation.

# %%
import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's widget notice; this notebook uses none

import json
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from artifactual.analyses.identification import (IdentificationConfig, alert_numbers, alerts_at_base_rates,
                                                 evaluate_identification, fnir_at_fpir, operating_point, searches,
                                                 simulate_alert_stream)
from artifactual.analyses.shanmugapriyan import SEED_CLAIM
from artifactual.paper.lessons import lesson
from artifactual.replication.designs.shanmugapriyan import WATCHLIST_NOTE

L = lesson()
print(L.describe("lfw"))
T0 = time.perf_counter()
N_BOOT = L.size(full=1000, quick=200)  # person-bootstrap draws
STATION = (1e-2, 1e-4, 1e-6)  # share of passers-by on the watch-list: 1 in 100, 1 in 10,000, 1 in 1,000,000
print("the seed's number:", SEED_CLAIM["source"])


def num(x: float | None) -> str:
    """Three significant digits (PPVs span 1 to 1e-5), whole numbers from 1,000 up."""
    return "—" if x is None else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def ci(q: dict) -> str:
    """'estimate [95% interval]' of an interval dict; the estimate alone when it has no interval."""
    if q["ci_low"] is None or q["ci_high"] is None:
        return num(q["estimate"])
    return f"{num(q['estimate'])} [{num(q['ci_low'])}, {num(q['ci_high'])}]"


def alert_table(rows: list[dict], interval: bool) -> pd.DataFrame:
    """alerts_at_base_rates output -> one line per base rate."""
    f = ci if interval else (lambda q: num(q["estimate"]))
    return pd.DataFrame([{"on the list": f"1 in {round(1 / r['base_rate']):,}", "PPV (share of alerts real)":
                          f(r["ppv"]), "false alerts per 10,000": f(r["false_alerts_per"]),
                          "false alerts per true hit": f(r["false_alerts_per_true_hit"])} for r in rows]
                        ).set_index("on the list")


# %% [markdown]
# ## 1. The arithmetic, with assumed rates
#
# **ASSUMPTIONS, not measurements.** Read the seed's "86%" as generously as possible: the system finds
# 86% of listed people who walk past (true-match rate 0.86, so FNIR, the share of listed people missed,
# is 0.14). The seed gives no false-alarm rate at all. We assume three: an alert on 1 stranger in 100,
# in 1,000 and in 10,000 (FPIR 0.01, 0.001, 0.0001 per passer-by). These are plausible orders of
# magnitude for face search on uncontrolled camera images, not numbers anyone measured for this system.

# %% [markdown]
# **Predict (Q4.1).** The system finds 86% of listed people and raises a false alert on 1 stranger in
# 1,000. If 1 passer-by in 10,000 is on the list, out of 100 alerts, about how many point at someone
# really on the list? And if 1 in 1,000,000 is?

# %%
FNIR_ASSUMED = 1 - SEED_CLAIM["rank1_at_50"]  # 0.14: the seed's 86% read as a true-match rate (generous)
FPIR_ASSUMED = (1e-2, 1e-3, 1e-4)
print(f"ASSUMED: true-match rate {1 - FNIR_ASSUMED:.2f} (FNIR {FNIR_ASSUMED:.2f}); false-alarm rates {FPIR_ASSUMED}.")
print("No intervals: these rows are arithmetic on assumed rates, not estimates.\n")
for fpir in FPIR_ASSUMED:
    print(f"--- assumed FPIR {fpir:g} (1 false alert per {round(1 / fpir):,} strangers) ---")
    print(alert_table(alerts_at_base_rates(FNIR_ASSUMED, fpir, base_rates=STATION), interval=False).to_string())
    print()

# %% [markdown]
# ## 2. The PPV curve

# %% [markdown]
# **Predict (Q4.2).** Keep the true-match rate at 0.86. If 1 passer-by in 1,000,000 is on the list,
# how low must the false-alarm rate per passer-by be for **half** of all alerts to be real?

# %%
base = np.logspace(-7, -1, 200)
fig, ax = plt.subplots(figsize=(7.5, 4))
for fpir in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6):
    ax.plot(base, alert_numbers(FNIR_ASSUMED, fpir, base)["ppv"], label=f"FPIR {fpir:g}")
for b in STATION:
    ax.axvline(b, color="grey", ls=":", lw=0.8)
ax.set_xscale("log")
ax.set_yscale("log")  # PPV falls in proportion to the base rate once false alerts dominate: straight lines
ax.set_ylim(1e-7, 1.5)
ax.set_xlabel("share of passers-by on the watch-list (base rate)")
ax.set_ylabel("PPV: share of alerts that are real")
ax.set_title("ASSUMED rates: true-match rate 0.86, five false-alarm rates", fontsize=10)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

fpir_grid = np.logspace(-10, -1, 901)
for b in STATION:
    ppv = alert_numbers(FNIR_ASSUMED, fpir_grid, b)["ppv"]
    need = fpir_grid[ppv >= 0.5].max()
    print(f"1 in {round(1 / b):>9,} on the list: half the alerts are real only if FPIR <= {need:.2g} "
          f"(1 false alert per {round(1 / need):,} strangers)")

# %% [markdown]
# ## 3. A day at the station
#
# **SIMULATION of passers-by** (seeded binomial draws from the assumed rates, not real people).

# %% [markdown]
# **Predict (Q4.3).** 100,000 people pass the camera each day and 1 in 10,000 of them is on the list
# (about 10 a day). With FNIR 0.14 and FPIR 0.001, how many alerts will the operator get a day, and how
# many of them real? Will every day look about the same?

# %%
PASSERS, DAYS = 100_000, 14
days = [simulate_alert_stream(FNIR_ASSUMED, 1e-3, 1e-4, PASSERS, seed=day) for day in range(DAYS)]
print(pd.DataFrame([{"day": d + 1, "on the list": r["enrolled"], "true alerts": r["true_alerts"],
                     "false alerts": r["false_alerts"], "share of alerts real": round(r["ppv"], 3)}
                    for d, r in enumerate(days)]).set_index("day").to_string())
pooled = simulate_alert_stream(FNIR_ASSUMED, 1e-3, 1e-4, PASSERS, n_streams=365, seed=99)
closed = alert_numbers(FNIR_ASSUMED, 1e-3, 1e-4)
print(f"\na simulated year ({pooled['n_passers']:,} passers-by): {pooled['true_alerts']:,} true and "
      f"{pooled['false_alerts']:,} false alerts, PPV {pooled['ppv']:.4f}; closed form {float(closed['ppv']):.4f} "
      f"({float(closed['false_alerts_per_true_hit']):.0f} false alerts per true hit)")

# %% [markdown]
# ## 4. Measured rates, with their uncertainty
#
# The rates above were assumed. Here they are measured on a watch-list of **50 people**, the size of the
# seed's cited database, with person-bootstrap 95% intervals (the person is the independent unit: one
# person's photographs share a face, a camera and a pose). A threshold is set so that about 1 stranger
# in 100 raises an alert (FPIR 0.01 on the non-mated searches, the project's seed-001 operating point),
# and the FNIR and FPIR measured there, with their paired bootstrap draws, go through the same closed
# form.
#
# - With `ARTIFACTUAL_DATA` holding `lfw/`: a **constructed watch-list of public faces** (50 LFW people
#   with two or more photographs enrolled from their first photograph; up to 2 other photographs each as
#   mated searches; other LFW people, never enrolled, as the strangers), templates from the seed's
#   pipeline (greyscale, median filter, Haar face box, 7x7 uniform LBP, chi-square) and from dlib's
#   128-d face-recognition network. Nobody on the list is a criminal.
# - Without it: a **SIMULATED watch-list**, made-up similarity scores for 50 made-up identities (no faces
#   at all), so that the same code runs; its numbers describe our simulation, not any system.

# %%
ICFG = IdentificationConfig(n_boot=N_BOOT, max_rank=5, fpir_targets=(0.1, 0.01))
GALLERY = 50
NONMATED_PEOPLE = L.size(full=200, quick=100)


def simulated_watchlist(seed: int = 0):
    """SIMULATION: similarity scores of mated and non-mated searches against 50 made-up identities.

    Each search's scores are N(0, 1) plus the searcher's own offset N(0, 0.5) (some faces resemble many
    others, which is why persons, not searches, are resampled); a mated search's own identity gets +3.5.
    """
    rng = np.random.default_rng(seed)
    mated_person = np.repeat(np.arange(GALLERY), 2)  # 2 mated searches per enrolled identity
    nonmated_person = GALLERY + np.repeat(np.arange(NONMATED_PEOPLE), 2)  # 2 searches per stranger
    person = np.r_[mated_person, nonmated_person]
    offset = rng.normal(0, 0.5, GALLERY + NONMATED_PEOPLE)[person]
    S = rng.normal(size=(len(person), GALLERY)) + offset[:, None]
    mate = np.r_[mated_person, -np.ones(len(nonmated_person), int)]
    S[np.arange(len(mated_person)), mated_person] += 3.5
    return {"simulation": (S, mate, person.astype(str))}


def lfw_watchlist():
    """The constructed watch-list of public LFW faces, scored with the seed's LBP pipeline and with dlib."""
    from artifactual.analyses.shanmugapriyan import full, pipelines, scores, templates_of
    from artifactual.replication.data import load_dataset
    from artifactual.replication.designs.shanmugapriyan import (WatchlistDesign, build_watchlist,
                                                                gallery_members)
    from artifactual.replication.designs.shanmugapriyan import searches as search_rows
    from artifactual.replication.parallel import use_settings

    with use_settings(progress=False):
        ds = load_dataset("lfw", data_root=L.data_root).usable()
    design = WatchlistDesign(gallery_sizes=(GALLERY,), nonmated_people=NONMATED_PEOPLE, max_images_nonmated=2,
                             max_probes=2, seed=0)
    roles, counts = build_watchlist(ds.table, design)
    enrol = gallery_members(roles, GALLERY).sort_values("order")  # row k is the person of order k
    probes = search_rows(roles, GALLERY)
    mate = np.where(probes["role"] == "mated", probes["order"], -1).astype(int)
    person = probes["identity"].astype(str).to_numpy()
    print(f"LFW watch-list ({counts['note']}): {len(enrol)} people enrolled, "
          f"{int((mate >= 0).sum())} mated searches of {len(set(person[mate >= 0]))} of them, "
          f"{int((mate < 0).sum())} non-mated searches of {len(set(person[mate < 0]))} people never enrolled; "
          f"{len(enrol) + len(probes)} images")
    out = {}
    for name in ("lbp", "dlib"):
        t = time.perf_counter()
        pipe = pipelines()[name]
        with use_settings(progress=False):
            te = templates_of(pipe, ds.root, enrol["path"].tolist(), "clean")  # cached after the first run
            tp = templates_of(pipe, ds.root, probes["path"].tolist(), "clean")
        dim = (te.vectors if len(te.vectors) else tp.vectors).shape[1]
        S = scores(pipe, full(tp, dim), full(te, dim))  # no face: FAILED_SCORE (a miss / no alert), never replaced
        print(f"  {name}: {pipe.describes}; no face found in {int((~te.found).sum())} enrolment and "
              f"{int((~tp.found).sum())} search images [{time.perf_counter() - t:.0f} s]")
        out[name] = (S, mate, person)
    return out


REAL = L.has("lfw")
if REAL:
    print(WATCHLIST_NOTE)
    measured_inputs = lfw_watchlist()
else:
    print("No LFW under the data root: the measured part runs on a SIMULATED watch-list (made-up scores).")
    measured_inputs = simulated_watchlist()

# %% [markdown]
# **Predict (Q4.4).** Suppose the rank-1 rate on this 50-person list comes out near the seed's 86%:
# 86 of 100 searches by listed people put the right person first. What does that tell you about how
# often a stranger raises an alert? And will FNIR at the threshold (FPIR 0.01) be about 0.14?

# %%
measured = {}
for name, (S, mate, person) in measured_inputs.items():
    ev = evaluate_identification(S, mate, person, ICFG)
    s = searches(S, mate, person)
    fa = fnir_at_fpir(s, (0.01,), n_boot=N_BOOT)[0]
    if not fa["estimable"]:
        print(f"{name}: {fa['reason']}")
        continue
    op = operating_point(s, fa["threshold"], n_boot=N_BOOT, return_draws=True)
    measured[name] = op
    r1 = ev["cmc"]["points"][0]["rate"]
    print(f"=== {name}{' (SIMULATION)' if name == 'simulation' else ' (constructed watch-list of public faces)'} ===")
    print(f"closed-set rank-1 on {ev['n_gallery']} enrolled: {ci(r1)} "
          f"(n={ev['cmc']['n_searches']} mated searches of {ev['cmc']['n_persons']} people); "
          f"the seed's cited {SEED_CLAIM['rank1_at_50']:.0%} has no n and no interval")
    print(f"at the threshold giving FPIR 0.01 (threshold {fa['threshold']:.4g}, chosen on the same strangers):")
    print(f"  FPIR (strangers who raise an alert): {ci(op['fpir'])} "
          f"(n={op['fpir']['n_searches']} searches of {op['fpir']['n_persons']} people)")
    print(f"  FNIR (listed people missed): {ci(op['fnir'])} "
          f"(n={op['fnir']['n_searches']} searches of {op['fnir']['n_persons']} people)")
    print(f"  wrong-identity alerts on listed people: {ci(op['wrong_identity_alert_rate'])}")
    print(f"  FNIR with the threshold re-chosen in every bootstrap draw: {ci(fa['fnir'])}\n")

# %% [markdown]
# **Predict (Q4.5).** The measured FPIR rests on a few hundred strangers' searches. Feed it, with its
# interval, into the PPV arithmetic. At 1 in 100 on the list, and at 1 in 1,000,000, how wide do you
# expect the PPV interval to be? What would it mean if no stranger at all had raised an alert?

# %%
for name, op in measured.items():
    rows = alerts_at_base_rates(op["fnir"]["estimate"], op["fpir"]["estimate"], op["draws"]["fnir"],
                                op["draws"]["fpir"], base_rates=STATION, n_nonmated=op["fpir"]["n_searches"])
    print(f"=== {name}: measured FNIR {ci(op['fnir'])}, FPIR {ci(op['fpir'])}; 95% intervals from the paired "
          f"person-bootstrap draws ===")
    print(alert_table(rows, interval=True).to_string())
    for r in rows:
        if "note" in r:
            print(f"  1 in {round(1 / r['base_rate']):,}: {r['note']}")
    print()

# the full seed-001 study, when it has been run in this checkout (looked for from here upwards)
found = [d / "results/shanmugapriyan/summary.json" for d in (Path.cwd(), *Path.cwd().parents)]
summary = next((f for f in found if f.is_file()), None)
if summary is not None:
    full_run = json.loads(summary.read_text())
    print(f"For comparison, the full study ({summary}): measured on LFW at its own operating point "
          "(a much larger constructed watch-list of public faces, many more strangers):")
    for name, p in full_run.get("pipelines", {}).items():
        op = p.get("operating_point") or {}
        if isinstance(p.get("alerts"), list) and op.get("fpir"):
            print(f"  {name}, gallery {op.get('gallery')}: FPIR {ci(op['fpir'])}, FNIR {ci(op['fnir'])}; " + "; ".join(
                f"1 in {round(1 / a['base_rate']):,}: PPV {ci(a['ppv'])}" for a in p["alerts"]))
else:
    print("(results/shanmugapriyan/summary.json not found: `artifactual replicate shanmugapriyan` makes it)")

fig, ax = plt.subplots(figsize=(7.5, 4))
grid = tuple(np.logspace(-7, -1, 61))
for name, op in measured.items():
    rows = alerts_at_base_rates(op["fnir"]["estimate"], op["fpir"]["estimate"], op["draws"]["fnir"],
                                op["draws"]["fpir"], base_rates=grid)
    est = np.array([r["ppv"]["estimate"] for r in rows])
    zero = " (PPV 0: no true alert, not drawn)" if not np.any(est > 0) else ""
    line, = ax.plot(grid, np.where(est > 0, est, np.nan),
                    label=f"{name}: FPIR {op['fpir']['estimate']:.3g}, FNIR {op['fnir']['estimate']:.2f}{zero}")
    low = np.array([r["ppv"]["ci_low"] for r in rows])
    ax.fill_between(grid, np.maximum(low, 1e-7), [r["ppv"]["ci_high"] for r in rows], color=line.get_color(),
                    alpha=0.2)  # a lower end of 0 is drawn at the axis' floor, 1e-7
for b in STATION:
    ax.axvline(b, color="grey", ls=":", lw=0.8)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_ylim(1e-7, 1.5)
ax.set_xlabel("share of passers-by on the watch-list (base rate)")
ax.set_ylabel("PPV (95% person-bootstrap band)")
ax.set_title("Measured rates" + (" on a constructed watch-list of public LFW faces" if REAL
                                 else ": SIMULATED watch-list"), fontsize=10)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
print(f"[notebook ran in {time.perf_counter() - T0:.0f} s]")
