"""Run records: provenance in every record, resume after interruption, atomic writes, the collector."""

from __future__ import annotations

import json

import pytest

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


def test_a_torn_last_line_is_cut_and_its_unit_recomputed_on_its_own_line(tmp_path, capsys):
    """Issue 15 defect 1: a fragment left by a kill mid-write used to swallow the next record appended after it
    (the file then failed to parse, or the recomputed unit silently went missing)."""
    run = RunDir.create(tmp_path, "job", {"k": 1}, "m")
    for unit in ("a", "b", "c"):
        run.append({"unit": unit, "value": unit * 40})
    full = run.records_file.read_bytes()
    run.records_file.write_bytes(full[: len(full) - 30])  # c's line cut part-way
    again = RunDir.create(tmp_path, "job", {"k": 1}, "m")
    assert "dropped a torn last line" in capsys.readouterr().err and again.repaired
    assert again.completed("unit") == {"a", "b"}
    again.append({"unit": "c", "value": "c" * 40})
    assert [r["unit"] for r in read_records(again.records_file)] == ["a", "b", "c"]
    again.require("unit", ["a", "b", "c"])
    # a cut that leaves the newline of a half-written line is a torn line too
    run.records_file.write_bytes(full[: len(full) - 30] + b"\n")
    assert RunDir.create(tmp_path, "job", {"k": 1}, "m").completed("unit") == {"a", "b"}
    assert read_records(run.records_file) == read_records(run.records_file)  # parses: no fragment left
    # a whole file is left alone
    untouched = run.records_file.read_bytes()
    assert not RunDir.create(tmp_path, "job", {"k": 1}, "m").repaired and run.records_file.read_bytes() == untouched


def test_a_missing_unit_is_refused_not_summarised(tmp_path):
    run = RunDir.create(tmp_path, "job", {"k": 1}, "m")
    run.append({"unit": "a"})
    with pytest.raises(RuntimeError, match=r"no record of unit\(s\) \['b'\]"):
        run.require("unit", ["a", "b"])


def test_an_append_that_hits_the_file_size_limit_leaves_no_fragment(tmp_path):
    """A size limit mid-write (issue 15 defect 1) must not leave half a line behind."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from artifactual.replication.runs import RunDir
        run = RunDir.create(Path({str(tmp_path)!r}), "job", {{}}, "m")
        run.append({{"unit": "a"}})
        size = run.records_file.stat().st_size
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, resource.RLIM_INFINITY))
        try:
            run.append({{"unit": "b", "blob": "x" * 5000}})
        except OSError as exc:
            print("refused", exc.errno, run.records_file.stat().st_size == size)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.split()[0] == "refused" and res.stdout.split()[-1] == "True", res.stdout + res.stderr
    assert [r["unit"] for r in read_records(next(tmp_path.glob("job-*")) / "records.jsonl")] == ["a"]
