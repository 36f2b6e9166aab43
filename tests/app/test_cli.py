"""The command line end to end: `artifactual run` on the embedded default, summarize, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from artifactual.app.cli import build_parser, main
from artifactual.replication.data import DATASETS
from helpers import write_jpeg


def test_cli_dataset_choices_come_from_the_registry():
    sub = build_parser()._subparsers._group_actions[0].choices["data"]
    summarize = sub._subparsers._group_actions[0].choices["summarize"]
    action = next(a for a in summarize._actions if a.dest == "dataset")
    assert list(action.choices) == DATASETS.names()


#: `artifactual run` with the FPT study cut to one candidate and one epoch per model, 16 GPT-2 images and
#: the two probes under encryption, through the same --set path users have: the end-to-end test checks the
#: lifecycle (main job, every study with an embedded preset, figures, paper, resume), not the study's
#: numbers (tests/analyses/test_goel2022_fpt.py does). The full `make run` is what a new user runs; as a
#: test it took 546 s (twice over, under load); this one about 70 s.
LIGHT = ["--set", "goel2022-fpt.budget.candidates=1", "--set", "goel2022-fpt.lr_grid=[0.001]",
         "--set", "goel2022-fpt.C_grid=[0.01]", "--set", "goel2022-fpt.gpt2_train_images=16",
         "--set", "goel2022-fpt.budget.max_epochs=1",
         "--set", "goel2022-fpt.encrypted_models=[pixel_logreg,image_property_probes]"]


def test_run_on_embedded_default_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "results"
    paper = tmp_path / "paper"
    assert main(["run", "--out", str(out), "--no-progress", "--paper-dir", str(paper), *LIGHT]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["dataset"]["n_images"] == 200 and s["dataset"]["dataset"] == "lfw_subset"
    pp = s["preprocessing"]
    assert pp["config"]["size"] == 32 and pp["config"]["detect_upscale"] == 4.0
    faces = {r["face"]: r for r in pp["detection_rates"]["face"]}
    assert faces["1"]["n"] == 100 and faces["1"]["ci_low"] <= faces["1"]["rate"] <= faces["1"]["ci_high"]
    assert pp["kept"] == sum(r["n_face"] for r in pp["detection_rates"]["source"])
    assert s["provenance"]["manifest_hash"] and s["provenance"]["versions"]["torch"].startswith("2.13")
    run_dir = out / "runs" / s["run_dir"].split("/")[-1]
    assert (run_dir / "done").exists() and (run_dir / "manifest.csv").exists()
    assert "Face-detection rate" in (out / "summary.md").read_text()
    n_records = len((run_dir / "records.jsonl").read_text().splitlines())
    g = json.loads((out / "goel2022" / "summary.json").read_text())
    # the embedded design: class = source (half of the faces through the mugshot-style capture)
    assert g["verdict"] == "source_confound", g["verdict_reasons"]
    from artifactual.analyses.verdict import CONFIRMATORY

    assert g["multiplicity"]["members"] and set(g["multiplicity"]["members"]) <= set(CONFIRMATORY)
    assert all((c["p_holm"] is None) == (c["name"] not in g["multiplicity"]["members"]) for c in g["checks"])
    assert {c["role"] for c in g["checks"]} == {"confirmatory", "control", "descriptive"}
    assert g["classes"]["1"] == "A: mugshot-style sources"
    assert {"name", "metric", "estimate", "ci_low", "ci_high", "p_value", "n", "reading"} <= set(g["checks"][0])
    assert (out / "goel2022" / "figures" / "roc_pr.png").exists()
    assert (paper / "paper.pdf").read_bytes()[:4] == b"%PDF"
    f = json.loads((out / "goel2022-fpt" / "summary.json").read_text())
    assert {m["name"] for m in f["models"]} == {"fpt_minilm_pretrained", "fpt_minilm_random", "fpt_gpt2_shaped",
                                                "logreg_8x8_thumbnails", "knabenhans_cnn"}
    from artifactual.replication.encryption import SCHEMES

    assert {e["scheme"] for e in f["encryption"]} == set(SCHEMES)
    budgets = {m["name"]: m["tuning"] for m in f["models"] if m["dataset"] == "confounded_design"}
    assert all(len(t["candidates"]) == 1 and t["budget"] == "equal" for n, t in budgets.items() if n != "fpt_gpt2_shaped")
    assert f["config"]["budget"]["candidates"] == 1 and f["config"]["lr_grid"] == [0.001]  # --set STUDY.KEY reached it
    assert {c["reading"] for c in f["comparisons"]} <= {"matches", "a_better", "b_better", "cannot_tell"}
    assert len(f["comparisons"]) == 6 and f["provenance"]["designs"]["confounded_design"]["sha256"]
    assert all({"auroc", "ci_low", "ci_high", "trainable_params", "train_seconds", "body", "pretrained"} <= set(m)
               for m in f["models"])
    fpt_records = next((out / "goel2022-fpt" / "runs").iterdir()) / "records.jsonl"
    n_fpt = len(fpt_records.read_text().splitlines())
    assert main(["run", "--out", str(out), "--no-progress", "--paper-dir", str(paper), *LIGHT]) == 0  # resumes
    assert len((run_dir / "records.jsonl").read_text().splitlines()) == n_records
    assert len(fpt_records.read_text().splitlines()) == n_fpt  # nothing retrained
    assert "verdict:" in capsys.readouterr().out
    assert main(["run", "--out", str(out), "--set", "goel2022-fpt.budget.candidates=2"]) == 2  # lr_grid holds 3
    assert "gives every model 2" in capsys.readouterr().err


def test_summarize_manifest_and_errors(tmp_path, capsys):
    write_jpeg(tmp_path / "a.jpg")
    (tmp_path / "b.jpg").write_bytes(b"")
    pd.DataFrame({"path": ["a.jpg", "b.jpg"], "label": [0, 1], "source": ["s", "s"]}).to_csv(tmp_path / "m.csv", index=False)
    assert main(["data", "summarize", "--dataset", "manifest", "--manifest", str(tmp_path / "m.csv"),
                 "--no-progress", "--json", str(tmp_path / "s.json")]) == 0
    text = capsys.readouterr().out
    assert "1 images usable, 1 skipped" in text and "empty file (0 bytes)" in text and "b.jpg" in text
    assert json.loads((tmp_path / "s.json").read_text())["n_skipped"] == 1
    assert main(["data", "summarize", "--dataset", "lfw", "--data-root", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "r"), "--set", "szie=3"]) == 2
    assert "unknown config key 'szie'" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "r"), "--set", "knabenhans2024.epochs=1"]) == 2
    assert "no embedded version" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # every --set is checked before anything runs


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "artifactual.app.cli", "data", "list"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "lfw_subset" in done.stdout and "UMass" in done.stdout


def test_subsampling_flags_are_refused_where_they_do_not_apply(capsys, tmp_path):
    """--per-class means "images per class" wherever a study has that setting, and is refused elsewhere."""
    assert main(["replicate", "knabenhans2024", "--per-class", "100", "--data-root", str(tmp_path)]) == 2
    assert "--per-class does not apply to knabenhans2024" in capsys.readouterr().err
    assert main(["replicate", "goel2022-fpt", "--per-class", "100", "--embedded"]) == 2
    assert "--per-class does not apply to goel2022-fpt" in capsys.readouterr().err


def test_study_configs_are_reachable_and_checked(capsys):
    """--set reaches every study's config (dotted keys for nested ones); typos and wrong types are errors."""
    from artifactual.replication.study import STUDIES

    cfg = STUDIES.get("knabenhans2024").configure("real", {"variants": "[]", "fairness.n_boot": "200"})
    assert cfg.variants == () and cfg.fairness.n_boot == 200
    assert STUDIES.get("goel2022").configure("embedded", {}, per_class=30).design.per_class == 30
    assert STUDIES.get("goel2022-fpt").configure("real", {"per_dataset": "300"}).per_dataset == 300
    assert main(["replicate", "goel2022", "--embedded", "--set", "audit.n_bot=3"]) == 2
    assert "unknown config key 'audit.n_bot'" in capsys.readouterr().err
    assert main(["replicate", "goel2022", "--embedded", "--set", "audit.n_boot=many"]) == 2
    assert "'audit.n_boot': expected an integer" in capsys.readouterr().err
    assert main(["replicate", "knabenhans2024", "--embedded"]) == 2
    assert "no embedded version" in capsys.readouterr().err


def test_a_figure_that_cannot_be_drawn_keeps_the_results(tmp_path, capsys):
    """The numbers are written before the figures: a figure that fails is a warning naming the file, not a crash."""
    from artifactual.app.commands import _report

    (tmp_path / "summary.json").write_text(json.dumps({"checks": 5, "readings": ["r"]}))
    _report("audit", {"readings": ["r"]}, tmp_path)
    captured = capsys.readouterr()
    assert "figures not drawn" in captured.err and "summary.json" in captured.err
    assert "and 0 figures" in captured.out and (tmp_path / "summary.json").is_file()
