"""Readings and Markdown of the ``goel2022-fpt`` study (analyses/goel2022_fpt.py): words from numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from artifactual.analyses.formatting import fmt_estimate

LABELS = {"fpt_minilm_pretrained": "FPT-MiniLM (pretrained)", "fpt_minilm_random": "FPT-MiniLM (random weights)",
          "logreg_8x8_thumbnails": "logistic regression on 8x8 thumbnails", "knabenhans_cnn": "seed 002's CNN"}

SCHEME_WORDS = {"plaintext": "plaintext", "chaos_literal": "literal chaos (one scalar per image)",
                "chaos_literal_sign_undone": "literal chaos with its sign undone (no key)",
                "chaos_keystream_one_key": "per-pixel Chebyshev keystream, one key for all images",
                "chaos_keystream_per_image": "per-pixel Chebyshev keystream, a fresh key per image",
                "pixel_permutation": "keyed pixel permutation", "aes_ctr": "AES-256-CTR"}


def _ci(r: dict[str, Any], key: str = "auroc") -> str:
    return fmt_estimate(r[key], r["ci_low"], r["ci_high"])


def comparison_reading(c: dict[str, Any], models: pd.DataFrame) -> str:
    """One sentence for one paired comparison (a, b) on one dataset.

    Examples
    --------
    >>> models = pd.DataFrame([{"dataset": "faces", "name": n, "auroc": a, "ci_low": a - 0.04, "ci_high": a + 0.04}
    ...                        for n, a in [("fpt_minilm_pretrained", 0.90), ("logreg_8x8_thumbnails", 0.89)]])
    >>> c = {"dataset": "faces", "a": "fpt_minilm_pretrained", "b": "logreg_8x8_thumbnails", "difference": 0.01,
    ...      "ci_low": -0.012, "ci_high": 0.027, "level": 0.9833, "n": 180, "units": 60, "margin": 0.03,
    ...      "reading": "matches"}
    >>> print(comparison_reading(c, models))  # doctest: +NORMALIZE_WHITESPACE
    faces: FPT-MiniLM (pretrained) 0.900 [0.860, 0.940] vs logistic regression on 8x8 thumbnails 0.890 [0.850, 0.930]:
    paired difference +0.010 [-0.012, +0.027] (98.3% interval over 60 test identities, 180 images): matches within
    +-0.03, so the cheap model explains the number as well as the frozen transformer
    """
    get = lambda name: models[(models["dataset"] == c["dataset"]) & (models["name"] == name)].iloc[0]  # noqa: E731
    a, b = get(c["a"]), get(c["b"])
    la, lb = LABELS.get(c["a"], c["a"]), LABELS.get(c["b"], c["b"])
    diff = fmt_estimate(c["difference"], c["ci_low"], c["ci_high"], signed=True)
    head = (f"{c['dataset']}: {la} {_ci(a)} vs {lb} {_ci(b)}: paired difference {diff} "
            f"({c['level']:.1%} interval over {c['units']} test identities, {c['n']} images): ")
    m = c["margin"]
    random_control = c["b"] == "fpt_minilm_random"
    tail = {
        "matches": (f"matches within +-{m:g}, so "
                    + ("language pre-training adds nothing measurable here" if random_control else
                       "the cheap model explains the number as well as the frozen transformer")),
        "a_better": f"{la} is better by more than the margin {m:g}",
        "b_better": f"{lb} is better by more than the margin {m:g}",
        "cannot_tell": (f"the data cannot tell: the interval holds 0 but reaches past +-{m:g} (too few test "
                        "identities to call them equal or different)"),
    }[c["reading"]]
    return head + tail


def encryption_reading(part: pd.DataFrame) -> str:
    """One sentence per (dataset, model): AUROC under every scheme, and whether AES sits in chance's interval."""
    first = part.iloc[0]
    by = {r["scheme"]: r for _, r in part.iterrows()}
    bits = [f"{SCHEME_WORDS.get(s, s)} {_ci(r)}" for s, r in by.items()]
    line = f"{first['dataset']}, {first['model']}: " + "; ".join(bits)
    if "aes_ctr" in by:
        aes = by["aes_ctr"]
        inside = aes["chance_low"] <= aes["auroc"] <= aes["chance_high"]
        line += (f" (AES {'within' if inside else 'OUTSIDE'} chance's interval "
                 f"{aes['chance_low']:.3f}-{aes['chance_high']:.3f})")
    return line


def readings(study: dict[str, Any]) -> list[str]:
    """Plain statements derived from the numbers (never from the paper)."""
    models = pd.DataFrame(study["models"])
    out = [comparison_reading(c, models) for c in study.get("comparisons", [])]
    e = pd.DataFrame(study["encryption"])
    if not e.empty:
        out += [encryption_reading(part) for _, part in e.groupby(["dataset", "model"], sort=False)]
        out.append(chance_count(e))
    return out


def chance_count(e: pd.DataFrame, scheme: str = "aes_ctr") -> str:
    """How many rows of a scheme fall outside their own 95% chance interval, against the 5% expected.

    Each row's interval is a separate 95% statement, so with ten rows about one in two runs shows
    one row outside by chance alone; a single "OUTSIDE" is not evidence that the cipher leaks.

    >>> e = pd.DataFrame({"scheme": ["aes_ctr"] * 10, "auroc": [0.5] * 9 + [0.7],
    ...                   "chance_low": [0.42] * 10, "chance_high": [0.58] * 10})
    >>> chance_count(e)
    'aes_ctr: 1 of 10 rows outside their 95% chance interval; 0.5 expected by chance alone (binomial p of >= 1: 0.40)'
    """
    from scipy.stats import binom

    part = e[e["scheme"] == scheme]
    k = int(((part["auroc"] < part["chance_low"]) | (part["auroc"] > part["chance_high"])).sum())
    m = len(part)
    line = f"{scheme}: {k} of {m} rows outside their 95% chance interval; {0.05 * m:.1f} expected by chance alone"
    return line + (f" (binomial p of >= {k}: {binom.sf(k - 1, m, 0.05):.2f})" if k else "")


def fpt_markdown(s: dict[str, Any]) -> str:
    def ci(r):
        return "—" if r.get("auroc") is None else _ci(r)

    b = s["budget"]
    lines = [f"# artifactual: {s['name']}", "", f"Data: {s['data']}. {s['never_about_real_people'].capitalize()}.", "",
             "Subsampling for the CPU budget: " + ", ".join(f"{k} {v['n']:,} of {v['of']:,}" for k, v in s["subsampling"].items())
             + ".", "",
             f"Tuning budget, the same for every compared model: {b['candidates']} candidate settings "
             f"({'; '.join(f'{k} {v}' for k, v in b['settings'].items())}), at most {b['max_epochs']} epochs with "
             f"patience {b['patience']} for networks, chosen by {b['criterion']} on {b['validation']}.", "",
             "## Models (one identity-grouped hold-out split per dataset)", "",
             "| dataset | model | pretrained weights loaded | AUROC [95% CI] | n test (identities) | chance's interval | "
             "chosen | trainable params | train s |",
             "|---|---|---|---|---:|---|---|---:|---:|"]
    for r in s["models"]:
        t = r["tuning"]
        lines.append(f"| {r['dataset']} | {r['name']} | {r.get('pretrained_loaded', '-')} | {ci(r)} | "
                     f"{r['n']:,} ({r['identities']:,}) | {r['chance_low']:.3f}-{r['chance_high']:.3f} | "
                     f"{t['tuned']}={t['chosen']:g} ({t['budget']}) | {r['trainable_params']:,} | {r['train_seconds']:.1f} |"
                     + (f" {r['note']}" if r.get("note") else ""))
    lines += ["", "## Paired comparisons (AUROC difference a - b, bootstrap over test identities)", "",
              "| dataset | a | b | difference [interval] | level | margin | reading |", "|---|---|---|---|---:|---:|---|"]
    lines += [f"| {c['dataset']} | {c['a']} | {c['b']} | {c['difference']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}] | "
              f"{c['level']:.4f} | {c['margin']:g} | {c['reading']} |" for c in s["comparisons"]]
    lines += ["", "## Encryption schemes", "",
              f"Every model is re-trained on each scheme's images, networks at their plaintext-chosen setting for at "
              f"most {s['config']['encrypted_epochs']} epochs; the plaintext row is trained the same way, so each "
              "model's rows compare like with like (its networks' plaintext AUROC can differ from the models table, "
              "which allows the full budget).", "",
              "| dataset | scheme | model | AUROC [95% CI] | chance's interval | n |", "|---|---|---|---|---|---:|"]
    lines += [f"| {r['dataset']} | {r['scheme']} | {r['model']} | {ci(r)} | {r['chance_low']:.3f}-{r['chance_high']:.3f} | "
              f"{r['n']:,} |" for r in s["encryption"]]
    lines += ["", "## Readings", ""] + [f"- {r}" for r in s["readings"]]
    c = s["paper_claims"]
    lines += ["", f"The paper reported AUROC {c['auroc']} / AP {c['average_precision']} on plaintext and "
                  f"{c['encrypted_auroc']} / {c['encrypted_average_precision']} on 'encrypted' images.", ""]
    prov = s["provenance"]
    lines += ["## Provenance", ""] + [f"- design {k}: {v['images']:,} images, {v['identities']:,} identities, "
                                      f"sha256 {v['sha256'][:16]}" for k, v in prov["designs"].items()]
    if prov.get("design_history"):
        lines += ["", prov["design_history"]]
    return "\n".join(lines) + "\n"
