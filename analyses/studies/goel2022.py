"""Study ``goel2022`` (``artifactual replicate goel2022``): seed 000's design on public faces, then the audit battery.

Seed 000 reported 0.99 AUROC / 0.98 AP (Figure 5) on "criminal" vs "non-criminal" faces whose
classes came from different photo sources. We rebuild the design (replication/designs/goel2022.py),
preprocess as §4.1, train logistic regression on pixels and seed 002's small CNN (the frozen
transformer has its own issue), and run the battery. Deviations from the paper: images are
resized to 64x64 (embedded: 32x32) instead of 256x256 for a 2-core CPU, misdetections are
not removed by hand, and on real data the cascade skips windows under 20% of the shorter side
(same rectangles on these face crops, 1.6x faster; see replication/preprocess.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artifactual.analyses.audit import AuditRun, HeadlineConfig, run_audit
from artifactual.analyses.audit_data import AuditConfig
from artifactual.replication.config import to_dict
from artifactual.replication.designs.goel2022 import (CLASS_A, CLASS_B, SEED_CLAIMS, Goel2022Design, build_design,
                                                      embedded_capture)
from artifactual.replication.preprocess import Goel2022Preprocess
from artifactual.replication.study import RunContext, Study, register

PAPER_CLAIMS = {f"paper_{k}": v for k, v in SEED_CLAIMS.items()}  # the paper section quotes them from here
DESCRIPTIONS = {
    "embedded": "embedded default: the 100 faces of scikit-image's LFW subset, half through the mugshot-style capture",
    "real": "ORL + UTKFace (half captured mugshot-style) vs LFW + UTKFace (other half)",
}


@dataclass(frozen=True)
class Goel2022StudyConfig:
    """Everything ``replicate goel2022`` computes from: the design, seed 000's preprocessing, the battery."""

    design: Goel2022Design = field(default_factory=Goel2022Design)
    preprocess: Goel2022Preprocess = field(default_factory=lambda: Goel2022Preprocess(size=64, min_face_fraction=0.2))
    audit: AuditConfig = field(default_factory=AuditConfig)
    headline: HeadlineConfig = field(default_factory=HeadlineConfig)


def real() -> Goel2022StudyConfig:
    # face crops: the cascade skips windows under 20% of the shorter side (see preprocess.py)
    return Goel2022StudyConfig()


def embedded() -> Goel2022StudyConfig:
    return Goel2022StudyConfig(design=Goel2022Design(data="embedded", capture=embedded_capture()),
                               preprocess=Goel2022Preprocess(detect_upscale=4.0, size=32),
                               audit=AuditConfig(raw_side=32, dose_max_images=200),
                               headline=HeadlineConfig(cnn_epochs=10))


def goel2022_run(cfg: Goel2022StudyConfig, ctx: RunContext = RunContext()) -> AuditRun:
    """The audit run of seed 000's design (nothing is trained yet): dataset, preprocessing, settings.

    Reads ``ctx.data_root``; the loaders decode with the ambient settings (:func:`use_settings`, which
    ``STUDY.execute`` sets from ``ctx``).

    Examples
    --------
    >>> from artifactual.replication.parallel import use_settings
    >>> with use_settings(progress=False):
    ...     run = goel2022_run(embedded())
    >>> run.name, len(run.dataset), run.preprocess.size, run.label_col, run.positive
    ('goel2022', 100, 32, 'label', 1)
    >>> run.class_names[1], run.dataset.notes
    ('A: mugshot-style sources', {'n_lfw_subset': 50, 'n_lfw_subset_mugshot_capture': 50})
    """
    design = cfg.design
    data = DESCRIPTIONS[design.data]
    ds = build_design(design, data_root=ctx.data_root)
    extra = {"design": {"config": to_dict(design), "per_class": design.per_class,
                        "subsampled": bool(design.per_class), "description": data},
             "paper_claims": PAPER_CLAIMS}
    return AuditRun(name="goel2022", dataset=ds, label_col="label", preprocess=cfg.preprocess, audit=cfg.audit,
                    headline=cfg.headline, positive=1, data_description=data,
                    class_names={1: CLASS_A, 0: CLASS_B}, extra=extra, balance=True)


def run(cfg: Goel2022StudyConfig, out: Path, ctx: RunContext) -> dict[str, Any]:
    """Build the design, run the battery into ``out`` (records, summary, figure data); returns the summary."""
    return run_audit(goel2022_run(cfg, ctx), Path(out))


STUDY = register(Study(name="goel2022", title="Seed 000: 'criminality' from source-confounded faces, audited",
                       presets={"embedded": embedded, "real": real}, run=run, per_class="design.per_class"))
