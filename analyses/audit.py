"""Run the audit battery on a labelled dataset and write ``summary.json``, ``summary.md`` and figures.

Used by ``artifactual audit`` (any user's manifest) and ``artifactual replicate goel2022``.
Each unit (one headline model, one check) is a record in a resumable run folder; a failing check
is recorded as failed with its reason and never loses the finished ones. On several cores (or a Dask
cluster) the units run side by side through the one executor, ``replication/parallel.py`` (:func:`run_units`).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.analyses.audit_data import AuditConfig, AuditData, binary_labels, build_audit_data
from artifactual.analyses.checks import CHECKS, CheckResult
from artifactual.analyses.decomposition import PARTS, summarise
from artifactual.analyses.evaluate import headline_model
from artifactual.analyses.stats import holm
from artifactual.analyses.verdict import decide
from artifactual.analyses.formatting import clean
from artifactual.replication.config import override, to_dict
from artifactual.replication.data.dataset import Dataset, DatasetError, skip_reasons
from artifactual.replication.models import MODELS
from artifactual.replication.parallel import (active_engine, current_progress, current_workers, map_units, use_engine,
                                              worker_died_errors)
from artifactual.replication.preprocess import Goel2022Preprocess
from artifactual.replication.runs import RunDir, atomic_write_json, atomic_write_text


#: Version of the battery's definitions (which checks exist, their roles and what the verdict reads). It is
#: part of every run's config, so a run folder written under other definitions (named by the config's hash)
#: is never resumed into this one.
BATTERY = "2026-11-24b: degenerate evidence reported as such; classes named in words; failed checks as failed"


@dataclass(frozen=True)
class HeadlineConfig:
    models: tuple[str, ...] = ("pixel_logreg", "knabenhans_cnn")
    cnn_epochs: int = 10
    cnn_max_images: int = 4000  # CPU budget for the CNN's hold-out run; the summary states any subsampling
    cv_repeats: int = 5  # CV models: repeats x 5 identity-grouped folds
    interval_draws: int = 20  # CV models: whole cross-validations refitted under permutation for the interval


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
    """A factory of the registered model ``name``; networks (``PROTOCOL == "holdout"``) train ``cnn_epochs``."""
    cls = MODELS.get(name)
    settings = {"epochs": cfg.cnn_epochs} if cls.PROTOCOL == "holdout" else {}
    return lambda: cls(override(cls.CONFIG(), settings), seed=seed)


def headline_one(name: str, cfg: HeadlineConfig, seed: int, d: AuditData) -> dict[str, Any]:
    """One headline model: a network on one identity-grouped hold-out split (subsampled to
    ``cnn_max_images``, said in ``note``), every other model by identity-grouped 5-fold CV."""
    X, y, g = d.X, d.y, d.groups
    note = ""
    make = _make_model(name, cfg, seed)
    if MODELS.get(name).PROTOCOL == "holdout":
        if len(y) > cfg.cnn_max_images:
            keep = np.sort(np.random.default_rng(seed).choice(len(y), cfg.cnn_max_images, replace=False))
            X, y, g = X[keep], y[keep], g[keep]
            note = f"subsampled to {len(y):,} of {d.n:,} images for the CPU budget"
        res = headline_model(name, X, y, g, seed, protocol="holdout", make_model=make)
    else:
        res = headline_model(name, X, y, g, seed, protocol="cv", make_model=make, repeats=cfg.cv_repeats,
                             interval_draws=cfg.interval_draws)
    res.pop("_scores")
    res["note"] = note
    return res


# Units run side by side start longest first, so the workers finish together. Order from the
# real-data seed-000 run (CPU seconds, issue 20): headline CNN 135, decomposition harmonised 66, headline
# pixel_logreg 72, identity leakage 17, source predictability 12, dose-response 10, face removed (dilated) 10,
# label learnable 10, face removed/only 7, harmonisation 6; the rest take under 6 s. The within-source part
# (not applicable to seed 000) is among the longest where it applies (seed 002's gender-sources audit).
_LONGEST_FIRST = ("headline:knabenhans_cnn", "decomposition:within_source", "decomposition:harmonised",
                  "headline:pixel_logreg", "check:identity_leakage", "check:source_predictability",
                  "check:dose_response", "check:face_removed_dilated", "check:label_learnable",
                  "check:face_removed_face_only", "check:harmonisation", "check:blur_ablation",
                  "check:capture_properties", "check:leave_one_source_out", "check:image_properties",
                  "check:within_source_random_labels", "decomposition:capture_swap",
                  "decomposition:controlled_confounding")
PARALLEL_MIN_IMAGES = 1000  # below this, starting worker processes costs more than it saves


def compute_unit(unit: str, d: AuditData, audit: AuditConfig, headline: HeadlineConfig) -> dict[str, Any]:
    """One record of the run folder: the headline models, or one check (a failing check becomes a
    record saying so, with its reason; a failing headline raises)."""
    t0 = time.perf_counter()
    if unit.startswith("headline:"):
        model = headline_one(unit.split(":", 1)[1], headline, audit.seed, d)
        return {"unit": unit, "models": [model], "seconds": round(time.perf_counter() - t0, 1)}
    name = unit.split(":", 1)[1]
    if unit.startswith("decomposition:"):
        try:
            result = PARTS[name](d, audit, headline)
        except Exception as exc:  # one broken part must not lose the others
            return {"unit": unit, "result": {"status": "failed", "reason": f"failed: {exc}"},
                    "traceback": traceback.format_exc(limit=5)}
        return {"unit": unit, "result": result, "seconds": round(time.perf_counter() - t0, 1)}
    try:
        rows = [r.as_dict() for r in CHECKS.get(name)(d, audit)]
        return {"unit": unit, "rows": rows, "seconds": round(time.perf_counter() - t0, 1)}
    except Exception as exc:  # one broken check must not lose the others
        failed = CheckResult(name, "-", float("nan"), float("nan"), float("nan"), 0, f"failed: {exc}", status="failed")
        return {"unit": unit, "rows": [failed.as_dict()], "traceback": traceback.format_exc(limit=5)}


def passive_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``, unless the user set a policy),
    for worker processes started from now on (libgomp reads it once, when torch loads).

    Two units side by side on two cores leave torch's two OpenMP threads (and MKL's) waiting for a core
    between parallel regions; spinning there burned the other unit's CPU. Measured on the real seed-000
    data beside other jobs (issue 20): the CNN headline took 290 CPU seconds in a worker, 135 with passive
    waiting, and its record is identical bit for bit (the wait policy changes when a thread runs, not what
    it computes; the thread count stays, since one thread instead of two changes the CNN's sums).
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def run_units(units: list[str], d: AuditData, audit: AuditConfig, headline: HeadlineConfig, rd: RunDir) -> None:
    """Compute ``units`` and append each record to the run folder as soon as it is finished.

    With more than one worker (:func:`~artifactual.replication.parallel.current_workers`) and enough images,
    or on a Dask engine (:func:`use_engine`), units run side by side through the one executor
    (:func:`map_units`), longest first, each finished one named on stderr if progress is on; otherwise one
    after another here. If a worker dies (killed, out of memory), the units not yet finished are computed
    here, one by one. Each unit seeds itself from ``audit.seed``, so the records do not depend on the engine
    or the worker count.
    """
    workers = current_workers()
    todo = sorted(units, key=lambda u: _LONGEST_FIRST.index(u) if u in _LONGEST_FIRST else len(_LONGEST_FIRST))
    side_by_side = len(todo) > 1 and (active_engine() == "dask" or (workers > 1 and d.n >= PARALLEL_MIN_IMAGES))
    if side_by_side:
        # BLAS runs on one thread (pixel_logreg.one_blas_thread); torch keeps its default of every core,
        # its idle threads sleeping (passive_openmp)
        passive_openmp()
        try:
            for unit, record in map_units(partial(compute_unit, d=d, audit=audit, headline=headline), todo,
                                          workers=workers):
                rd.append(record)
                todo.remove(unit)
                if current_progress():
                    print(f"  {unit}: {record.get('seconds', '-')} s", file=sys.stderr, flush=True)
        except worker_died_errors() as exc:
            print(f"a worker process died ({exc}); computing the {len(todo)} unfinished units here",
                  file=sys.stderr)
    for unit in list(todo):
        rd.append(compute_unit(unit, d, audit, headline))
        todo.remove(unit)


def run_audit(run: AuditRun, out: Path, only: list[str] | None = None, engine: str | None = None,
              scheduler: str | None = None) -> dict[str, Any]:
    """Decode, compute every unit not yet in the run folder, and write the outputs under ``out``.

    ``engine`` (``loky``, the default, or ``dask`` with an optional ``scheduler`` address) runs the decoding
    and the units; the processes and progress bars are the ambient settings
    (:func:`~artifactual.replication.parallel.use_settings`). The numbers depend on none of them.
    """
    if engine is not None or scheduler is not None:
        with use_engine(engine or "dask", scheduler):
            return run_audit(run, out, only)
    out = Path(out)
    t0 = time.perf_counter()
    usable = run.dataset.table[(run.dataset.table["status"] == "ok") & run.dataset.table[run.label_col].notna()]
    if usable.empty:
        where = f"; paths are read from {run.dataset.root} (pass --root DIR if they are relative to another " \
                "folder)" if run.dataset.root is not None else ""
        raise DatasetError(f"no usable images with a {run.label_col!r} label in {run.dataset.name}: all "
                           f"{len(run.dataset.table):,} rows were skipped, most for: {skip_reasons(run.dataset.table)}"
                           + where)
    y, names = binary_labels(usable[run.label_col], run.positive)
    require_design(y, identity_groups(usable), run.audit.folds, names, "in the manifest")  # before any decoding
    d = build_audit_data(run.dataset, run.label_col, run.preprocess, run.audit, run.positive, balance=run.balance)
    require_design(d.y, d.groups, run.audit.folds, d.label_values, "after preprocessing")
    d.preprocessing_report["seconds_preprocess_and_properties"] = round(time.perf_counter() - t0, 1)
    rd = RunDir.create(out / "runs", run.name, run_config(run), run.dataset.manifest_hash)
    done = rd.completed("unit")
    expected = ([f"headline:{m}" for m in run.headline.models] + [f"check:{n}" for n in (only or CHECKS.names())]
                + [f"decomposition:{p}" for p in PARTS])
    if "headline" in done:  # run folders written before 2026-11-23 kept the headline models in one record
        expected = ["headline"] + [u for u in expected if not u.startswith("headline:")]
    run_units([u for u in expected if u not in done], d, run.audit, run.headline, rd)
    rd.require("unit", expected)
    rd.mark_done()
    if rd.repaired:
        d.preprocessing_report["run_folder_repaired"] = rd.repaired
    summary = collect_summary(run, d, rd)
    write_outputs(summary, d, out)
    return summary


def identity_groups(table: pd.DataFrame) -> np.ndarray:
    """The person of each row; a row without one is its own person (as :func:`build_audit_data` counts)."""
    ident = table["identity"].astype("object")
    return np.where(ident.isna(), "row:" + table.index.astype(str), ident.astype(str))


def require_design(y: np.ndarray, groups: np.ndarray, folds: int, names: dict[int, str], where: str) -> None:
    """Refuse a design the battery cannot audit, with its counts and the minimum, before the battery runs.

    Every estimate is identity-grouped ``folds``-fold cross-validation, so each class needs at least ``folds``
    people (a fold without a class has nothing to test); the probe checks report numbers only from
    ``AuditConfig.min_identities`` people a class and say so below it.

    >>> require_design(np.array([0, 0, 1, 1]), np.array(["a", "a", "b", "c"]), 5, {0: "x", 1: "y"}, "here")
    Traceback (most recent call last):
    ValueError: this design cannot be audited here: class 'x' has 1 person (2 images), class 'y' has 2 people (2 images); identity-grouped 5-fold cross-validation needs at least 5 people in each class (give images of more people, or an --identity column if rows are different people)
    """
    counts = {c: (len(np.unique(groups[y == c])), int((y == c).sum())) for c in (0, 1)}
    if min(people for people, _ in counts.values()) >= folds:
        return
    said = ", ".join(f"class {names[c]!r} has {p} {'person' if p == 1 else 'people'} ({n} image{'s' * (n != 1)})"
                     for c, (p, n) in counts.items())
    raise ValueError(f"this design cannot be audited {where}: {said}; identity-grouped {folds}-fold cross-validation "
                     f"needs at least {folds} people in each class (give images of more people, or an --identity "
                     "column if rows are different people)")


def run_config(run: AuditRun) -> dict[str, Any]:
    """Everything that can change a number of the run; its hash names the run folder, so a run under other
    settings is never resumed into this one. The class shown as 1 (``positive``) and ``balance`` change
    every number; ``class_names`` and ``data_description`` change only wording, so they are left out."""
    return {"name": run.name, "battery": BATTERY, "label": run.label_col, "positive": run.positive,
            "balance": run.balance, "preprocess": to_dict(run.preprocess), "audit": to_dict(run.audit),
            "headline": to_dict(run.headline), **run.extra}


def finalize(checks: list[CheckResult], models: list[dict[str, Any]], n_sources: int,
             decomposition: dict[str, Any] | None = None) -> tuple[dict[str, Any], str, list[str]]:
    """Holm-adjust the confirmatory family in place; pick the best headline model; decide the verdict.

    Only confirmatory rows with a p-value enter Holm's correction (analyses.verdict.CONFIRMATORY);
    controls keep their unadjusted p and descriptive rows have none.

    >>> rows = [CheckResult("label_learnable", "auroc", 0.9, 0.8, 1.0, 50, "", 0.01, role="confirmatory"),
    ...         CheckResult("capture_properties", "auroc", 0.9, 0.8, 1.0, 50, "", 0.02, role="confirmatory"),
    ...         CheckResult("within_source_random_labels", "auroc", 0.5, 0.4, 0.6, 50, "", 0.6, role="control")]
    >>> _ = finalize(rows, [{"name": "m", "auroc": 0.9}], 2)
    >>> [r.p_holm for r in rows]
    [0.02, 0.02, None]
    >>> finalize([CheckResult("source_predictability", "auroc", 0.9, 0.8, 1.0, 50, "", 0.01, role="confirmatory")],
    ...          [{"name": "m", "auroc": 0.9}], 2)
    Traceback (most recent call last):
    ValueError: checks ['source_predictability'] call themselves confirmatory but the verdict does not read them (analyses.verdict.CONFIRMATORY = ('label_source_association', 'label_learnable', 'capture_properties', 'face_removed_dilated'))
    """
    from artifactual.analyses.verdict import CONFIRMATORY

    stray = sorted({c.name for c in checks if c.role == "confirmatory"} - set(CONFIRMATORY))
    if stray:  # the family is fixed before the data are seen; a check cannot join it by itself
        raise ValueError(f"checks {stray} call themselves confirmatory but the verdict does not read them "
                         f"(analyses.verdict.CONFIRMATORY = {CONFIRMATORY})")
    family = [c for c in checks if c.role == "confirmatory" and c.status == "ok" and c.p_value is not None]
    for c, p in zip(family, holm([c.p_value for c in family])):
        c.p_holm = p
    best = max(models, key=lambda m: m["auroc"] if m["auroc"] == m["auroc"] else -1)
    verdict, reasons = decide(checks, n_sources, decomposition)
    return best, verdict, reasons


def audit_in_memory(d: AuditData, cfg: AuditConfig, names: list[str] | None = None,
                    headline: HeadlineConfig | None = None, with_headline: bool = True,
                    parts: tuple[str, ...] = ("within_source",)
                    ) -> tuple[str, list[str], list[CheckResult], dict[str, Any]]:
    """The battery and the decomposition ``parts`` on prepared data without run folders (known-answer
    tests, quick looks). Returns the verdict, its reasons, the checks and the headline; the
    decomposition is in ``head["decomposition"]``.

    Headline: pixel logistic regression, repeated identity-grouped CV (skipped with
    ``with_headline=False``; the verdict reads the decomposition's own headline instead).
    """
    names = list(names or CHECKS.names())
    h = headline or HeadlineConfig(models=("pixel_logreg",), cv_repeats=2, interval_draws=20)
    checks = [r for name in names for r in CHECKS.get(name)(d, cfg)]
    if with_headline:  # the verdict does not read the headline: known-answer loops may skip it
        head = headline_model("pixel_logreg", d.X, d.y, d.groups, cfg.seed, protocol="cv", repeats=h.cv_repeats,
                              interval_draws=h.interval_draws)
        head.pop("_scores")
    else:
        head = {"name": "not run", "auroc": float("nan")}
    decomposition = summarise({p: PARTS[p](d, cfg, h) for p in parts}, checks)
    best, verdict, reasons = finalize(checks, [head], len(set(d.source)), decomposition)
    best["decomposition"] = decomposition
    return verdict, reasons, checks, best


def collect_summary(run: AuditRun, d: AuditData, rd: RunDir) -> dict[str, Any]:
    units = {r["unit"]: r for r in rd.records()}
    checks = [CheckResult(**row) for name in CHECKS.names() if f"check:{name}" in units
              for row in units[f"check:{name}"]["rows"]]
    models = (units["headline"]["models"] if "headline" in units  # run folders written before 2026-11-23
              else [m for name in run.headline.models for m in units[f"headline:{name}"]["models"]])
    decomposition = summarise({p: units[f"decomposition:{p}"]["result"] for p in PARTS
                               if f"decomposition:{p}" in units}, checks)
    best, verdict, reasons = finalize(checks, models, len(set(d.source)), decomposition)
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
        "checks": [clean(c.as_dict()) for c in checks],
        "multiplicity": {"family": "confirmatory", "correction": "Holm-Bonferroni", "alpha": 0.05,
                         "members": [c.name for c in checks if c.p_holm is not None],
                         "note": "controls are reported with their expected outcome and unadjusted p; descriptive "
                                 "checks carry no p-value"},
        "verdict": verdict,
        "verdict_reasons": reasons,
        "decomposition": decomposition,
        "seconds": {u: r.get("seconds") for u, r in units.items()},
        "run_dir": str(rd.path),
        "provenance": {k: prov[k] for k in ("manifest_hash", "versions", "git_commit")},
    }


def write_outputs(summary: dict[str, Any], d: AuditData, out: Path) -> None:
    """Write the figure data and summary.json/summary.md, once (the paper's ``paper/figures`` draws from them)."""
    out.mkdir(parents=True, exist_ok=True)
    # figure data: what the figure scripts read (never images of identifiable people beyond class means)
    means = {"class0": d.X[d.y == 0].mean(0), "class1": d.X[d.y == 1].mean(0)}
    np.savez_compressed(out / "mean_images.npz", **means)
    pd.concat([d.properties, pd.DataFrame({"label": d.y, "source": d.source})], axis=1).to_csv(
        out / "properties_by_image.csv", index=False)
    write_summary(summary, out)


def write_summary(summary: dict[str, Any], out: Path) -> None:
    from artifactual.analyses.report import summary_markdown

    summary = clean(summary)
    atomic_write_json(Path(out) / "summary.json", summary)
    atomic_write_text(Path(out) / "summary.md", summary_markdown(summary))
