"""Target 1 of ``make bench``: per-image property extraction against CleanVision 0.3.7's image-property checks.

Both sides read the same ``n_images`` real LFW JPEGs (250x250, a seeded sample) from disk and decode
them, in one process pinned to one core with one thread. artifactual decodes each file as the pipeline
does (:func:`~artifactual.replication.data.images.decode_file`: PIL, conversions, SHA-256) and measures
the 13 :data:`~artifactual.analyses.probes.PROPERTY_NAMES` with
:func:`~artifactual.analyses.probes.image_properties` (what the audit's ``AuditImage`` calls per photo),
into one table. CleanVision runs ``Imagelab(filepaths=...).find_issues`` with its seven image-property
issue types (dark, light, blurry, low_information, odd_aspect_ratio, grayscale, odd_size) and
``n_jobs=1`` (its default is a process pool). Each time is the median of ``repeats`` runs taken in
turn, so the ratio holds when the machine is busy; a cProfile of one more artifactual run says where
its time goes.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TARGET = 1.0
#: CleanVision's image-property issue types (cleanvision.issue_managers.IssueType, less the duplicate ones).
CLEANVISION_TYPES = ("dark", "light", "blurry", "low_information", "odd_aspect_ratio", "grayscale", "odd_size")
#: This bench with analyses/probes.py as it was before issue 20's fast paths (same process, same files).
BEFORE = {"artifactual_img_s": 107, "cleanvision_img_s": 254, "ratio": 0.42,
          "when": "issue 20, before the probes fast paths, one core shared with other jobs"}


def _sample(data_root: str | None, n_images: int, seed: int = 0) -> list[str]:
    from artifactual.replication.data import load_dataset

    ds = load_dataset("lfw", data_root=data_root, progress=False)
    ok = ds.table.loc[ds.table["status"] == "ok", "path"].to_numpy()
    chosen = np.random.default_rng(seed).choice(ok, min(n_images, len(ok)), replace=False)
    return [str(Path(ds.root) / p) for p in chosen]


def artifactual_properties(paths: list[str]) -> pd.DataFrame:
    """Decode each file as the pipeline does and measure its properties (no face box: the whole photo)."""
    from artifactual.analyses.probes import PROPERTY_NAMES, image_properties
    from artifactual.replication.data.images import decode_file

    rows = []
    for p in paths:
        d = decode_file(p)
        rows.append(image_properties(d.pixels, d.encoded, None))
    return pd.DataFrame(rows, columns=list(PROPERTY_NAMES), dtype=np.float64)


def cleanvision_properties(paths: list[str]) -> pd.DataFrame:
    from cleanvision import Imagelab

    lab = Imagelab(filepaths=paths)
    with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars, even with verbose=False
        lab.find_issues({t: {} for t in CLEANVISION_TYPES}, n_jobs=1, verbose=False)
    return lab.issues


def _seconds(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


@contextlib.contextmanager
def _one_core():
    """This process on one core, with one thread in OpenCV and in every BLAS/OpenMP pool; undone after."""
    import cv2
    from threadpoolctl import threadpool_limits

    cores, threads = os.sched_getaffinity(0), cv2.getNumThreads()
    os.sched_setaffinity(0, {min(cores)})
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        cv2.setNumThreads(threads)
        os.sched_setaffinity(0, cores)


def bench_properties(data_root: str | None, n_images: int = 800, repeats: int = 3) -> dict[str, Any]:
    """images/s of artifactual's and CleanVision's property extraction on the same files, one core each."""
    try:
        import cleanvision  # noqa: F401
    except ImportError:
        out = {"skipped": "pip install -e '.[bench]' for CleanVision"}
        print(f"target 1 property extraction: skipped ({out['skipped']})")
        return out
    paths = _sample(data_root, n_images)
    with _one_core():
        artifactual_properties(paths[:50]), cleanvision_properties(paths[:50])  # imports, file cache
        for p in paths:
            Path(p).read_bytes()
        art, cv = [], []
        for _ in range(repeats):  # in turn, so a busy spell slows both sides alike
            art.append(_seconds(artifactual_properties, paths))
            cv.append(_seconds(cleanvision_properties, paths))
        profiler = cProfile.Profile()
        profiler.runcall(artifactual_properties, paths)
    stats = pstats.Stats(profiler).sort_stats("tottime")
    top = [(f"{Path(file).name}:{line}({fn})" if file != "~" else fn, round(row[2], 3))
           for (file, line, fn), row in list(stats.stats.items())]
    top = sorted(top, key=lambda r: -r[1])[:8]
    a_rate, c_rate = len(paths) / statistics.median(art), len(paths) / statistics.median(cv)
    ratio = a_rate / c_rate
    out = {"n_images": len(paths), "repeats": repeats, "artifactual_img_s": round(a_rate, 1),
           "cleanvision_img_s": round(c_rate, 1), "ratio": round(ratio, 2), "target": ">= 1.0x CleanVision",
           "met": bool(ratio >= TARGET), "artifactual_profile_top": top, "before": BEFORE}
    print(f"target 1 property extraction: artifactual {a_rate:.0f} img/s, CleanVision {c_rate:.0f} img/s, "
          f"ratio {ratio:.2f} (>= {TARGET:.1f}x): {'met' if out['met'] else 'NOT met'}")
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(bench_properties(sys.argv[1] if len(sys.argv) > 1 else None), indent=1))
