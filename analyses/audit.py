"""Run the audit battery on a labelled dataset and write ``summary.json``, ``summary.md`` and figures.

Used by ``artifactual audit`` (any user's manifest) and ``artifactual replicate goel2022``.
Each unit (headline model, check) is a record in a resumable run folder; a failing check is
recorded as failed with its reason and never loses the finished ones.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData, build_audit_data
from artifactual.analyses.checks import CHECKS, CheckResult
from artifactual.analyses.evaluate import headline_model
from artifactual.analyses.stats import holm
from artifactual.analyses.verdict import decide
from artifactual.replication.config import to_dict
from artifactual.replication.data.dataset import Dataset
from artifactual.replication.models import MODELS
from artifactual.replication.preprocess import Goel2022Preprocess
from artifactual.replication.runs import RunDir, atomic_write_json, atomic_write_text


@dataclass(frozen=True)
class HeadlineConfig:
    models: tuple[str, ...] = ("pixel_logreg", "knabenhans_cnn")
    cnn_epochs: int = 10
    cnn_max_images: int = 4000  # CPU budget for the CNN's hold-out run; the summary states any subsampling


@dataclass
class AuditRun:
    name: str
    dataset: Dataset
    label_col: str
    preprocess: Goel2022Preprocess
    audit: AuditConfig = field(default_factory=AuditConfig)
    headline: HeadlineConfig = field(default_factory=HeadlineConfig)
    positive: Any = None
    data_description: str = ""
    class_names: dict[int, str] | None = None  # shown instead of raw label values
    balance: bool = False  # equalise classes after preprocessing (seed 000 did)
    extra: dict[str, Any] = field(default_factory=dict)


def _make_model(name: str, cfg: HeadlineConfig, seed: int):
    if name == "knabenhans_cnn":
        from artifactual.replication.models.knabenhans_cnn import KnabenhansCNN, KnabenhansCNNConfig

        return lambda: KnabenhansCNN(KnabenhansCNNConfig(epochs=cfg.cnn_epochs), seed=seed)
    return lambda: MODELS.get(name)(seed=seed)


def _headline(run: AuditRun, d: AuditData) -> list[dict[str, Any]]:
    out = []
    seed = run.audit.seed
    for name in run.headline.models:
        X, y, g = d.X, d.y, d.groups
        note = ""
        if name == "knabenhans_cnn":
            if len(y) > run.headline.cnn_max_images:
                keep = np.sort(np.random.default_rng(seed).choice(len(y), run.headline.cnn_max_images, replace=False))
                X, y, g = X[keep], y[keep], g[keep]
                note = f"subsampled to {len(y):,} of {d.n:,} images for the CPU budget"
            res = headline_model(name, X, y, g, seed, protocol="holdout", make_model=_make_model(name, run.headline, seed))
        else:
            res = headline_model(name, X, y, g, seed, protocol="cv", make_model=_make_model(name, run.headline, seed))
        res.pop("_scores")
        res["note"] = note
        out.append(res)
    return out


def run_audit(run: AuditRun, out: Path, workers: int | None = None, progress: bool = True,
              only: list[str] | None = None) -> dict[str, Any]:
    out = Path(out)
    t0 = time.perf_counter()
    d = build_audit_data(run.dataset, run.label_col, run.preprocess, run.audit, run.positive, workers, progress,
                         balance=run.balance)
    d.preprocessing_report["seconds_preprocess_and_properties"] = round(time.perf_counter() - t0, 1)
    config = {"name": run.name, "label": run.label_col, "preprocess": to_dict(run.preprocess),
              "audit": to_dict(run.audit), "headline": to_dict(run.headline), **run.extra}
    rd = RunDir.create(out / "runs", run.name, config, run.dataset.manifest_hash)
    done = rd.completed("unit")
    if "headline" not in done:
        t0 = time.perf_counter()
        models = _headline(run, d)
        rd.append({"unit": "headline", "models": models, "seconds": round(time.perf_counter() - t0, 1)})
    for name in only or CHECKS.names():
        unit = f"check:{name}"
        if unit in done:
            continue
        t0 = time.perf_counter()
        try:
            rows = [r.as_dict() for r in CHECKS.get(name)(d, run.audit)]
            rd.append({"unit": unit, "rows": rows, "seconds": round(time.perf_counter() - t0, 1)})
        except Exception as exc:  # one broken check must not lose the others
            rd.append({"unit": unit, "rows": [CheckResult.not_applicable(name, "-", f"failed: {exc}").as_dict()],
                       "traceback": traceback.format_exc(limit=5)})
    rd.mark_done()
    summary = collect_summary(run, d, rd)
    write_outputs(summary, d, out)
    return summary


def finalize(checks: list[CheckResult], models: list[dict[str, Any]], n_sources: int
             ) -> tuple[dict[str, Any], str, list[str]]:
    """Holm-adjust the battery's p-values in place; pick the best headline model; decide the verdict."""
    for c, p in zip(checks, holm([c.p_value for c in checks])):
        c.p_holm = p
    best = max(models, key=lambda m: m["auroc"] if m["auroc"] == m["auroc"] else -1)
    verdict, reasons = decide(checks, best, n_sources)
    return best, verdict, reasons


def audit_in_memory(d: AuditData, cfg: AuditConfig, names: list[str] | None = None, lazy: bool = False
                    ) -> tuple[str, list[str], list[CheckResult], dict[str, Any]]:
    """The battery on prepared data without run folders (known-answer tests, quick looks).

    Headline: pixel logistic regression, identity-grouped out-of-fold. With ``lazy``, the
    label-source association is measured first and, when it already settles the verdict (one
    source, or V's interval below the weak bound: rule 1 of analyses.verdict), the other checks
    are skipped: the verdict is the same, computed faster.
    """
    from artifactual.analyses.verdict import V_WEAK

    names = list(names or CHECKS.names())
    checks: list[CheckResult] = []
    if lazy and "label_source_association" in names:
        checks = CHECKS.get("label_source_association")(d, cfg)
        names.remove("label_source_association")
        if len(set(d.source)) < 2 or checks[0].ci_high < V_WEAK:
            names = []
    head = headline_model("pixel_logreg", d.X, d.y, d.groups, cfg.seed, protocol="cv")
    head.pop("_scores")
    checks += [r for name in names for r in CHECKS.get(name)(d, cfg)]
    best, verdict, reasons = finalize(checks, [head], len(set(d.source)))
    return verdict, reasons, checks, best


def collect_summary(run: AuditRun, d: AuditData, rd: RunDir) -> dict[str, Any]:
    units = {r["unit"]: r for r in rd.records()}
    checks = [CheckResult(**row) for name in CHECKS.names() if f"check:{name}" in units
              for row in units[f"check:{name}"]["rows"]]
    models = units["headline"]["models"]
    best, verdict, reasons = finalize(checks, models, len(set(d.source)))
    names = run.class_names or d.label_values
    counts = pd.DataFrame({"source": d.source, "y": d.y}).groupby(["source", "y"]).size()
    prov = rd.provenance.as_dict()
    return {
        "name": run.name,
        "data": run.data_description,
        "label": run.label_col,
        "classes": {str(k): names[k] for k in (0, 1)},
        "never_about_real_people": "classes are defined by photo source or by the user's labels; "
                                   "artifactual predicts nothing about any real person",
        "design": {"sources": [{"source": s, "class": names[int(c)], "n": int(n)} for (s, c), n in counts.items()],
                   "n": d.n, "identities": int(len(np.unique(d.groups))), **run.extra.get("design", {})},
        "preprocessing": {"config": to_dict(run.preprocess), **d.preprocessing_report},
        "headline": {"model": best["name"], "auroc": best["auroc"], "auroc_ci": best["auroc_ci"],
                     "average_precision": best["average_precision"],
                     "average_precision_ci": best["average_precision_ci"], "n": best["n"],
                     "models": models, **run.extra.get("paper_claims", {})},
        "checks": [_clean(c.as_dict()) for c in checks],
        "multiplicity": "Holm-Bonferroni across every p-value of the battery (p_holm)",
        "verdict": verdict,
        "verdict_reasons": reasons,
        "figures": {},
        "seconds": {u: r.get("seconds") for u, r in units.items()},
        "run_dir": str(rd.path),
        "provenance": {k: prov[k] for k in ("manifest_hash", "versions", "git_commit")},
    }


def _clean(obj: Any) -> Any:
    """NaN -> None so summary.json is strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_outputs(summary: dict[str, Any], d: AuditData, out: Path) -> None:
    """Write the figure data and summary.json/summary.md (figures are rendered afterwards by
    ``artifactual.paper.figures``, which reads these files, then :func:`write_summary` again)."""
    out.mkdir(parents=True, exist_ok=True)
    # figure data: what the figure scripts read (never images of identifiable people beyond class means)
    means = {"class0": d.X[d.y == 0].mean(0), "class1": d.X[d.y == 1].mean(0)}
    np.savez_compressed(out / "mean_images.npz", **means)
    pd.concat([d.properties, pd.DataFrame({"label": d.y, "source": d.source})], axis=1).to_csv(
        out / "properties_by_image.csv", index=False)
    write_summary(summary, out)


def write_summary(summary: dict[str, Any], out: Path) -> None:
    from artifactual.analyses.report import summary_markdown

    summary = _clean(summary)
    atomic_write_json(Path(out) / "summary.json", summary)
    atomic_write_text(Path(out) / "summary.md", summary_markdown(summary))
