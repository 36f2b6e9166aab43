"""Targets 5 and 6 of ``make bench``: decoding on two workers, and the two commands a new user runs.

Target 5 decodes 5,000 real LFW files through the execution engine (``inspect_files`` with its cache
off: open, decode, check every file, as every real-data run does first) with one worker and with
two, alternating, and compares medians. The worker pool is started before the timed runs (its
start-up is printed apart: it is paid once a process, not once a call).

Target 6 clones the repository's committed HEAD into a temporary folder and runs what its README
says: ``make install`` (timed apart: creating the venv and installing), then ``make test`` and
``make run``. The fresh clone has no ``ARTIFACTUAL_DATA``, so real-data tests skip, as on a new
machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DECODE_TARGET = 1.6
TEST_TARGET_S, RUN_TARGET_S = 8 * 60, 3 * 60
DECODE_BEFORE = {"speedup": "1.28-1.56x", "when": "2026-11-24, joblib one task per image, beside other jobs"}


def bench_decoding(data_root: str | None, n: int = 5000, repeats: int = 3) -> dict[str, Any]:
    """Median seconds to decode ``n`` LFW files with one and with two workers, and the speed-up."""
    from artifactual.replication.data import load_dataset
    from artifactual.replication.data.dataset import inspect_files

    ds = load_dataset("lfw", data_root=data_root, progress=False)
    table = ds.table[ds.table["status"] == "ok"].sample(min(n, int((ds.table["status"] == "ok").sum())),
                                                        random_state=0)[["path"]].reset_index(drop=True)
    t0 = time.perf_counter()
    inspect_files(table, ds.root, workers=2, progress=False, cache=False)
    start = time.perf_counter() - t0
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):  # alternating, so drift in the machine's load hits both alike
            t0 = time.perf_counter()
            inspect_files(table, ds.root, workers=workers, progress=False, cache=False)
            times[workers].append(time.perf_counter() - t0)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    out = {"n": len(table), "one_worker_s": round(one, 2), "two_workers_s": round(two, 2),
           "speedup": round(one / two, 2), "first_call_with_pool_start_s": round(start, 2),
           "images_per_s_two_workers": round(len(table) / two), "target": f">= {DECODE_TARGET}x one worker",
           "met": bool(one / two >= DECODE_TARGET), "before": DECODE_BEFORE}
    print(f"target 5 decoding {len(table):,} LFW files: 1 worker {one:.2f} s, 2 workers {two:.2f} s, "
          f"x{one / two:.2f} (>= {DECODE_TARGET}x): {'met' if out['met'] else 'missed'} "
          f"(first call, starting the pool: {start:.1f} s; before: {DECODE_BEFORE['speedup']})")
    return out


# Runs a command as ITS child and reports that child's peak resident set: getrusage(RUSAGE_CHILDREN)
# in the bench process itself would also count every earlier child (loky workers of other targets).
_PEAK = ("import json, resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
         "print(json.dumps({'peak_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), file=sys.stderr); "
         "sys.exit(rc)")


def run_with_peak(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Seconds, return code, output tail and peak resident memory (GiB: the largest process of the run,
    workers included) of ``cmd``."""
    import json

    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *cmd], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    lines = done.stderr.strip().splitlines()
    peak = json.loads(lines[-1])["peak_kib"] / 2**20 if lines and lines[-1].startswith('{"peak_kib"') else None
    return {"seconds": round(seconds, 1), "rc": done.returncode, "peak_gib": None if peak is None else round(peak, 2),
            "tail": (done.stdout + "\n".join(lines[:-1]))[-2000:]}


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, done.returncode, (done.stdout + done.stderr)[-1500:]


def bench_commands(repo: Path | None = None) -> dict[str, Any]:
    """``make install``, ``make test`` and ``make run`` in a fresh clone of HEAD, each timed."""
    repo = repo or Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("ARTIFACTUAL_DATA", "VIRTUAL_ENV")}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="artifactual-clone-") as tmp:
        clone = Path(tmp) / "artifactual"
        subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
        for step in ("install", "test", "run"):
            seconds, rc, tail = _timed(["make", step], clone, {**env, "ARTIFACTUAL_CACHE": str(Path(tmp) / "cache")})
            out[f"{step}_s"], out[f"{step}_rc"] = round(seconds, 1), rc
            if rc != 0:
                out[f"{step}_error"] = tail
                break
            if step == "test":
                out["test_summary"] = tail.strip().splitlines()[-1] if tail.strip() else ""
    test_s, run_s = out.get("test_s"), out.get("run_s")
    out.update(target=f"make test <= {TEST_TARGET_S} s, make run <= {RUN_TARGET_S} s after install",
               met=bool(out.get("test_rc") == 0 and out.get("run_rc") == 0 and test_s <= TEST_TARGET_S
                        and run_s <= RUN_TARGET_S))
    print(f"target 6 fresh clone: make install {out.get('install_s')} s, make test {test_s} s "
          f"({out.get('test_summary', 'failed')}), make run {run_s} s (test <= {TEST_TARGET_S} s, "
          f"run <= {RUN_TARGET_S} s): {'met' if out['met'] else 'missed'}")
    return out
