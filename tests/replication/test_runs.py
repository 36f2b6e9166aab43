"""Run records: provenance in every record, resume after interruption, atomic writes, the collector."""

from __future__ import annotations

import json

from artifactual.replication.runs import RunDir, atomic_write_json, collect, read_records


def test_records_carry_provenance_and_resume(tmp_path):
    run = RunDir.create(tmp_path, "job", {"size": 32}, manifest_hash="m1")
    assert run.path.name.startswith("job-") and (run.path / "config.json").exists()
    run.append({"unit": "a", "value": 1})
    rec = run.records()[0]
    prov = rec["provenance"]
    assert prov["config"] == {"size": 32} and prov["manifest_hash"] == "m1"
    assert {"python", "numpy", "torch", "opencv-python-headless"} <= set(prov["versions"])
    assert prov["git_commit"]

    # a kill mid-write leaves a torn last line: it is ignored, and the finished unit is kept
    with open(run.records_file, "a") as fh:
        fh.write('{"unit": "b", "val')
    again = RunDir.create(tmp_path, "job", {"size": 32}, manifest_hash="m1")
    assert again.path == run.path and again.completed("unit") == {"a"} and not again.is_done()
    assert RunDir.create(tmp_path, "job", {"size": 64}, "m1").path != run.path
    assert RunDir.create(tmp_path, "job", {"size": 32}, "m2").path != run.path


def test_collect_only_finished_runs(tmp_path):
    a = RunDir.create(tmp_path, "job", {"k": 1}, "m")
    a.append({"unit": "x", "auroc": 0.5})
    a.mark_done()
    b = RunDir.create(tmp_path, "job", {"k": 2}, "m")
    b.append({"unit": "x", "auroc": 0.9})  # not done: left out
    table = collect(tmp_path)
    assert table["auroc"].tolist() == [0.5] and table["manifest_hash"].tolist() == ["m"]
    assert len(collect(tmp_path, only_done=False)) == 2


def test_atomic_json_and_damaged_records(tmp_path):
    atomic_write_json(tmp_path / "s.json", {"a": 1})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": 1}
    assert not list(tmp_path.glob(".*tmp"))
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"a": 1}\nnot json\n{"b": 2}\n')
    try:
        read_records(bad)
    except ValueError as exc:
        assert "line 2" in str(exc)
    else:
        raise AssertionError("a damaged middle line must not be skipped silently")
