"""``make bench``'s machinery on small inputs: the targets it can measure without the real data say
met / missed from numbers they measured, memory is read from the run's own process tree, and a bad
``--targets`` is refused by name. (The real timings are ``make bench``'s job, never a test's.)"""

from __future__ import annotations

import json
import sys

import pytest

from artifactual.app import bench
from artifactual.app.bench_targets import run_with_peak


def test_peak_memory_is_the_commands_own():
    small = run_with_peak([sys.executable, "-c", "pass"], {})
    big = run_with_peak([sys.executable, "-c", "import numpy as np; a = np.ones(60_000_000); print(a.sum())"], {})
    assert small["rc"] == big["rc"] == 0 and "60000000" in big["tail"]
    assert small["peak_gib"] < 0.2 < 0.4 < big["peak_gib"] < 1.5  # 480 MB of float64 ones


def test_bad_targets_are_refused(capsys, tmp_path):
    assert bench.main(["--targets", "7", "--out", str(tmp_path / "b.json")]) == 2
    assert "--targets '7'" in capsys.readouterr().err
    assert bench.main(["--targets", "three", "--out", str(tmp_path / "b.json")]) == 2


def test_a_target_run_measures_both_tools_writes_its_result_and_says_met_or_missed(capsys, tmp_path, monkeypatch):
    pytest.importorskip("fairlearn")
    from artifactual.app import bench_stats

    real = bench_stats.bench_group_table
    monkeypatch.setattr(bench_stats, "bench_group_table", lambda repeats: real(repeats=1, n_boot=10))
    out = tmp_path / "bench.json"
    assert bench.main(["--targets", "3", "--out", str(out)]) == 0
    r = json.loads(out.read_text())["targets"]["3"]
    assert r["group_table_s"] > 0 and r["metricframe_s"] > 0 and r["n_boot"] == 10
    assert r["ratio"] == pytest.approx(r["metricframe_s"] / r["group_table_s"], rel=0.05)
    assert r["met"] == (r["ratio"] >= 300)
    mc = r["monte_carlo"]
    assert mc["n_ends"] == 48 and len(mc["largest_change_reseeding_old"]) == 4
    assert mc["within_reseeding_range"] == (mc["largest_change_new_vs_old"] <= max(mc["largest_change_reseeding_old"]))
    assert ("met" if r["met"] else "MISSED") in capsys.readouterr().out.split("issue 20 targets:")[1]
