"""Figures of the decomposition ("how much of the headline is source?"), drawn from ``summary["decomposition"]``.

The audit writes the numbers (analyses.decomposition: ``table`` and ``parts``); these functions only draw
them into ``DIR/figures/<key>.png``. Each returns None when its part is absent or was not computed
(status other than ``ok``), so :func:`artifactual.paper.figures.draw` simply skips it. They are drawn for
every audit folder, beside :mod:`artifactual.paper.figures.audit`:

- ``decomposition``: the headline beside the within-source, source-balanced, harmonised and capture-swapped
  AUROC, each with its 95% interval, and the explained share in the title;
- ``confounding_curve``: test AUROC against the training set's P(label | source), on balanced,
  same- and reversed-association test sets, and the inflation (same minus balanced);
- ``capture_swap``: how many predictions flip when a class is given the other class's capture (beside the
  control class, re-captured as it was), and the AUROC before and after.

Examples
--------
>>> import tempfile
>>> q = lambda e, lo, hi, n=100: {"estimate": e, "ci": [lo, hi], "n": n}
>>> level = lambda a: {"association": a, "balanced": q(0.7, 0.6, 0.8), "same": q(0.6 + 0.3 * a, 0.5, 1.0),
...                    "reversed": q(1.2 - 0.7 * a, 0.3, 0.9), "inflation": q(0.2 * a - 0.1, -0.1, 0.3)}
>>> swap = lambda t, m, c: {"target_capture": t, "auroc_after": q(0.8, 0.7, 0.9), "auroc_change": q(-0.1, -0.2, 0),
...                         "flip_rate_moved": {**q(0.3, 0.2, 0.4), "class": m},
...                         "flip_rate_control": {**q(0.1, 0.05, 0.2), "class": c}}
>>> parts = {"controlled_confounding": {"status": "ok", "levels": [level(a) for a in (0.5, 0.8, 1.0)],
...                                     "observed_association": 0.8},
...          "capture_swap": {"status": "ok", "auroc_before": q(0.9, 0.85, 0.95),
...                           "swaps": [swap("A", "B", "A"), swap("B", "A", "B")]},
...          "within_source": {"status": "not_applicable", "reason": "no source holds both classes"}}
>>> share = {**q(0.3, 0.1, 0.5), "basis": "capture_swap_lower_bound"}
>>> table = {"harmonised": q(0.85, 0.8, 0.9), "explained_share": share}
>>> s = {"headline": {"auroc": 0.9, "auroc_ci": [0.85, 0.95]}, "decomposition": {"table": table, "parts": parts}}
>>> out = Path(tempfile.mkdtemp())
>>> sorted(k for k, draw in FIGURES.figures.items() if draw(s, out))
['capture_swap', 'confounding_curve', 'decomposition']
>>> (out / "figures" / "decomposition.png").read_bytes()[:4]
b'\\x89PNG'
>>> confounding_curve({"decomposition": {"table": {}, "parts": {}}}, out) is None
True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from artifactual.paper.figures.common import FigureSet, plt, save

FIGURES = FigureSet("decomposition")

HEAD, WITHIN, BAL, HARM, SWAP = "tab:red", "tab:blue", "tab:green", "tab:purple", "tab:orange"


def _part(s: dict[str, Any], name: str) -> dict[str, Any] | None:
    """``decomposition.parts[name]`` when it was computed (status ok), else None."""
    p = ((s.get("decomposition") or {}).get("parts") or {}).get(name)
    return p if p and p.get("status") == "ok" else None


def _short(name: Any, n: int = 12) -> str:
    """A class name short enough for a tick label: "A" for "A: mugshot-style sources", else cut to ``n``."""
    name = str(name)
    head = name.split(":", 1)[0].strip()
    if ":" in name and 0 < len(head) <= n:
        return head
    return name if len(name) <= n else name[: n - 1] + "…"


def _cls(s: dict[str, Any], value: Any) -> str:
    """A class's short name. ``value`` is a class name already (the capture swap's ``target_capture``) or a
    class index "0"/"1"; a name is never looked up as an index, since labels can themselves be "0" and "1"."""
    names = s.get("classes") or {}
    return _short(value if str(value) in map(str, names.values()) else names.get(str(value), value))


def _pct(q: dict[str, Any]) -> str:
    return f"{100 * q['estimate']:.0f}% [{100 * q['ci'][0]:.0f}%, {100 * q['ci'][1]:.0f}%]"


def _xerr(q: dict[str, Any]) -> list[list[float]]:
    return [[max(0.0, q["estimate"] - q["ci"][0])], [max(0.0, q["ci"][1] - q["estimate"])]]


def _worst_swap(sw: dict[str, Any]) -> dict[str, Any]:
    """The swap whose moved class flips most (the one summarise() puts in the table)."""
    return max(sw["swaps"], key=lambda r: r["flip_rate_moved"]["estimate"])


def _share_words(share: dict[str, Any] | None) -> str:
    if not share:
        return "explained share: not measured"
    if share.get("basis") == "capture_swap_lower_bound":
        return f"explained share at least {_pct(share)} (lower bound from the capture swap)"
    return f"explained share {_pct(share)} (headline vs within-source)"


@FIGURES.figure("decomposition")
def decomposition(s: dict[str, Any], out: Path) -> str | None:
    """The headline and what is left of it once the source is held fixed, balanced, harmonised or swapped."""
    dec = s.get("decomposition") or {}
    table, parts = dec.get("table") or {}, dec.get("parts") or {}
    if not table and not parts:
        return None
    head, head_how = table.get("headline"), "(identity-grouped CV)"
    if head is None and (s.get("headline") or {}).get("auroc_ci"):  # no within-source part: the reported headline
        h = s["headline"]
        head = {"estimate": h["auroc"], "ci": list(h["auroc_ci"]), "n": h.get("n")}
        head_how = "(as reported)"
    bal = table.get("balanced")
    sw = _part(s, "capture_swap")
    # (label, quantity, colour, part that would have produced it)
    balanced_how = (f"(trained at P(label|source) = {bal['trained_at_association']:g})" if bal
                    else "(controlled confounding)")
    rows = [(f"headline\n{head_how}", head, HEAD, None),
            ("within one source\n(same scores, same-source pairs)", table.get("within_source"), WITHIN,
             "within_source"),
            (f"source-balanced test set\n{balanced_how}", bal, BAL, "controlled_confounding"),
            ("harmonised capture\n(common capture floor)", table.get("harmonised"), HARM, "harmonised")]
    if sw:  # the held-out split's AUROC before the swap, then after (a split of its own, not the CV headline)
        w = _worst_swap(sw)
        rows += [("capture swap: before\n(one held-out split)", sw["auroc_before"], "0.35", "capture_swap"),
                 (f"capture swap: after\n(every image given class {_cls(s, w['target_capture'])}'s capture)",
                  w["auroc_after"], SWAP, "capture_swap")]
    else:
        rows.append(("capture swapped", None, SWAP, "capture_swap"))
    if all(q is None for _, q, _, _ in rows[1:]):  # nothing beside the headline was measured
        return None
    fig, ax = plt.subplots(figsize=(6.6, 0.6 * len(rows) + 1.4))
    ax.axvline(0.5, color="k", ls="--", lw=0.8)
    for i, (label, q, colour, part) in enumerate(rows):
        if q is None:
            status = (parts.get(part) or {}).get("status", "not run") if part else "not reported"
            ax.text(0.52, i, f"not computed ({status.replace('_', ' ')}; see text)", va="center", fontsize=9,
                    color="0.4", style="italic")
            continue
        hollow = label.startswith("capture swap: before")
        ax.errorbar(q["estimate"], i, xerr=_xerr(q), fmt="o", color=colour, capsize=4, ms=7, lw=1.5,
                    mfc="white" if hollow else colour)
        # the numbers in a column right of the axes, so they never overlap a whisker
        ax.text(1.015, i, f"{q['estimate']:.3f} [{q['ci'][0]:.3f}, {q['ci'][1]:.3f}]", va="center", fontsize=9,
                color=colour, transform=ax.get_yaxis_transform(), clip_on=False)
    if sw:
        i = len(rows) - 1
        ax.annotate("", xy=(rows[i][1]["estimate"], i - 0.15), xytext=(rows[i - 1][1]["estimate"], i - 0.85),
                    arrowprops={"arrowstyle": "->", "color": SWAP, "lw": 1.0, "shrinkA": 6, "shrinkB": 6})
    if head is not None and table.get("within_source"):  # the gap the source adds, between the two rows
        ws = table["within_source"]
        ax.annotate("", xy=(ws["estimate"], 0.5), xytext=(head["estimate"], 0.5),
                    arrowprops={"arrowstyle": "<->", "color": "0.3", "lw": 0.9})
        g = table.get("gap")
        ax.text((ws["estimate"] + head["estimate"]) / 2, 0.45, "gap" + (f" {g['estimate']:.3f}" if g else ""),
                ha="center", va="bottom", fontsize=8, color="0.3")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=9)
    ax.set_ylim(len(rows) - 0.5, -0.7)  # inverted, with room above the first row
    lo = max(0.0, min([0.4] + [q["ci"][0] for _, q, _, _ in rows if q]) - 0.03)
    ax.set_xlim(lo, 1.0)
    ax.text(0.5, -0.62, " chance", fontsize=8, va="top")
    ax.set_xlabel("AUROC of the headline model family, with 95% interval", fontsize=9.5)
    ax.set_title("How much of the headline is source?\n" + _share_words(table.get("explained_share")), fontsize=10.5)
    ax.grid(axis="x", lw=0.3, alpha=0.5)
    return save(fig, out, "decomposition")


@FIGURES.figure("confounding_curve")
def confounding_curve(s: dict[str, Any], out: Path) -> str | None:
    """Test AUROC against the training set's P(label | source), with the inflation it causes."""
    cc = _part(s, "controlled_confounding")
    if not cc or not cc.get("levels"):
        return None
    lv = sorted(cc["levels"], key=lambda r: r["association"])
    x = np.array([r["association"] for r in lv])
    fig, (a, b) = plt.subplots(2, 1, figsize=(5.8, 5.4), sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    for key, colour, label in (("same", HEAD, "same association as training"),
                               ("balanced", BAL, "source-balanced (no association)"),
                               ("reversed", WITHIN, "reversed association")):
        est = np.array([r[key]["estimate"] for r in lv])
        a.plot(x, est, "o-", color=colour, label=label, lw=1.5, ms=4)
        a.fill_between(x, [r[key]["ci"][0] for r in lv], [r[key]["ci"][1] for r in lv], color=colour, alpha=0.15, lw=0)
    a.axhline(0.5, color="k", ls="--", lw=0.7)
    a.text(x[0], 0.51, "chance", fontsize=8.5, va="bottom")
    a.set(ylim=(-0.02, 1.02))
    a.set_ylabel("test AUROC (95% band)", fontsize=10)
    a.set_title("Does a model trained where label and source go together\nscore on the source?", fontsize=10.5)
    a.legend(fontsize=8.5, loc="lower left", title="test set", title_fontsize=8.5)
    inf = np.array([r["inflation"]["estimate"] for r in lv])
    b.plot(x, inf, "o-", color="0.2", lw=1.3, ms=4, label="inflation = same − balanced")
    b.fill_between(x, [r["inflation"]["ci"][0] for r in lv], [r["inflation"]["ci"][1] for r in lv], color="0.2",
                   alpha=0.15, lw=0)
    b.axhline(0, color="k", lw=0.7)
    b.set_ylabel("inflation\n(AUROC)", fontsize=10)
    b.set_xlabel("P(label | source) in the training set\n(0.5: no association; 1.0: label = source side)", fontsize=10)
    b.legend(fontsize=8.5, loc="upper left")
    obs = cc.get("observed_association")
    if obs is not None:
        for ax in (a, b):
            ax.axvline(obs, color="0.5", ls=":", lw=1)
        a.text(obs, 1.0, f" this data: {obs:.2f}", fontsize=8.5, color="0.35", va="top")
    b.set_xticks(x, [f"{v:g}" for v in x])
    for ax in (a, b):
        ax.grid(lw=0.3, alpha=0.5)
    fig.tight_layout()
    return save(fig, out, "confounding_curve")


@FIGURES.figure("capture_swap")
def capture_swap(s: dict[str, Any], out: Path) -> str | None:
    """Flip rates of the moved and the control class for each target capture, and the AUROC before and after."""
    sw = _part(s, "capture_swap")
    if not sw or not sw.get("swaps"):
        return None
    swaps = sw["swaps"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(8.4, 4.1), gridspec_kw={"width_ratios": [1.3, 1]})
    width = 0.36
    for i, r in enumerate(swaps):
        bars = ((-width / 2, "flip_rate_moved", SWAP, "moved class (given the other's capture)"),
                (width / 2, "flip_rate_control", "0.6", "control class (re-captured as itself)"))
        for dx, key, colour, label in bars:
            q = r[key]
            a.bar(i + dx, q["estimate"], width, color=colour, label=label if i == 0 else None)
            a.errorbar(i + dx, q["estimate"], yerr=_xerr(q), color="k", capsize=3, lw=1)
            a.text(i + dx, q["ci"][1] + 0.015,
                   f"{q['estimate']:.2f}\nclass {_cls(s, q['class'])}\nn {q.get('n', '—')}",
                   ha="center", va="bottom", fontsize=7.5)
    a.set_xticks(range(len(swaps)), [f"every image given\nclass {_cls(s, r['target_capture'])}'s capture"
                                     for r in swaps], fontsize=9)
    top = max(r[k]["ci"][1] for r in swaps for k in ("flip_rate_moved", "flip_rate_control"))
    a.set_ylim(0, top + 0.24)  # room for the numbers above the whiskers
    a.set_yticks([v for v in np.arange(0, 1.01, 0.2) if v <= top + 0.24])
    a.set_ylabel("share of predictions that flip (95% CI)", fontsize=9)
    a.set_title("Predictions that flip when the capture changes", fontsize=10)
    fig.legend(*a.get_legend_handles_labels(), fontsize=8.5, loc="lower center", ncol=2, frameon=False)
    before = sw["auroc_before"]
    names = ["before"] + [f"after:\nclass {_cls(s, r['target_capture'])}'s\ncapture" for r in swaps]
    qs = [before] + [r["auroc_after"] for r in swaps]
    for i, q in enumerate(qs):
        b.errorbar(i, q["estimate"], yerr=_xerr(q), fmt="o", ms=7, capsize=4,
                   color="0.2" if i == 0 else SWAP, mfc="white" if i == 0 else SWAP)
        b.text(i + 0.1, q["estimate"], f"{q['estimate']:.3f}", fontsize=8.5, va="center")
    for i, r in enumerate(swaps, start=1):
        c = r.get("auroc_change")
        if c:
            b.text(i, min(q["ci"][0] for q in qs) - 0.02, f"change {c['estimate']:+.3f}\n[{c['ci'][0]:+.2f}, "
                   f"{c['ci'][1]:+.2f}]", ha="center", va="top", fontsize=7.5, color=SWAP)
    b.axhline(0.5, color="k", ls="--", lw=0.7)
    b.set_xticks(range(len(qs)), names, fontsize=9)
    b.set_xlim(-0.5, len(qs) - 0.5)
    lo = min(q["ci"][0] for q in qs)
    b.set_ylim(max(0.0, min(0.45, lo - 0.12)), 1.02)
    b.set_ylabel(f"held-out AUROC (95% CI, n {before.get('n', '—')})", fontsize=9)
    b.set_title("AUROC before and after the swap", fontsize=10)
    fig.suptitle("Does the headline model use the capture?\nOne trained model, its held-out images re-captured",
                 fontsize=10.5)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save(fig, out, "capture_swap")
