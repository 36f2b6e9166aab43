"""Figures of ``make calibrate``, drawn from ``results/calibration/summary.json`` only.

``python -m artifactual.paper.figures calibration results/calibration`` writes
``results/calibration/figures/<key>.png`` for each key whose data the summary holds:

- ``fpr``: each test's pooled false-positive rate at alpha on null datasets, with its Monte Carlo
  95% interval, the target band shaded and alpha as a line; the verdict's confirmatory tests, the
  other tests and the old procedures ("old: ...") drawn differently;
- ``coverage``: how often each reported 95% interval held the true value (null and signal
  datasets), with its Monte Carlo interval, beside the Nadeau-Bengio interval on the same datasets;
- ``min_size``: the false-positive rate of the probe tests the verdict reads, and their intervals'
  coverage, by identities per class, with the audit's minimum (``min_identities``) marked;
- only when the summary holds the verdict grid (``verdict``, analyses.calibration_verdict):
  ``verdict_confusion``, the verdicts given in each design cell (trait x artifact x association) with
  the right ones outlined, and ``explained_share``, the estimated share against its truth per cell.

Like every module of :mod:`artifactual.paper.figures`, these functions only draw what the analysis wrote.

Examples
--------
>>> import json, tempfile
>>> tmp = Path(tempfile.mkdtemp())
>>> row = {"test": "label_learnable", "datasets": 100, "rejections": 5, "fpr": 0.05,
...        "mc_low": 0.02, "mc_high": 0.11}
>>> cov = {"interval": "reported", "test": "label_learnable", "truth": "null", "datasets": 100,
...        "covered": 95, "coverage": 0.95, "mc_low": 0.89, "mc_high": 0.98, "mean_width": 0.2}
>>> summary = {"alpha": 0.05, "targets": {"fpr": [0.035, 0.065], "coverage": 0.93}, "min_identities": 10,
...            "confirmatory_tests": ["label_learnable"],
...            "fpr_table": [{**row, "subset": "all designs"}, {**row, "subset": "ids_per_class=5"},
...                          {**row, "subset": "ids_per_class=10"}],
...            "coverage_table": [{**cov, "subset": "all designs"}, {**cov, "subset": "ids_per_class=5"},
...                               {**cov, "subset": "ids_per_class=10"}]}
>>> _ = (tmp / "summary.json").write_text(json.dumps(summary))
>>> from artifactual.paper.figures import draw
>>> sorted(draw("calibration", tmp))  # no verdict grid in this summary: its two figures are skipped
['coverage', 'fpr', 'min_size']
>>> (tmp / "figures" / "fpr.png").read_bytes()[:4]
b'\\x89PNG'
>>> cell = {"trait": "none", "artifact": "strong", "association": 1.0}
>>> summary["verdict"] = {"confusion": [{**cell, "source_confound": 2, "inconclusive": 1}],
...                       "share_by_cell": [{**cell, "n": 3, "truth": 0.9, "estimate": 0.8}]}
>>> _ = (tmp / "summary.json").write_text(json.dumps(summary))
>>> sorted(draw("calibration", tmp))
['coverage', 'explained_share', 'fpr', 'min_size', 'verdict_confusion']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("calibration")

#: The verdict's confirmatory family (analyses.verdict.CONFIRMATORY), in the order the figures list it.
VERDICT_FAMILY = ("label_source_association", "label_learnable", "capture_properties", "face_removed_dilated")
POOLED = "all designs"
BLUE, GREEN, RED, ORANGE, GREY = "tab:blue", "tab:green", "tab:red", "tab:orange", "0.45"


def _name(test: str) -> str:
    """Display name: ``old: fixed score permutation`` for the old procedures, else the test with spaces."""
    if test.startswith("old_"):
        return "old: " + test.removeprefix("old_").replace("_", " ")
    return test.replace("_", " ")


def _truth(test: str, truth: str) -> str:
    """A coverage row's truth in words: the within-source probe's "signal" rows are source-tied designs."""
    return "source-tied" if truth == "signal" and test.endswith("_within_source") else truth


def _kind(test: str, s: dict[str, Any]) -> str:
    """``confirmatory`` (read by the verdict), ``old`` (replaced procedure) or ``other``."""
    if test.startswith("old_"):
        return "old"
    family = [t for t in s.get("confirmatory_tests") or VERDICT_FAMILY if t in VERDICT_FAMILY]
    return "confirmatory" if test in family else "other"


def _order(tests: list[str], s: dict[str, Any]) -> list[str]:
    rank = {"confirmatory": 0, "other": 1, "old": 2}
    known = list(VERDICT_FAMILY)
    return sorted(tests, key=lambda t: (rank[_kind(t, s)], known.index(t) if t in known else len(known), t))


def _rows(table: list[dict[str, Any]] | None, **match: Any) -> list[dict[str, Any]]:
    return [r for r in table or [] if all(r.get(k) == v for k, v in match.items())
            and r.get("datasets") and r.get("mc_low") is not None]


def _err(v: float, lo: float, hi: float) -> list[list[float]]:
    return [[max(0.0, v - lo)], [max(0.0, hi - v)]]


def _errs(values: list[float], rows: list[dict[str, Any]]) -> list[list[float]]:
    """Error bar lengths below and above each value (never negative: Wilson ends can round past it)."""
    return [[max(0.0, v - r["mc_low"]) for v, r in zip(values, rows)],
            [max(0.0, r["mc_high"] - v) for v, r in zip(values, rows)]]


@FIGURES.figure("fpr")
def fpr_figure(s: dict[str, Any], folder: Path) -> str | None:
    """Pooled false-positive rate of each test with its Monte Carlo 95% interval."""
    pooled = {r["test"]: r for r in _rows(s.get("fpr_table"), subset=POOLED)}
    if not pooled:
        return None
    tests = _order(list(pooled), s)
    alpha = float(s.get("alpha", 0.05))
    lo_t, hi_t = s.get("targets", {}).get("fpr", [0.035, 0.065])
    # the old procedures can reject far more often than alpha: past the right edge they are drawn as
    # an arrow with their number, so the target band stays readable
    edge = max(0.2, min(0.3, 1.4 * max(r["mc_high"] for t, r in pooled.items() if _kind(t, s) != "old")))
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * len(tests) + 1.3))
    ax.axvspan(lo_t, hi_t, color=GREEN, alpha=0.15, lw=0, label=f"target {lo_t:g}–{hi_t:g}")
    ax.axvline(alpha, color="k", lw=0.9, label=f"alpha = {alpha:g}")
    style = {"confirmatory": (BLUE, "o", "confirmatory (verdict family)"),
             "other": (GREY, "D", "other test (not read by the verdict)"),
             "old": (RED, "s", "old procedure (replaced)")}
    seen = set()
    for i, t in enumerate(tests):
        r, kind = pooled[t], _kind(t, s)
        colour, marker, label = style[kind]
        label = None if kind in seen else label
        seen.add(kind)
        text = f"{r['fpr']:.3f} ({r['rejections']}/{r['datasets']})"
        if r["fpr"] <= edge:
            ax.errorbar(r["fpr"], i, xerr=_err(r["fpr"], r["mc_low"], min(r["mc_high"], edge)), fmt=marker,
                        color=colour, capsize=3, ms=6, label=label)
            # the number just above the marker (the y axis is inverted: smaller is higher)
            ax.text(r["fpr"], i - 0.16, text, va="bottom", ha="center", fontsize=7, color=colour,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.85})
        else:
            ax.plot(edge * 0.985, i, marker=">", color=colour, ms=8, ls="none", label=label)
            ax.text(edge * 0.965, i, f"{text}, MC [{r['mc_low']:.2f}, {r['mc_high']:.2f}]",
                    va="center", ha="right", fontsize=7, color=colour)
    ax.set_yticks(range(len(tests)), [_name(t) for t in tests], fontsize=8)
    for tick, t in zip(ax.get_yticklabels(), tests):
        tick.set_color(style[_kind(t, s)][0])
    ax.set_ylim(len(tests) - 0.5, -0.75)  # inverted, with room for the numbers above the first row
    ax.set_xlim(0, edge)
    ax.set_xlabel(f"false-positive rate at alpha {alpha:g} (Monte Carlo 95% interval); pooled over designs "
                  f"with >= {s.get('min_identities', 10)} identities per class", fontsize=8)
    ax.set_title("How often each test rejects on datasets where the label carries nothing", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
    ax.grid(axis="x", lw=0.3, alpha=0.5)
    return save(fig, folder, "fpr", dpi=150)


@FIGURES.figure("coverage")
def coverage_figure(s: dict[str, Any], folder: Path) -> str | None:
    """Coverage of the reported 95% intervals (null and signal) beside the Nadeau-Bengio interval."""
    table = s.get("coverage_table")
    rep = _rows(table, subset=POOLED, interval="reported")
    if not rep:
        return None
    nb = {(r["test"], r["truth"]): r for r in _rows(table, subset=POOLED, interval="nadeau_bengio")}
    order = _order(sorted({r["test"] for r in rep}), s)
    keys = sorted({(r["test"], r["truth"]) for r in rep}, key=lambda k: (order.index(k[0]), k[1] != "null"))
    rep = {(r["test"], r["truth"]): r for r in rep}
    target = float(s.get("targets", {}).get("coverage", 0.93))
    lows = [r["mc_low"] for r in [*rep.values(), *nb.values()]]
    left = max(0.0, min(0.85, np.floor((min(lows) - 0.02) * 20) / 20))
    fig, ax = plt.subplots(figsize=(7.2, 0.5 * len(keys) + 1.3))
    ax.axvspan(left, target, color=RED, alpha=0.07, lw=0)
    ax.axvline(0.95, color="k", lw=0.9, label="nominal 0.95")
    ax.axvline(target, color=RED, lw=0.9, ls="--", label=f"target >= {target:g}")
    nb_labelled = False
    for i, k in enumerate(keys):
        r = rep[k]
        ax.errorbar(r["coverage"], i - 0.12, xerr=_err(r["coverage"], r["mc_low"], r["mc_high"]), fmt="o",
                    color=BLUE, capsize=3, ms=6, label="reported interval" if i == 0 else None)
        ax.text(1.012, i - 0.12, f"{r['coverage']:.3f} (n {r['datasets']}, width {r['mean_width']:.3f})",
                va="center", fontsize=6.5, color=BLUE, transform=ax.get_yaxis_transform(), clip_on=False)
        if k in nb:
            q = nb[k]
            ax.errorbar(q["coverage"], i + 0.18, xerr=_err(q["coverage"], q["mc_low"], q["mc_high"]), fmt="s",
                        color=ORANGE, capsize=3, ms=5, mfc="white",
                        label=None if nb_labelled else "Nadeau–Bengio corrected t (not reported)")
            nb_labelled = True
            ax.text(1.012, i + 0.18, f"{q['coverage']:.3f} (width {q['mean_width']:.3f})", va="center",
                    fontsize=6.5, color=ORANGE, transform=ax.get_yaxis_transform(), clip_on=False)
    ax.set_yticks(range(len(keys)), [f"{_name(t)}\n({_truth(t, truth)} datasets)" for t, truth in keys], fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(left, 1.0)
    ax.set_xlabel("share of datasets whose 95% interval holds the true value (Monte Carlo 95% interval)",
                  fontsize=8)
    ax.set_title("Coverage of the 95% intervals", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1 - 0.2 / len(keys)), ncol=4, frameon=False)
    ax.grid(axis="x", lw=0.3, alpha=0.5)
    return save(fig, folder, "coverage", dpi=150)


def _by_size(table: list[dict[str, Any]] | None, **match: Any) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for r in _rows(table, **match):
        sub = str(r.get("subset", ""))
        if sub.startswith("ids_per_class="):
            out.setdefault(r["test"], []).append((int(float(sub.split("=", 1)[1])), r))
    return {t: sorted(v, key=lambda kv: kv[0]) for t, v in out.items() if len(v) >= 2}


@FIGURES.figure("min_size")
def min_size_figure(s: dict[str, Any], folder: Path) -> str | None:
    """The verdict's probe tests' FPR and null coverage by identities per class, with the minimum marked."""
    # the probe tests the verdict reads (the within-source probe's designs draw their sizes at random)
    probe = lambda t: t in VERDICT_FAMILY and t != "label_source_association"  # noqa: E731
    fpr = {t: v for t, v in _by_size(s.get("fpr_table")).items() if probe(t)}
    cov = {t: v for t, v in _by_size(s.get("coverage_table"), interval="reported", truth="null").items() if probe(t)}
    if not fpr and not cov:
        return None
    minimum = int(s.get("min_identities", 10))
    alpha = float(s.get("alpha", 0.05))
    lo_t, hi_t = s.get("targets", {}).get("fpr", [0.035, 0.065])
    target = float(s.get("targets", {}).get("coverage", 0.93))
    tests = _order(sorted(set(fpr) | set(cov)), s)
    sizes = sorted({k for v in [*fpr.values(), *cov.values()] for k, _ in v})
    colours = dict(zip(tests, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax in (a, b):
        ax.set_xscale("log")
        if min(sizes) < minimum:  # sizes the audit reports as too_small
            ax.axvspan(min(sizes) / 1.5, minimum / 1.2, color=GREY, alpha=0.12, lw=0)
        ax.axvline(minimum, color="k", lw=0.8, ls=":", label=f"audit's minimum ({minimum})")
        ax.set_xticks(sizes, [str(k) for k in sizes])
        ax.minorticks_off()
        ax.set_xlim(min(sizes) / 1.5, max(sizes) * 1.5)
        ax.set_xlabel("identities per class (smaller class)", fontsize=8)
        ax.grid(axis="y", lw=0.3, alpha=0.5)
    shift = {t: 1.0 + 0.05 * (i - (len(tests) - 1) / 2) for i, t in enumerate(tests)}
    a.axhspan(lo_t, hi_t, color=GREEN, alpha=0.15, lw=0, label=f"target {lo_t:g}–{hi_t:g}")
    a.axhline(alpha, color="k", lw=0.8)
    for t, pts in sorted(fpr.items(), key=lambda kv: tests.index(kv[0])):
        x = [k * shift[t] for k, _ in pts]
        y = [r["fpr"] for _, r in pts]
        a.errorbar(x, y, yerr=_errs(y, [r for _, r in pts]),
                   marker="o", ms=4, capsize=2, lw=1, color=colours[t], label=_name(t))
    a.set_ylabel(f"false-positive rate at alpha {alpha:g}", fontsize=8)
    a.set_title("False-positive rate (null datasets)", fontsize=9)
    b.axhline(0.95, color="k", lw=0.8)
    b.axhline(target, color=RED, lw=0.8, ls="--", label=f"target >= {target:g}")
    for t, pts in sorted(cov.items(), key=lambda kv: tests.index(kv[0])):
        x = [k * shift[t] for k, _ in pts]
        y = [r["coverage"] for _, r in pts]
        b.errorbar(x, y, yerr=_errs(y, [r for _, r in pts]),
                   marker="o", ms=4, capsize=2, lw=1, color=colours[t], label=_name(t))
    b.set_ylabel("coverage of the reported 95% interval", fontsize=8)
    b.set_title("Interval coverage (null datasets)", fontsize=9)
    for ax in (a, b):
        ymin, ymax = ax.get_ylim()
        if min(sizes) < minimum:
            ax.text(min(sizes) / 1.45, ymin + 0.02 * (ymax - ymin), "reported as\ntoo_small", fontsize=7,
                    color="0.3", va="bottom")
    handles, labels = a.get_legend_handles_labels()
    h2, l2 = b.get_legend_handles_labels()
    extra = [(h, lab) for h, lab in zip(h2, l2) if lab.startswith("target")]
    # the minimum's line is drawn on both panels: one legend entry
    keep = [i for i, lab in enumerate(labels) if not lab.startswith("audit's") or i == labels.index(lab)]
    handles, labels = [handles[i] for i in keep], [labels[i] for i in keep]
    fig.legend(handles + [h for h, _ in extra], labels + [lab for _, lab in extra], fontsize=7,
               loc="lower center", ncol=min(7, len(labels) + len(extra)), bbox_to_anchor=(0.5, -0.06), frameon=False)
    fig.suptitle("Probe tests by identities per class", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save(fig, folder, "min_size", dpi=150)


@FIGURES.figure("verdict_confusion")
def verdict_confusion_figure(s: dict[str, Any], folder: Path) -> str | None:
    """The verdict grid's confusion matrix: design cell (trait x artifact x association, sources pooled)
    by verdict, with the count in each cell and the verdicts that are right for the cell outlined."""
    from artifactual.analyses.calibration_verdict import ARTIFACTS, TRAITS, VerdictDesign, expected_verdicts
    from artifactual.analyses.verdict import VERDICTS

    rows = (s.get("verdict") or {}).get("confusion") or []
    if not rows:
        return None
    rank = lambda r: (r.get("kind", "synthetic") != "synthetic", TRAITS.index(r["trait"]) if r["trait"] in TRAITS else 9,  # noqa: E731
                      ARTIFACTS.index(r["artifact"]) if r["artifact"] in ARTIFACTS else 9, float(r["association"]))
    rows = sorted(rows, key=rank)
    counts = np.array([[int(r.get(v) or 0) for v in VERDICTS] for r in rows])
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.6, 0.27 * len(rows) + 1.9))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1.6, aspect="auto")
    for i, r in enumerate(rows):
        good = expected_verdicts(VerdictDesign(r["trait"], r["artifact"], float(r["association"]), 1))
        for j, v in enumerate(VERDICTS):
            if v in good:  # the right answer(s) for this cell: outlined
                ax.add_patch(plt.Rectangle((j - 0.46, i - 0.44), 0.92, 0.88, fill=False, ec=GREEN, lw=1.9))
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8.5,
                        color="white" if share[i, j] > 0.6 else "k")
        right = int(sum(counts[i, j] for j, v in enumerate(VERDICTS) if v in good))
        ax.text(len(VERDICTS) - 0.35, i, f"{right}/{counts[i].sum()}", va="center", fontsize=8, color="0.3")
    for i in range(1, len(rows)):  # a rule between traits, a finer one between artifacts
        if rows[i]["trait"] != rows[i - 1]["trait"] or rows[i].get("kind") != rows[i - 1].get("kind"):
            ax.axhline(i - 0.5, color="k", lw=1.0)
        elif rows[i]["artifact"] != rows[i - 1]["artifact"]:
            ax.axhline(i - 0.5, color="0.6", lw=0.5)
    names = [("real " if r.get("kind", "synthetic") != "synthetic" else "") +
             f"trait {r['trait']:<6}  artifact {r['artifact']:<6}  P {float(r['association']):.1f}" for r in rows]
    ax.set_yticks(range(len(rows)), names, fontsize=7.5, family="monospace")
    ax.set_xticks(range(len(VERDICTS)), [v.replace("_", " ") for v in VERDICTS], fontsize=8.5, rotation=30, ha="right")
    ax.set_xlim(-0.5, len(VERDICTS) + 0.2)
    ax.text(len(VERDICTS) - 0.35, -0.6, "right/n", fontsize=8, color="0.3", ha="left", va="bottom")
    ax.tick_params(length=0)
    ax.set_title("Which verdict the audit gives on datasets whose truth is known\n(number of datasets; green "
                 "outline: the right verdicts; sources per class pooled)", fontsize=9.5, pad=14)
    return save(fig, folder, "verdict_confusion", dpi=150)


@FIGURES.figure("explained_share")
def explained_share_figure(s: dict[str, Any], folder: Path) -> str | None:
    """The explained share the audit estimates against its large-sample truth, one point per design cell."""
    v = s.get("verdict") or {}
    cells = [r for r in v.get("share_by_cell") or [] if r.get("truth") is not None and r.get("estimate") is not None]
    if not cells:
        return None
    fig, ax = plt.subplots(figsize=(5.0, 5.6))
    lo = min(-0.05, *(min(r["truth"], r["estimate"]) for r in cells)) - 0.05
    hi = max(1.05, *(max(r["truth"], r["estimate"]) for r in cells)) + 0.05
    xs = np.array([lo, hi])
    ax.fill_between(xs, xs - 0.1, xs + 0.1, color=GREEN, alpha=0.15, lw=0, label="within 0.1 of the truth")
    ax.plot(xs, xs, color="k", lw=0.8, label="estimate = truth")
    colours = {"none": GREY, "subtle": BLUE, "strong": RED}
    markers = {"none": "o", "weak": "s", "strong": "^"}
    for r in cells:
        ax.scatter(r["truth"], r["estimate"], s=18 + 6 * float(r.get("n") or 1), color=colours.get(r["artifact"], "k"),
                   marker=markers.get(r["trait"], "D"), edgecolor="white", lw=0.5, zorder=3)
        if abs(r["estimate"] - r["truth"]) > 0.1:  # the cells that miss: which association
            left = r["truth"] > hi - 0.3  # near the right edge: the label goes to the left of the point
            ax.annotate(f"P {float(r['association']):g}", (r["truth"], r["estimate"]), xytext=(-5 if left else 5, 2),
                        textcoords="offset points", fontsize=8, color="0.3", ha="right" if left else "left")
    # one legend entry per colour (artifact) and per marker (trait), not per combination
    for a, c in colours.items():
        ax.scatter([], [], color=c, marker="o", label=f"artifact {a}")
    for tr, m in markers.items():
        ax.scatter([], [], color="0.2", marker=m, label=f"trait {tr}")
    ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal")
    ax.set_xlabel("true explained share (the model's large-sample limit)", fontsize=9)
    ax.set_ylabel("estimated explained share\n(mean over the cell's datasets)", fontsize=9)
    t = (v.get("targets") or {}).get("explained_share_within_0.1")
    note = (f"datasets within 0.1: {t['k']}/{t['n']} = {t['rate']:.2f} [{t['ci'][0]:.2f}, {t['ci'][1]:.2f}]"
            if t and t.get("n") else "")
    ax.set_title("Is the explained share right? One point per design cell\n" + note, fontsize=9.5)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False, ncol=2,
              title="P: P(label | source) of a cell off the band", title_fontsize=7.5)
    ax.grid(lw=0.3, alpha=0.5)
    return save(fig, folder, "explained_share", dpi=150)
