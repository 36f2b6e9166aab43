"""The one executor (replication/parallel.py): same ordered results on every engine, failures name their
item, a killed parent leaves no worker behind, and the audit's numbers do not depend on the engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.replication import parallel
from artifactual.replication.parallel import map_units, run_parallel

distributed = pytest.importorskip("distributed", reason="dask engine: pip install 'artifactual[dask]'")
psutil = pytest.importorskip("psutil")


def _square_plus(x: int) -> tuple[int, int]:
    return x, x * x + 1


def _fails_on_13(x: int) -> int:
    if x == 13:
        raise ValueError("thirteen is unlucky")
    return x


@pytest.fixture(scope="module")
def dask_scheduler():
    """A light in-process Dask cluster (one worker, threads): the dask code path without spawning processes."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_same_ordered_results_on_every_engine(dask_scheduler):
    items = list(range(150))  # above MIN_PARALLEL_ITEMS, so loky really runs in worker processes
    expected = [_square_plus(x) for x in items]
    assert run_parallel(_square_plus, items, "here", workers=1, progress=False) == expected
    assert run_parallel(_square_plus, items, "loky", workers=2, progress=False) == expected
    assert run_parallel(_square_plus, items, "dask", workers=2, progress=False, engine="dask",
                        scheduler=dask_scheduler) == expected
    with parallel.use_settings(workers=2, progress=False):
        with parallel.use_engine("dask", dask_scheduler):
            assert run_parallel(_square_plus, items[:5], "few") == expected[:5]  # dask even for few
            assert sorted(map_units(abs, [-3, 1, -2])) == [(-3, 3), (-2, 2), (1, 1)]
        assert sorted(map_units(abs, [-3, 1, -2])) == [(-3, 3), (-2, 2), (1, 1)]


def _settings_seen(_: int) -> tuple[int, int, bool]:
    return os.getpid(), parallel.current_workers(), parallel.current_progress()


def test_ambient_settings_reach_every_call_and_its_worker_processes(dask_scheduler):
    items = list(range(parallel.MIN_PARALLEL_ITEMS))
    with parallel.use_settings(workers=1, progress=False):
        assert set(run_parallel(_settings_seen, items, "here")) == {(os.getpid(), 1, False)}
        assert {r for _, r in map_units(_settings_seen, [1, 2])} == {(os.getpid(), 1, False)}
        # an explicit argument overrides the block for that call only
        there = run_parallel(_settings_seen, items, "there", workers=2)
        assert os.getpid() not in {pid for pid, _, _ in there}
    assert parallel.current_workers() == parallel.default_workers() and parallel.current_progress()
    with parallel.use_settings(workers=2, progress=True):
        there = run_parallel(_settings_seen, items, "there", progress=False)
        units = [r for _, r in map_units(_settings_seen, [1, 2])]
    # contextvars do not cross processes: each item gets the submitting block's workers, and no bars of its own
    assert os.getpid() not in {pid for pid, _, _ in there + units}
    assert {(w, p) for _, w, p in there + units} == {(2, False)}
    with parallel.use_settings(workers=2, progress=True), parallel.use_engine("dask", dask_scheduler):
        threads = [r for _, r in map_units(_settings_seen, [1, 2])]  # this cluster's workers are threads here
    assert {(w, p) for _, w, p in threads} == {(2, False)}


@pytest.mark.parametrize("workers,engine", [(1, None), (2, None), (2, "dask")])
def test_a_failing_item_is_named(workers, engine, dask_scheduler):
    scheduler = dask_scheduler if engine else None
    with pytest.raises(ValueError, match="unlucky") as info:
        run_parallel(_fails_on_13, list(range(100)), "counting", workers=workers, progress=False, engine=engine,
                     scheduler=scheduler)
    assert any("counting: item 13 (13) failed" in note for note in info.value.__notes__)


def test_unknown_engine_and_stray_scheduler_are_clear_errors():
    with pytest.raises(ValueError, match="unknown engine 'spark': choose one of loky, dask"):
        parallel.check_engine("spark")
    with pytest.raises(ValueError, match="needs engine 'dask'"):
        parallel.check_engine("loky", "tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="not an address"):
        parallel.check_engine("dask", "127.0.0.1:8786")


_SLOW_PARENT = textwrap.dedent("""
    import time
    from artifactual.replication.parallel import run_parallel

    def slow(x):
        time.sleep(0.2)
        return x

    if __name__ == "__main__":
        run_parallel(slow, list(range(2000)), "slow", workers=2, progress=False)
""")


def test_a_killed_parent_leaves_no_worker(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(_SLOW_PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 60  # workers import numpy, OpenCV and joblib first: slow when the suite runs beside
    tree: list = []
    while time.time() < deadline:  # wait for both workers to be busy
        tree = parent.children(recursive=True)
        if sum("loky" in " ".join(p.cmdline()) for p in tree if p.is_running()) >= 2:
            break
        time.sleep(0.2)
    assert tree, "the parent started no worker processes"
    # Workers start watching their parent with their first item (replication/parallel._watch_parent); a kill
    # in the instant between a worker's start and its first item is not covered (loky's idle timeout, 300 s).
    time.sleep(2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline:
        alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            break
        time.sleep(0.25)
    alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:  # do not leave them to the next test
        p.kill()
    assert not alive, f"orphans after killing the parent: {[(p.pid, p.cmdline()) for p in alive]}"


def _manifest(root) -> str:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(72):
        flagged = i < 36
        img = rng.normal(140 if flagged else 100, 30, (32, 32, 3)).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / f"{i}.png")
        rows.append({"path": f"{i}.png", "outcome": "flagged" if flagged else "clear",
                     "archive": "x" if flagged else "web", "person": f"p{i // 2}"})
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    return str(root / "m.csv")


def test_audit_numbers_do_not_depend_on_the_engine(tmp_path, monkeypatch):
    from artifactual.app.cli import main

    manifest = _manifest(tmp_path)
    summaries = {}
    for engine in ("loky", "dask"):
        monkeypatch.setenv("ARTIFACTUAL_CACHE", str(tmp_path / f"cache-{engine}"))  # decode afresh on each engine
        out = tmp_path / engine
        assert main(["audit", "--manifest", manifest, "--label", "outcome", "--source", "archive",
                     "--identity", "person", "--out", str(out), "--no-progress", "--workers", "2",
                     "--engine", engine, "--models", "pixel_logreg", "--set", "detect_face=false",
                     "--set", "size=24"]) == 0
        summaries[engine] = json.loads((out / "summary.json").read_text())
    loky, dask = summaries["loky"], summaries["dask"]
    assert [(c["name"], c["metric"], c["estimate"], c["ci_low"], c["ci_high"], c["p_value"]) for c in loky["checks"]] \
        == [(c["name"], c["metric"], c["estimate"], c["ci_low"], c["ci_high"], c["p_value"]) for c in dask["checks"]]
    assert loky["verdict"] == dask["verdict"] and loky["verdict_reasons"] == dask["verdict_reasons"]
    assert loky["headline"]["auroc"] == dask["headline"]["auroc"]
    assert loky["headline"]["auroc_ci"] == dask["headline"]["auroc_ci"]


def test_audit_cli_refuses_an_unknown_engine(tmp_path, capsys):
    from artifactual.app.cli import main

    with pytest.raises(SystemExit):
        main(["audit", "--manifest", "m.csv", "--label", "y", "--source", "s", "--out", str(tmp_path),
              "--engine", "spark"])
    assert "invalid choice: 'spark'" in capsys.readouterr().err
    rc = main(["audit", "--manifest", "m.csv", "--label", "y", "--source", "s", "--out", str(tmp_path),
               "--scheduler", "tcp://127.0.0.1:1"])
    assert rc == 2 and "needs engine 'dask'" in capsys.readouterr().err
