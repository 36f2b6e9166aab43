"""The paper builds from a results folder the test makes itself, and never from the real one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artifactual.paper import build as paper_build
from artifactual.paper.build import PaperBuildError, build

# Made-up numbers in the schema results/goel2022/summary.json follows; none is a real result.
FAKE_SUMMARY = {
    "data": "fake test data (made in tmp_path)",
    "design": {"sources": [
        {"source": "fake_mugshot_style", "class": "A: mugshot-style sources", "n": 1200},
        {"source": "fake_portrait", "class": "B: portrait sources", "n": 1300},
    ]},
    "headline": {"models": [{
        "name": "gpt2_frozen_pretrained_transformer", "auroc": 0.91234, "auroc_ci": [0.8801, 0.9404],
        "average_precision": 0.8765, "average_precision_ci": [0.85, 0.9], "n": 500,
    }]},
    "checks": [
        {"name": "source_predictability", "metric": "auroc", "estimate": 0.97, "ci_low": 0.95,
         "ci_high": 0.99, "p_value": None, "p_holm": None, "n": 2500, "reading": "sources separable",
         "role": "descriptive", "status": "ok", "expected": None, "held": None},
        {"name": "label_source_association", "metric": "cramers_v", "estimate": 1.0, "ci_low": None,
         "ci_high": None, "p_value": None, "p_holm": float("nan"), "n": 2500, "reading": "label = source",
         "role": "confirmatory", "status": "ok", "expected": None, "held": None},
        {"name": "label_learnable", "metric": "auroc", "estimate": 0.99, "ci_low": 0.95, "ci_high": 1.0,
         "p_value": 0.0004, "p_holm": 0.0016, "n": 2500, "reading": "learnable", "role": "confirmatory",
         "status": "ok", "expected": None, "held": None},
        {"name": "face_removed", "metric": "auroc", "estimate": None, "ci_low": None, "ci_high": None,
         "p_value": None, "p_holm": None, "n": 60, "reading": "too_small: 4 identities in class 0 and 30 in class 1",
         "role": "confirmatory", "status": "too_small", "expected": None, "held": None,
         "details": {"identities_per_class": {"0": 4, "1": 30}, "minimum": 10}},
        {"name": "within_source_random_labels", "metric": "auroc", "estimate": 0.51, "ci_low": 0.4,
         "ci_high": 0.62, "p_value": 0.43, "p_holm": None, "n": 800, "reading": "no signal",
         "role": "control", "status": "ok", "expected": "refit permutation p >= 0.05 and the interval covers 0.5",
         "held": True},
    ],
    "multiplicity": {"family": "confirmatory", "correction": "Holm-Bonferroni", "alpha": 0.05,
                     "members": ["label_learnable"], "note": "controls unadjusted"},
    "verdict": "source_confound",
    "verdict_reasons": ["the label is a function of the source"],
    "figures": {"roc_pr": "figures/roc_pr.png", "absent_one": "figures/nowhere.png"},
}


def _fake_results(root: Path, summary: dict | str = FAKE_SUMMARY) -> Path:
    section = root / "results" / "goel2022"
    (section / "figures").mkdir(parents=True)
    text = summary if isinstance(summary, str) else json.dumps(summary)  # json writes NaN as NaN
    (section / "summary.json").write_text(text)
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[:, :16, 0] = 200
    Image.fromarray(rgb).save(section / "figures" / "roc_pr.png")
    return root / "results"


def _build(tmp_path: Path, results: Path) -> tuple[Path, dict]:
    pdf = build(results, out_dir=tmp_path / "build", figures_dir=tmp_path / "figures")
    return pdf, json.loads((tmp_path / "build" / "data.json").read_text())


def _pdf_text(pdf: Path) -> str | None:
    """The PDF's text with pdftotext, else pypdf; None when neither is installed."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    try:
        import pypdf
    except ImportError:
        return None
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)


def test_builds_pdf_from_fake_results(tmp_path):
    results = _fake_results(tmp_path)
    pdf, data = _build(tmp_path, results)
    assert pdf == (tmp_path / "build" / "paper.pdf").resolve()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert data["sections"]["goel2022"]["verdict"] == "source_confound"
    assert data["sections"]["goel2022"]["checks"][1]["p_holm"] is None  # NaN -> null for Typst
    assert data["figures"]["goel2022"] == {"roc_pr": "goel2022-roc_pr.png"}
    assert (tmp_path / "figures" / "goel2022-roc_pr.png").is_file()
    assert any(p.endswith("nowhere.png") for p in data["missing"])
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("neither pdftotext nor pypdf installed: PDF text not checked")
    assert "0.912 [0.880, 0.940]" in text
    assert "< 0.001" in text
    assert "results/goel2022/summary.json does not exist" not in text.replace("\n", " ")
    flat = " ".join(text.split())
    assert "too small (4 / 30 identities; min. 10)" in flat  # a too_small row shows its counts, no number
    assert "confirmatory" in flat and "control" in flat and "descriptive" in flat
    assert "0.002" in flat  # label_learnable's Holm p (confirmatory)
    assert "held" in flat and "interval covers 0.5" in flat  # the control's expected outcome and that it held
    assert "confirmatory family only (label learnable)" in flat


def test_missing_summary_says_not_run_yet(tmp_path):
    pdf, data = _build(tmp_path, tmp_path / "no-results")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert data["sections"] == {name: None for name in paper_build.SECTIONS}
    assert str((tmp_path / "no-results" / "goel2022" / "summary.json").resolve()) in data["missing"]
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("neither pdftotext nor pypdf installed: PDF text not checked")
    assert "Not run yet" in text
    assert "artifactual replicate goel2022 --data-root DIR" in text


def test_bad_summary_json_names_the_file(tmp_path):
    results = _fake_results(tmp_path, summary="{not json")
    with pytest.raises(PaperBuildError, match="goel2022/summary.json is not valid JSON"):
        _build(tmp_path, results)


def test_typst_failure_is_a_clear_error(tmp_path):
    results = _fake_results(tmp_path, summary={**FAKE_SUMMARY, "checks": 5})
    with pytest.raises(PaperBuildError, match="typst could not compile .*main.typ"):
        _build(tmp_path, results)


def test_main_writes_where_told(tmp_path, capsys):
    results = _fake_results(tmp_path)
    out = tmp_path / "elsewhere"
    code = paper_build.main(["--results", str(results), "--out-dir", str(out),
                             "--figures-dir", str(tmp_path / "figs")])
    assert code == 0
    assert (out / "paper.pdf").is_file()
    assert "figure listed but absent" in capsys.readouterr().out


# ---- the calibration appendix (results/calibration/summary.json, `make calibrate`) ----------------

def _fake_calibration(results: Path) -> Path:
    """results/calibration/summary.json written by analyses.calibration.summarise from made-up rows,
    and its figures drawn by artifactual.paper.figures_calibration; returns the folder."""
    import pandas as pd

    from artifactual.analyses.calibration import Design, summarise
    from artifactual.paper import figures_calibration

    rng = np.random.default_rng(0)
    rows = []
    designs = [(Design(k, 2, 1), 40) for k in (5, 10, 20)] + [(Design(20, 5, 2, signal=1.0), 30)]
    for design, n in designs:
        for seed in range(n):
            base = {"design": design.name, "seed": seed, "ids_per_class": design.ids_per_class,
                    "images_per_id": design.images_per_id, "sources_per_class": design.sources_per_class,
                    "minority": design.minority, "signal": design.signal, "source_tied": 0.0, "kind": "synthetic"}
            for test in ("label_source_association", "label_learnable", "image_properties", "face_removed",
                         "blur_ablation"):
                if design.signal and test != "label_learnable":
                    continue
                est = 0.7 + rng.normal(0, 0.05) if design.signal else 0.5 + rng.normal(0, 0.05)
                rows.append({**base, "test": test, "p": np.nan if design.signal else rng.random(), "estimate": est,
                             "ci_low": est - 0.1, "ci_high": est + 0.1, "nb_low": est - 0.07, "nb_high": est + 0.07,
                             "truth": np.nan if design.signal else 0.5})
            if not design.signal:
                rows += [{**base, "test": "old_fixed_score_permutation", "p": rng.random() / 2},
                         {**base, "test": "old_image_level_chi_square_v", "p": rng.random() / 10}]
    folder = results / "calibration"
    folder.mkdir(parents=True)
    summarise(pd.DataFrame(rows), folder, seconds=60.0)
    assert figures_calibration.main(folder) == 0
    return folder


def test_calibration_appendix_from_fake_results(tmp_path):
    folder = _fake_calibration(tmp_path / "results")
    summary = json.loads((folder / "summary.json").read_text())
    for rel in summary["figures"].values():
        assert (folder / rel).read_bytes()[:4] == b"\x89PNG"
    pdf, data = _build(tmp_path, tmp_path / "results")
    cal = data["sections"]["calibration"]
    assert cal["name"] == "calibration" and cal["datasets"] == summary["datasets"]
    assert data["figures"]["calibration"] == {k: f"calibration-{k}.png" for k in ("fpr", "coverage", "min_size")}
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("neither pdftotext nor pypdf installed: PDF text not checked")
    flat = " ".join(text.split())
    assert "Error rates of the audit" in flat
    assert "make calibrate" in flat and "results/calibration/summary.json does not exist" not in flat
    pooled = {r["test"]: r for r in summary["fpr_table"] if r["subset"] == "all designs"}
    r = pooled["label_learnable"]
    three = lambda x: f"{np.floor(x * 1000 + 0.5) / 1000:.3f}"  # noqa: E731  (Typst rounds halves up: 0.0875 -> 0.088)
    assert f"{three(r['fpr'])} [{three(r['mc_low'])}, {three(r['mc_high'])}]" in flat  # the table reads the summary
    assert "old: fixed score permutation" in flat
    assert "Nadeau–Bengio" in flat or "Nadeau-Bengio" in flat
    assert "reports too small" in flat  # 5 identities per class is below the minimum of 10


def test_calibration_missing_names_the_command(tmp_path):
    pdf, data = _build(tmp_path, tmp_path / "no-results")
    assert data["sections"]["calibration"] is None
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("neither pdftotext nor pypdf installed: PDF text not checked")
    flat = " ".join(text.split())
    assert "Error rates of the audit" in flat and "make calibrate" in flat
    assert "python -m artifactual.paper.figures_calibration results/calibration" in flat


def test_figures_calibration_docstring_example():
    import doctest

    from artifactual.paper import figures_calibration

    result = doctest.testmod(figures_calibration, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
