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
         "ci_high": 0.99, "p_value": 0.0005, "p_holm": 0.002, "n": 2500, "reading": "sources separable"},
        {"name": "label_source_association", "metric": "cramers_v", "estimate": 1.0, "ci_low": None,
         "ci_high": None, "p_value": None, "p_holm": float("nan"), "n": 2500, "reading": "label = source"},
    ],
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
