"""``artifactual replicate goel2022``: seed 000's design on public faces, then the audit battery.

Seed 000 reported 0.99 AUROC / 0.98 AP (Figure 5) on "criminal" vs "non-criminal" faces whose
classes came from different photo sources. We rebuild the design (replication/designs/goel2022.py),
preprocess as §4.1, train logistic regression on pixels and seed 002's small CNN (the frozen
transformer has its own issue), and run the battery. Deviations from the paper: images are
resized to 64x64 (embedded: 32x32) instead of 256x256 for a 2-core CPU, misdetections are
not removed by hand, and on real data the cascade skips windows under 20% of the shorter side
(same rectangles on these face crops, 1.6x faster; see replication/preprocess.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from artifactual.analyses.audit import AuditRun, HeadlineConfig, run_audit
from artifactual.analyses.audit_data import AuditConfig
from artifactual.replication.config import to_dict
from artifactual.replication.designs.goel2022 import (CLASS_A, CLASS_B, SEED_CLAIMS, Goel2022Design, build_design,
                                                      embedded_capture)
from artifactual.replication.preprocess import Goel2022Preprocess

PAPER_CLAIMS = {f"paper_{k}": v for k, v in SEED_CLAIMS.items() if k != "test_images"}


def goel2022_run(embedded: bool, data_root: str | Path | None = None, per_class: int = 0,
                 workers: int | None = None, progress: bool = True,
                 preprocess_overrides: Goel2022Preprocess | None = None) -> AuditRun:
    """The audit run of seed 000's design (nothing is trained yet): dataset, preprocessing, settings.

    Examples
    --------
    >>> run = goel2022_run(embedded=True, progress=False)
    >>> run.name, len(run.dataset), run.preprocess.size, run.label_col, run.positive
    ('goel2022', 100, 32, 'label', 1)
    >>> run.class_names[1], run.dataset.notes
    ('A: mugshot-style sources', {'n_lfw_subset': 50, 'n_lfw_subset_mugshot_capture': 50})
    """
    if embedded:
        design = Goel2022Design(data="embedded", capture=embedded_capture())
        pp = Goel2022Preprocess(detect_upscale=4.0, size=32)
        audit = AuditConfig(raw_side=32, dose_max_images=200)
        headline = HeadlineConfig(cnn_epochs=10)
        data = "embedded default: the 100 faces of scikit-image's LFW subset, half through the mugshot-style capture"
    else:
        design = Goel2022Design(data="real", per_class=per_class)
        pp = Goel2022Preprocess(size=64, min_face_fraction=0.2)  # face crops: see preprocess.py
        audit = AuditConfig()
        headline = HeadlineConfig()
        data = "ORL + UTKFace (half captured mugshot-style) vs LFW + UTKFace (other half)"
    pp = preprocess_overrides or pp
    ds = build_design(design, data_root=data_root, workers=workers, progress=progress)
    extra = {"design": {"config": to_dict(design), "per_class": per_class,
                        "subsampled": bool(per_class), "description": data},
             "paper_claims": PAPER_CLAIMS}
    return AuditRun(name="goel2022", dataset=ds, label_col="label", preprocess=pp, audit=audit, headline=headline,
                    positive=1, data_description=data, class_names={1: CLASS_A, 0: CLASS_B}, extra=extra,
                    balance=True)


def replicate(out: Path, embedded: bool, data_root: str | Path | None = None, per_class: int = 0,
              workers: int | None = None, progress: bool = True) -> dict[str, Any]:
    from artifactual.analyses.audit import write_summary
    from artifactual.paper.figures import render_audit_figures

    run = goel2022_run(embedded, data_root, per_class, workers, progress)
    summary = run_audit(run, out, workers=workers, progress=progress)
    summary["figures"] = render_audit_figures(summary, Path(out))
    write_summary(summary, Path(out))
    return summary
