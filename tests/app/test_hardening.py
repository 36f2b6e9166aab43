"""Issue 15: what a hostile QA pass found, one test a defect (the fault-injection suite is test_fault_injection.py).

Defects 4, 9 and the class wording of 13 live with the checks (tests/analyses); defect 1 with the run records
(tests/replication/test_runs.py); defects 3 and 8 in test_audit_cli.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from artifactual.analyses.audit import AuditRun, HeadlineConfig
from artifactual.analyses.audit_data import AuditConfig
from artifactual.app.cli import main
from artifactual.replication.data import manifest as manifest_loader
from artifactual.replication.preprocess import Goel2022Preprocess

#: the smallest battery that still runs every unit: seconds, not minutes
FAST = ["--models", "pixel_logreg", "--no-progress", "--workers", "1",
        "--set", "detect_face=false", "--set", "size=16", "--set", "audit.n_boot=30", "--set", "audit.n_perm=30",
        "--set", "audit.interval_draws=5", "--set", "audit.repeats=1", "--set", "headline.cv_repeats=1",
        "--set", "headline.interval_draws=3", "--set", "audit.dose_max_images=40"]


def _images(folder: Path, n: int, seed: int) -> list[dict]:
    """``n`` small smooth images, two classes from two sources, 2 images a person; returns manifest rows."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        cls = "A" if i % 2 else "B"
        base = rng.normal(104 if cls == "A" else 100, 40, (24, 24, 3))
        img = np.clip(base, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"{i}.png")
        rows.append({"path": f"{i}.png", "y": cls, "src": "studio" if cls == "A" else "web", "person": f"p{i // 4}"
                     f"{cls}"})
    return rows


@pytest.fixture(scope="module")
def user_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("user")
    rows = pd.DataFrame(_images(root, 48, 0))
    rows.to_csv(root / "m.csv", index=False)
    rows.rename(columns={"y": "label", "src": "source", "person": "identity"}).to_csv(root / "std.csv", index=False)
    return root / "m.csv"


def _summary(out: Path) -> dict:
    s = json.loads((out / "summary.json").read_text())
    for key in ("seconds", "run_dir", "data"):
        s.pop(key, None)
    s["preprocessing"] = {k: v for k, v in s["preprocessing"].items() if "seconds" not in k and k != "from_cache"}
    s["design"].pop("manifest", None)
    return s


def _audit(manifest: Path, out: Path, *extra: str) -> int:
    return main(["audit", "--manifest", str(manifest), "--label", "y", "--source", "src", "--identity", "person",
                 "--out", str(out), *FAST, *extra])


# -- defect 2: every setting that changes a number is in the run folder's name ----------------------------------

def test_every_setting_that_changes_a_number_names_its_own_run_folder(user_set):
    from artifactual.analyses.audit import run_config
    from artifactual.replication.runs import RunDir

    ds = manifest_loader.load(user_set, label_col="y", source_col="src", identity_col="person", progress=False)
    base = AuditRun("audit", ds, "label", Goel2022Preprocess(size=16, detect_face=False))
    variants = {
        "positive": AuditRun("audit", ds, "label", base.preprocess, positive="B"),
        "balance": AuditRun("audit", ds, "label", base.preprocess, balance=True),
        "preprocess": AuditRun("audit", ds, "label", Goel2022Preprocess(size=24, detect_face=False)),
        "audit": AuditRun("audit", ds, "label", base.preprocess, audit=AuditConfig(n_boot=999)),
        "headline": AuditRun("audit", ds, "label", base.preprocess, headline=HeadlineConfig(models=("pixel_logreg",))),
    }
    names = {k: RunDir.folder_name("audit", run_config(r), r.dataset.manifest_hash) for k, r in variants.items()}
    names["base"] = RunDir.folder_name("audit", run_config(base), ds.manifest_hash)
    # the columns chosen as label, source and identity change the manifest's hash
    for key, kw in {"label": dict(label_col="src", source_col="y"), "identity": dict(identity_col=None)}.items():
        other = manifest_loader.load(user_set, **{"label_col": "y", "source_col": "src", "identity_col": "person",
                                                  **kw}, progress=False)
        names[key] = RunDir.folder_name("audit", run_config(base), other.manifest_hash)
    assert len(set(names.values())) == len(names), names


def test_rerunning_with_the_other_positive_class_reuses_nothing_stale(user_set, tmp_path):
    """The QA run: --positive A, then --positive B into the same folder, reused A's records (AP of the other class)."""
    shared, fresh = tmp_path / "shared", tmp_path / "fresh"
    assert _audit(user_set, shared, "--positive", "A") == 0
    ap_a = _summary(shared)["headline"]["average_precision"]
    assert _audit(user_set, shared, "--positive", "B") == 0
    assert _audit(user_set, fresh, "--positive", "B") == 0
    assert _summary(shared) == _summary(fresh)
    assert _summary(shared)["classes"] == {"0": "A", "1": "B"} and _summary(shared)["headline"][
        "average_precision"] != ap_a
    assert len(list((shared / "runs").iterdir())) == 2  # each setting keeps its own records


# -- defect 5 and 13: hostile paths are named, counted skips, listed in skipped.csv ------------------------------

@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    rows = _images(root, 48, 1)
    os.symlink(root / "loop.png", root / "loop.png")  # a symlink to itself
    rows += [{"path": "loop.png", "y": "A", "src": "studio", "person": "x1"},
             {"path": "n" * 300 + ".png", "y": "B", "src": "web", "person": "x2"},
             {"path": "bad\0name.png", "y": "A", "src": "studio", "person": "x3"},
             {"path": "../outside.png", "y": "B", "src": "web", "person": "x4"}]
    pd.DataFrame(rows).to_csv(root / "m.csv", index=False)
    out = root / "out"
    old = os.umask(0o022)
    try:
        rc = _audit(root / "m.csv", out)
    finally:
        os.umask(old)
    return rc, out


def test_hostile_paths_are_named_counted_skips(hostile_run, capsys):
    rc, out = hostile_run
    assert rc == 0
    skipped = pd.read_csv(out / "skipped.csv", keep_default_na=False)
    reasons = dict(zip(skipped["path"].str[:12], skipped["reason"]))
    assert "unusable path: loop.png (a symlink loop)" in reasons["loop.png"]
    assert "name too long" in reasons["n" * 12].lower()
    assert "NUL byte" in reasons["bad\\0name.pn"]
    assert reasons["../outside.p"].startswith("path escapes the data root")
    s = json.loads((out / "summary.json").read_text())
    assert s["design"]["skipped_rows"] == len(skipped) == 4 and s["design"]["n"] == 48


def test_outputs_are_written_with_the_umask_not_private(hostile_run):
    _, out = hostile_run
    for name in ("summary.json", "summary.md", "skipped.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    cfg = next((out / "runs").iterdir()) / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o644


# -- defect 6: file-system faults, found before any work, one line each ------------------------------------------

def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("artifactual: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_out_that_is_a_file_or_cannot_be_made_is_refused_up_front(user_set, tmp_path, capsys, monkeypatch):
    import artifactual.analyses.audit as audit

    monkeypatch.setattr(audit, "build_audit_data", lambda *a, **k: pytest.fail("decoded before checking --out"))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert _audit(user_set, blocker) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"--out {blocker} is a file, not a folder" in line
    assert _audit(user_set, blocker / "sub") == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"{blocker}" in line and "is a file, not a folder" in line


def test_an_unwritable_cache_is_one_line_even_for_data_summarize(user_set, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("ARTIFACTUAL_CACHE", str(blocker))
    assert main(["data", "summarize", "--dataset", "manifest", "--manifest", str(user_set.with_name("std.csv")),
                 "--no-progress"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "cache folder" in line and "ARTIFACTUAL_CACHE" in line


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder on a read-only file system (root writes through permission bits, so chmod proves nothing)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a read-only file system here: {made.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_read_only_out_is_refused_before_decoding(user_set, read_only_folder, capsys, monkeypatch):
    import artifactual.analyses.audit as audit

    monkeypatch.setattr(audit, "build_audit_data", lambda *a, **k: pytest.fail("decoded before checking --out"))
    assert _audit(user_set, read_only_folder) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"--out {read_only_folder} cannot be written (Read-only file system)" in line
    assert _audit(user_set, read_only_folder / "new") == 2
    assert f"cannot be made: {read_only_folder} cannot be written" in _one_line_error(capsys.readouterr().err)


def test_a_read_only_cache_is_one_line(user_set, read_only_folder, capsys, monkeypatch):
    monkeypatch.setenv("ARTIFACTUAL_CACHE", str(read_only_folder))
    assert main(["data", "summarize", "--dataset", "manifest", "--manifest", str(user_set.with_name("std.csv")),
                 "--no-progress"]) == 2
    assert "the cache folder" in _one_line_error(capsys.readouterr().err)


def test_a_file_size_limit_mid_run_is_one_line_and_the_rerun_finishes(user_set, tmp_path):
    """A write that hits RLIMIT_FSIZE ends the run with the path and what to do; nothing finished is lost."""
    import resource

    out, cache = tmp_path / "out", tmp_path / "cache"
    env = {**os.environ, "ARTIFACTUAL_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "artifactual.app.cli", "audit", "--manifest", str(user_set), "--label", "y",
           "--source", "src", "--identity", "person", "--out", str(out), *FAST]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (6_000, resource.RLIM_INFINITY))

    res = subprocess.run(cmd, capture_output=True, text=True, env=env, preexec_fn=limit, timeout=300)
    assert res.returncode == 2, res.stderr
    line = _one_line_error(res.stderr)
    assert "could not write" in line and "run the same command again" in line
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["verdict"]


# -- defect 7: impossible designs are refused up front with their counts ------------------------------------------

@pytest.mark.parametrize("people, images", [(1, 4), (3, 1)])
def test_an_impossible_design_is_refused_with_counts_before_the_battery(tmp_path, capsys, monkeypatch, people, images):
    import artifactual.analyses.audit as audit

    monkeypatch.setattr(audit, "build_audit_data", lambda *a, **k: pytest.fail("preprocessed an impossible design"))
    rows = _images(tmp_path, 2 * people * images, 2)
    for i, r in enumerate(rows):
        r["person"] = f"p{(i // 2) % people}{r['y']}"
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    assert _audit(tmp_path / "m.csv", tmp_path / "out") == 2
    line = _one_line_error(capsys.readouterr().err)
    n_people = "1 person" if people == 1 else f"{people} people"
    assert f"class 'A' has {n_people}" in line and "needs at least 5 people in each class" in line


# -- defect 10: settings that would reach OpenCV as nonsense ------------------------------------------------------

@pytest.mark.parametrize("setting, says", [("scale_factor=nan", "scale_factor must be a finite number"),
                                           ("detect_upscale=inf", "detect_upscale must be a finite number"),
                                           ("cascade=/etc/passwd", "not a readable OpenCV cascade file"),
                                           ("audit.n_boot=zero", "n_boot")])
def test_settings_are_validated_before_opencv_sees_them(user_set, tmp_path, capsys, setting, says):
    rc = main(["audit", "--manifest", str(user_set), "--label", "y", "--source", "src", "--out", str(tmp_path / "o"),
               "--no-progress", "--set", setting])
    assert rc == 2
    assert says in _one_line_error(capsys.readouterr().err)


# -- defect 11: another manifest's audit into an existing --out ---------------------------------------------------

def test_another_manifests_audit_is_refused_into_an_existing_out_unless_replaced(user_set, tmp_path, capsys):
    out = tmp_path / "out"
    assert _audit(user_set, out) == 0
    figures_before = {p.name for p in (out / "figures").glob("*.png")}
    (out / "figures" / "left_by_the_first_run.png").write_bytes(b"x")
    other = tmp_path / "other"
    pd.DataFrame(_images(other, 40, 5)).to_csv(other / "m.csv", index=False)
    capsys.readouterr()
    assert _audit(other / "m.csv", out) == 2
    assert "already holds the audit of" in _one_line_error(capsys.readouterr().err)
    assert _audit(other / "m.csv", out, "--replace") == 0
    assert not (out / "figures" / "left_by_the_first_run.png").exists()
    assert {p.name for p in (out / "figures").glob("*.png")} <= figures_before | {p.name for p in (
        out / "figures").glob("*.png")}
    assert _summary(out)["design"]["n"] == 40 and len(list((out / "runs").iterdir())) == 2
    assert _audit(other / "m.csv", out) == 0  # the same manifest again: a resume, not a refusal


# -- defect 12: paths outside the CSV's folder -------------------------------------------------------------------

def test_absolute_paths_elsewhere_say_why_and_root_reads_them(tmp_path, capsys):
    images, elsewhere = tmp_path / "images", tmp_path / "csvs"
    rows = _images(images, 40, 3)
    for r in rows:
        r["path"] = str(images / r["path"])
    elsewhere.mkdir()
    pd.DataFrame(rows).to_csv(elsewhere / "m.csv", index=False)
    assert _audit(elsewhere / "m.csv", tmp_path / "out") == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "path escapes the data root (40)" in line and "--root" in line
    assert _audit(elsewhere / "m.csv", tmp_path / "out", "--root", str(images)) == 0
    assert _summary(tmp_path / "out")["design"]["n"] == 40


# -- defect 13: Ctrl-C is one line with the resume command --------------------------------------------------------

def test_ctrl_c_prints_one_line_and_the_resume_command(user_set, tmp_path, capsys, monkeypatch):
    import artifactual.analyses.audit as audit

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(audit, "build_audit_data", interrupted)
    assert _audit(user_set, tmp_path / "out") == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = [ln for ln in err.splitlines() if ln.startswith("artifactual:")]
    assert len(line) == 1 and "interrupted" in line[0]
    assert f"Resume with: artifactual audit --manifest {user_set}" in line[0]


# -- defect 4: a failed check is said on the console and stays one row of summary.md ------------------------------

def test_a_failing_check_is_said_on_the_console_and_is_one_table_row(user_set, tmp_path, capsys, monkeypatch):
    from artifactual.analyses.checks import CHECKS

    def broken(d, cfg):
        raise ValueError("tile cannot extend outside image\nsecond line | with a pipe")
    monkeypatch.setitem(CHECKS._items, "dose_response", broken)
    out = tmp_path / "out"
    assert _audit(user_set, out) == 0
    err = capsys.readouterr().err
    assert "warning: check dose_response failed and is left out of the verdict: failed: tile cannot extend outside " \
           "image second line" in err
    rows = [ln for ln in (out / "summary.md").read_text().splitlines() if "dose_response" in ln and ln.startswith("|")]
    assert len(rows) == 1 and "second line" in rows[0], rows
    header = next(ln for ln in (out / "summary.md").read_text().splitlines() if ln.startswith("| check"))
    assert rows[0].replace("\\|", "").count("|") == header.count("|")
