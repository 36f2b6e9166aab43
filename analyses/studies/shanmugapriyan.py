"""Study ``shanmugapriyan`` (seed 001): a watch-list face identification system on public faces.

The "criminal database" of the seed is a **constructed watch-list of public faces** (LFW people); nobody in it is
a criminal, and nothing here searches a user's photograph against any list. Units recorded in the run folder
(``runs/shanmugapriyan-<hash>/records.jsonl``): one a pipeline (``pipeline:dlib``, ``pipeline:lbp``,
``pipeline:lbp_binarised``); templates are cached (:mod:`artifactual.replication.cache`), so a rerun after an
interruption recomputes only the unfinished pipeline's numbers. The analysis is :mod:`artifactual.analyses.shanmugapriyan`.

``artifactual replicate shanmugapriyan --data-root DIR [--set KEY=VALUE ...]`` runs it (real data only; it has no
embedded version and says so).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from artifactual.analyses.formatting import clean
from artifactual.analyses.shanmugapriyan import SEED_CLAIM, ShanmugapriyanConfig, evaluate_pipeline, pipelines
from artifactual.replication.config import override, parse_assignments, to_dict
from artifactual.replication.data import DATA_ENV, load_dataset
from artifactual.replication.data.dataset import DatasetError
from artifactual.replication.designs.shanmugapriyan import WATCHLIST_NOTE, build_watchlist
from artifactual.replication.runs import RunDir, atomic_write_json, atomic_write_text
from artifactual.replication.study import RunContext, Study, register

NEEDS = ("shanmugapriyan needs the real data: --data-root DIR (or $ARTIFACTUAL_DATA) holding lfw/ (LFW with its "
         "identities; metadata/male_names.txt and female_names.txt for the gender differentials). It has no "
         "embedded version: scikit-image's LFW subset carries no identities, so no watch-list can be built.")


def run(cfg: ShanmugapriyanConfig, out: Path, ctx: RunContext) -> dict[str, Any]:
    """The seed-001 replication into ``out`` (real data only)."""
    if not (ctx.data_root or os.environ.get(DATA_ENV)):
        raise DatasetError(NEEDS)
    out = Path(out)
    ds = load_dataset("lfw", data_root=ctx.data_root).usable()
    roles, counts = build_watchlist(ds.table, cfg.design)
    rd = RunDir.create(out / "runs", "shanmugapriyan", to_dict(cfg), ds.manifest_hash)
    done = {r["unit"]: r for r in rd.records()}
    pipes = pipelines()
    for name in cfg.pipelines:
        unit = f"pipeline:{name}"
        if unit in done:
            continue
        t0 = time.perf_counter()
        ctx.log(f"{name}: templates and searches for galleries of {counts['gallery_sizes']} ...")
        result = evaluate_pipeline(pipes[name], roles, ds.root, cfg, counts["gallery_sizes"], rd.path)
        rec = {"unit": unit, "result": clean(result), "seconds": round(time.perf_counter() - t0, 1)}
        rd.append(rec)
        done[unit] = rec
    rd.require("unit", [f"pipeline:{n}" for n in cfg.pipelines])
    rd.mark_done()
    summary = clean({
        "name": "shanmugapriyan", "watchlist": WATCHLIST_NOTE,
        "never_about_real_people": "the watch-list is a constructed set of public faces; artifactual identifies "
                                   "nobody in a user's photograph against any list",
        "seed_claim": SEED_CLAIM, "design": {**counts, "config": to_dict(cfg.design)}, "config": to_dict(cfg),
        "pipelines": {n: done[f"pipeline:{n}"]["result"] for n in cfg.pipelines},
        "seconds": {u: r.get("seconds") for u, r in done.items()}, "run_dir": str(rd.path),
    })
    summary["readings"] = readings(summary)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "summary.md", summary_markdown(summary))
    return summary


def _ci(q: dict | None) -> str:
    """``estimate [low, high]`` of an interval dict, ``—`` without one.

    >>> _ci({"estimate": 0.5, "ci_low": 0.4, "ci_high": 0.61}), _ci(None)
    ('0.500 [0.400, 0.610]', '—')
    """
    if not q or q.get("estimate") is None:
        return "—"
    lo, hi = q.get("ci_low"), q.get("ci_high")
    return f"{q['estimate']:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else f"{q['estimate']:.3f}"


def summary_markdown(s: dict[str, Any]) -> str:
    """The numbers as tables: rank-1 and FNIR at FPIR per gallery, alerts at base rates, degradations."""
    lines = [f"# Seed 001 on public faces: {s['watchlist']}", "",
             f"Seed's only number: {s['seed_claim']['source']} ({s['seed_claim']['rank1_at_50']:.0%} at 50).", ""]
    for name, p in s["pipelines"].items():
        lines += [f"## {name}: {p['describes']}", "",
                  "| gallery | rank-1 (95% CI) | FNIR @ FPIR 0.1 | FNIR @ FPIR 0.01 | FNIR @ FPIR 0.001 | mated / non-mated |",
                  "|---|---|---|---|---|---|"]
        for g in p["galleries"]:
            r1 = g["cmc"]["points"][0]["rate"]
            f = {str(x["fpir_target"]): (_ci(x["fnir"]) if x.get("estimable") else "not estimable")
                 for x in g["fnir_at_fpir"]}
            lines.append(f"| {g['size']:,} | {_ci(r1)} | {f.get('0.1', '—')} | {f.get('0.01', '—')} | "
                         f"{f.get('0.001', '—')} | {g['n_mated']:,} / {g['n_nonmated']:,} |")
        if isinstance(p.get("alerts"), list):
            lines += ["", f"Alerts at the FPIR {p['operating_point']['fpir_target']} threshold of the "
                          f"{p['operating_point']['gallery']:,} gallery:", "",
                      "| base rate | PPV (95% CI) | false alerts per 10,000 | false alerts per true hit |", "|---|---|---|---|"]
            for a in p["alerts"]:
                lines.append(f"| {a['base_rate']:g} | {_ci(a['ppv'])} | {_ci(a['false_alerts_per'])} | "
                             f"{_ci(a['false_alerts_per_true_hit'])} |")
        if p.get("degradations"):
            lines += ["", f"FNIR at the fixed threshold, gallery {p['field']['gallery']:,}, one probe a person:", "",
                      "| probe | FNIR (95% CI) | no face found |", "|---|---|---|",
                      f"| clean | {_ci(p['field']['clean_one_probe']['fnir'])} | "
                      f"{p['field']['clean_one_probe']['searches_without_face']} |"]
            for d in p["degradations"] + ([{"degradation": "mugshot-style capture (gallery as is)",
                                            **p["capture_mismatch"]}] if p.get("capture_mismatch") else []):
                lines.append(f"| {d['degradation']} | {_ci(d['fnir'])} | {d['searches_without_face']} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def readings(s: dict[str, Any]) -> list[str]:
    """Sentences generated from the numbers (the paper's readings).

    >>> readings({"seed_claim": SEED_CLAIM, "pipelines": {}})
    []
    """
    out = []
    for name, p in s["pipelines"].items():
        gals = p.get("galleries") or []
        small = next((g for g in gals if g["size"] == s["seed_claim"]["gallery_size"]), None)
        if small:
            r1 = small["cmc"]["points"][0]["rate"]
            out.append(f"{name}: rank-1 at {small['size']} people is {_ci(r1)}, beside the seed's cited "
                       f"{s['seed_claim']['rank1_at_50']:.0%} (no interval, no n).")
        if gals:
            big = gals[-1]
            f01 = next((x for x in big["fnir_at_fpir"] if x["fpir_target"] == 0.01 and x.get("estimable")), None)
            if f01:
                out.append(f"{name}: at {big['size']:,} people, with 1 false alert per 100 strangers, it misses "
                           f"{_ci(f01['fnir'])} of the enrolled people searched.")
        alerts = p.get("alerts")
        if isinstance(alerts, list):
            a = next((a for a in alerts if a["base_rate"] == 1e-4), None)
            if a and a["false_alerts_per_true_hit"]["estimate"] is not None:
                out.append(f"{name}: if 1 passer-by in 10,000 were on the watch-list, {_ci(a['ppv'])} of alerts "
                           f"would point at the right person: {a['false_alerts_per_true_hit']['estimate']:,.0f} false "
                           "alerts for every true one.")
        worst = max(p.get("degradations") or [], key=lambda d: d["fnir"]["estimate"] or 0, default=None)
        if worst:
            out.append(f"{name}: the worst degradation ({worst['degradation']}) raises FNIR at the fixed threshold to "
                       f"{_ci(worst['fnir'])} from {_ci(p['field']['clean_one_probe']['fnir'])} on clean probes.")
    return out


STUDY = register(Study(
    name="shanmugapriyan", title="seed 001: a watch-list identification system on a constructed watch-list of "
                                 "public faces",
    presets={"real": ShanmugapriyanConfig}, run=run, needs=NEEDS))


if __name__ == "__main__":  # until the study is registered (figures and paper section to come)
    root, target, *sets = sys.argv[1:]
    config = override(ShanmugapriyanConfig(), parse_assignments(sets))
    from artifactual.replication.parallel import use_settings

    with use_settings(progress=False):
        run(config, Path(target), RunContext(data_root=root))
