"""The paper builds from a results folder the test makes itself, and never from the real one; it draws
every figure itself (artifactual.paper.figures) from the summaries and data files there."""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import artifactual.paper.figures
from artifactual.paper import build as paper_build
from artifactual.paper.build import PaperBuildError, build
from artifactual.paper.figures import KINDS, FigureError, draw

# The made-up summaries here lack keys the claim cards read: each card says so in its slot (tests/paper/
# test_cards.py checks that), and the CardWarning for every missing key would only bury real warnings.
pytestmark = pytest.mark.filterwarnings("ignore::artifactual.paper.card_reader.CardWarning")

_CURVE = {"fpr": [0, 0.1, 1], "tpr": [0, 0.8, 1], "tpr_low": [0, 0.7, 1], "tpr_high": [0, 0.9, 1],
          "recall": [0, 0.8, 1], "precision": [1, 0.9, 0.5], "precision_low": [1, 0.85, 0.5],
          "precision_high": [1, 0.95, 0.5]}

# Made-up numbers in the schema results/goel2022/summary.json follows; none is a real result. It holds
# no `figures` key: the paper build draws the figures (here: roc_pr) from the summary itself.
FAKE_SUMMARY = {
    "data": "fake test data (made in tmp_path)",
    "classes": {"0": "B: portrait sources", "1": "A: mugshot-style sources"},
    "design": {"sources": [
        {"source": "fake_mugshot_style", "class": "A: mugshot-style sources", "n": 1200},
        {"source": "fake_portrait", "class": "B: portrait sources", "n": 1300},
    ]},
    "headline": {"models": [{
        "name": "gpt2_frozen_pretrained_transformer", "auroc": 0.91234, "auroc_ci": [0.8801, 0.9404],
        "average_precision": 0.8765, "average_precision_ci": [0.85, 0.9], "n": 500,
        "curves": {"roc": _CURVE, "pr": _CURVE},
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
}


def _fake_results(root: Path, summary: dict | str = FAKE_SUMMARY) -> Path:
    """results/goel2022/summary.json and nothing else (no figures: the build draws them)."""
    section = root / "results" / "goel2022"
    section.mkdir(parents=True)
    text = summary if isinstance(summary, str) else json.dumps(summary)  # json writes NaN as NaN
    (section / "summary.json").write_text(text)
    return root / "results"


def _is_png(path: Path) -> bool:
    with Image.open(path) as im:
        im.verify()
        return im.format == "PNG"


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


def _flat_text(pdf: Path) -> str:
    """The PDF's text on one line (whitespace collapsed); skips the test when no PDF reader is installed."""
    text = _pdf_text(pdf)
    if text is None:
        pytest.skip("neither pdftotext nor pypdf installed: PDF text not checked")
    return " ".join(text.split())


def test_builds_pdf_from_fake_results(tmp_path):
    results = _fake_results(tmp_path)
    before = (results / "goel2022" / "summary.json").read_bytes()
    pdf, data = _build(tmp_path, results)
    assert pdf == (tmp_path / "build" / "paper.pdf").resolve()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert data["sections"]["goel2022"]["verdict"] == "source_confound"
    assert data["sections"]["goel2022"]["checks"][1]["p_holm"] is None  # NaN -> null for Typst
    # drawn by the build from a summary with no `figures` key (the other audit figures lack their data)
    assert data["figures"]["goel2022"] == {"roc_pr": "goel2022-roc_pr.png"}
    assert _is_png(results / "goel2022" / "figures" / "roc_pr.png")
    assert _is_png(tmp_path / "figures" / "goel2022-roc_pr.png")
    assert (results / "goel2022" / "summary.json").read_bytes() == before  # read, never rewritten
    assert all(p.endswith("summary.json") for p in data["missing"])  # only the sections not run
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


def test_summary_of_the_wrong_type_names_the_file(tmp_path):
    results = _fake_results(tmp_path, summary="[1, 2]")
    with pytest.raises(PaperBuildError, match="goel2022/summary.json holds a list, expected a JSON object"):
        _build(tmp_path, results)
    with pytest.raises(FigureError, match="goel2022/summary.json holds a JSON list, expected an object"):
        draw("goel2022", results / "goel2022")


def test_field_of_the_wrong_type_names_the_file_and_figure(tmp_path):
    import matplotlib.pyplot as plt

    results = _fake_results(tmp_path, summary={**FAKE_SUMMARY, "checks": 5})
    open_before = plt.get_fignums()
    with pytest.raises(PaperBuildError, match=r"goel2022/summary.json: figure 'dose_response' \(goel2022\) "
                                              r"could not be drawn: TypeError"):
        _build(tmp_path, results)
    assert plt.get_fignums() == open_before  # the half-drawn figure was closed


def test_old_figures_key_is_ignored(tmp_path):
    # a summary written before the paper drew its own figures: its mapping (here unusable) is not read
    old = {**FAKE_SUMMARY, "figures": {"bad key!": "../../elsewhere.png", "absent_one": "figures/nowhere.png"}}
    _, data = _build(tmp_path, _fake_results(tmp_path, old))
    assert data["figures"]["goel2022"] == {"roc_pr": "goel2022-roc_pr.png"}
    assert not any("nowhere" in p for p in data["missing"])


def test_typst_failure_is_a_clear_error(tmp_path):
    results = _fake_results(tmp_path, summary={**FAKE_SUMMARY, "design": 5})  # read by Typst, not by a figure
    with pytest.raises(PaperBuildError, match="typst could not compile .*main.typ"):
        _build(tmp_path, results)


def test_main_writes_where_told(tmp_path, capsys):
    results = _fake_results(tmp_path)
    out = tmp_path / "elsewhere"
    code = paper_build.main(["--results", str(results), "--out-dir", str(out),
                             "--figures-dir", str(tmp_path / "figs")])
    assert code == 0
    assert (out / "paper.pdf").is_file() and (tmp_path / "figs" / "goel2022-roc_pr.png").is_file()
    printed = capsys.readouterr().out
    assert f"paper: wrote {(out / 'paper.pdf').resolve()}" in printed
    assert "figure listed but absent" not in printed


def test_default_figures_folder_is_not_the_figure_package():
    assert paper_build.DEFAULT_FIGURES_DIR != Path(artifactual.paper.figures.__file__).parent


# ---- the figure package: one registry of result kinds, `draw`, and its command ---------------------

def test_every_section_and_nested_folder_is_a_kind():
    assert set(paper_build.SECTIONS) <= set(KINDS)
    assert {"audit", "goel2022", "goel2022-fpt", "knabenhans2024", "shanmugapriyan", "crimevision", "adams2020",
            "calibration"} == set(KINDS)
    assert all(kind in KINDS for spec in KINDS.values() for _, kind in spec.nested)
    assert KINDS["goel2022"].figures == KINDS["audit"].figures  # seed 000's folder is an audit folder
    assert list(KINDS["audit"].figures) == ["roc_pr", "property_distributions", "dose_response", "mean_images",
                                            "loso_matrix", "decomposition", "confounding_curve", "capture_swap"]


def test_draw_unknown_kind_lists_the_kinds(tmp_path):
    with pytest.raises(KeyError,
                       match="goel2023.*audit, goel2022, goel2022-fpt, knabenhans2024, shanmugapriyan, crimevision, "
                             "adams2020, calibration"):
        draw("goel2023", tmp_path)


@pytest.mark.parametrize("text, says", [(None, "summary.json is absent"),
                                        ("{not json", "summary.json is not valid JSON")])
def test_draw_bad_summary_names_the_file(tmp_path, text, says):
    if text is not None:
        (tmp_path / "summary.json").write_text(text)
    with pytest.raises(FigureError, match=says) as err:
        draw("audit", tmp_path)
    assert str(tmp_path / "summary.json") in str(err.value)


def test_knabenhans_draws_its_nested_audit(tmp_path):
    folder, audit = tmp_path / "knabenhans2024", tmp_path / "knabenhans2024" / "audit"
    audit.mkdir(parents=True)
    row = {"what": "test accuracy, model 2", "seed": 0.91, "ours": 0.89, "ci_low": 0.87, "ci_high": 0.91}
    (folder / "summary.json").write_text(json.dumps({"seed_comparison": [row]}))
    (audit / "summary.json").write_text(json.dumps(FAKE_SUMMARY))
    made = draw("knabenhans2024", folder)
    assert made == {"seed_vs_ours": "figures/seed_vs_ours.png"}  # the audit's keys are not the section's
    assert _is_png(folder / made["seed_vs_ours"]) and _is_png(audit / "figures" / "roc_pr.png")
    shutil.rmtree(audit)
    assert draw("knabenhans2024", folder) == made  # no audit folder: nothing else to draw


def test_command_redraws_and_keeps_the_summary(tmp_path):
    results = _fake_results(tmp_path)
    folder = results / "goel2022"
    before = (folder / "summary.json").read_bytes()
    run = subprocess.run([sys.executable, "-m", "artifactual.paper.figures", "audit", str(folder)],
                         capture_output=True, text=True, check=True)
    assert json.loads(run.stdout) == {"roc_pr": "figures/roc_pr.png"}
    assert _is_png(folder / "figures" / "roc_pr.png")
    assert (folder / "summary.json").read_bytes() == before  # never rewritten
    bad = subprocess.run([sys.executable, "-m", "artifactual.paper.figures", "audit", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "summary.json is absent" in bad.stderr


FIGURE_MODULES = sorted(info.name for info in pkgutil.walk_packages(artifactual.paper.figures.__path__,
                                                                     "artifactual.paper.figures."))


@pytest.mark.parametrize("name", ["artifactual.paper.figures", *FIGURE_MODULES])
def test_figure_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, name


# ---- the calibration appendix (results/calibration/summary.json, `make calibrate`) ----------------

def _fake_calibration(results: Path) -> Path:
    """results/calibration/summary.json written by analyses.calibration.summarise from made-up rows
    (no figures: the paper build draws them); returns the folder."""
    import pandas as pd

    from artifactual.analyses.calibration import Design, summarise

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
    return folder


@pytest.fixture(scope="module")
def calibration_folder(tmp_path_factory) -> Path:
    """One fake results/calibration (summarised once); each test copies it."""
    return _fake_calibration(tmp_path_factory.mktemp("calibration") / "results")


def _copy_calibration(folder: Path, results: Path) -> Path:
    shutil.copytree(folder, results / "calibration")
    return results / "calibration"


def test_calibration_appendix_from_fake_results(tmp_path, calibration_folder):
    folder = _copy_calibration(calibration_folder, tmp_path / "results")
    summary = json.loads((folder / "summary.json").read_text())
    assert "figures" not in summary  # the analysis writes data only
    pdf, data = _build(tmp_path, tmp_path / "results")
    cal = data["sections"]["calibration"]
    assert cal["name"] == "calibration" and cal["datasets"] == summary["datasets"]
    assert data["figures"]["calibration"] == {k: f"calibration-{k}.png" for k in ("fpr", "coverage", "min_size")}
    for key in ("fpr", "coverage", "min_size"):
        assert _is_png(folder / "figures" / f"{key}.png")
    flat = _flat_text(pdf)
    assert "Error rates of the audit" in flat
    assert "make calibrate" in flat and "results/calibration/summary.json does not exist" not in flat
    pooled = {r["test"]: r for r in summary["fpr_table"] if r["subset"] == "all designs"}
    r = pooled["label_learnable"]
    three = lambda x: f"{np.floor(x * 1000 + 0.5) / 1000:.3f}"  # noqa: E731  (Typst rounds halves up: 0.0875 -> 0.088)
    assert f"{three(r['fpr'])} [{three(r['mc_low'])}, {three(r['mc_high'])}]" in flat  # the table reads the summary
    assert "old: fixed score permutation" in flat
    assert "Nadeau–Bengio" in flat or "Nadeau-Bengio" in flat
    assert "reports too small" in flat  # 5 identities per class is below the minimum of 10
    assert "The verdict grid has not been run" in flat  # this summary holds no `verdict`


def test_calibration_missing_names_the_command(tmp_path):
    pdf, data = _build(tmp_path, tmp_path / "no-results")
    assert data["sections"]["calibration"] is None
    flat = _flat_text(pdf)
    assert "Error rates of the audit" in flat and "make calibrate" in flat


# ---- how much of the headline is source (summary["decomposition"], analyses.decomposition) -----------

def _q(est: float, lo: float, hi: float, n: int | None = 200) -> dict:
    return {"estimate": est, "ci": [lo, hi], **({"n": n} if n is not None else {})}


def _decomposition(mixed: bool = True) -> dict:
    """A made-up `decomposition` block in the shapes analyses.decomposition.summarise writes: with a
    source holding both classes (`mixed`), or seed 000's design, where none does."""
    levels = [{"association": a, "balanced": _q(0.75, 0.55, 0.92, 48), "same": _q(0.5 + a / 2, 0.4, 1.0, 48),
               "reversed": _q(1.25 - a, 0.1, 0.9, 48), "inflation": _q(a - 0.5, a - 0.7, a - 0.3, None)}
              for a in (0.5, 0.8, 1.0)]
    swaps = [{"target_capture": t, "auroc_after": _q(0.85, 0.76, 0.92, None),
              "auroc_change": _q(-0.08, -0.14, -0.04, None),
              "share_removed": _q(0.19, 0.08, 0.34), "flip_rate_moved": {**_q(f, f - 0.1, f + 0.1, 88), "class": m},
              "flip_rate_control": {**_q(0.22, 0.11, 0.35, 112), "class": t}}
             for t, m, f in (("A: mugshot-style sources", "B: portrait sources", 0.38),
                             ("B: portrait sources", "A: mugshot-style sources", 0.24))]
    swap = {"status": "ok", "auroc_before": _q(0.93, 0.87, 0.98), "swaps": swaps}
    harmonised = {"status": "ok", "auroc": _q(0.9166, 0.854, 0.979, 800)}
    worst = swaps[0]
    flip = {**worst["flip_rate_moved"], "target_capture": worst["target_capture"],
            "control": worst["flip_rate_control"]}
    if not mixed:
        return {"table": {"harmonised": harmonised["auroc"], "counterfactual_flip_rate": flip,
                          "explained_share": {**swaps[0]["share_removed"], "basis": "capture_swap_lower_bound"}},
                "parts": {"within_source": {"status": "not_applicable", "reason": "no set of sources holding 2 or more "
                                            "identities of each class holds 10 of each in all"},
                          "controlled_confounding": {"status": "not_applicable",
                                                     "reason": "needs two or more sources that each hold both classes"},
                          "capture_swap": swap, "harmonised": harmonised}}
    table = {"headline": _q(0.9171, 0.8668, 0.9675, 800), "within_source": _q(0.8041, 0.755, 0.8532, 800),
             "gap": _q(0.1131, 0.0807, 0.1455, 800),
             "explained_share": {**_q(0.271, 0.184, 0.358, 800), "basis": "within_source"},
             "balanced": {**_q(0.7413, 0.5308, 0.9167, 48), "trained_at_association": 0.8},
             "inflation_at_observed_association": {**_q(0.125, -0.114, 0.358, None), "association": 0.8},
             "harmonised": harmonised["auroc"], "counterfactual_flip_rate": flip}
    return {"table": table, "parts": {"within_source": {"status": "ok"},
                                      "controlled_confounding": {"status": "ok", "levels": levels,
                                                                 "observed_association": 0.8},
                                      "capture_swap": swap, "harmonised": harmonised}}


def _audit_with_decomposition(root: Path, mixed: bool) -> Path:
    """results/goel2022 holding FAKE_SUMMARY plus a decomposition (the build draws its figures)."""
    return _fake_results(root, {**FAKE_SUMMARY, "decomposition": _decomposition(mixed)})


def test_decomposition_figures_are_pngs_and_skip_missing_parts(tmp_path):
    from artifactual.paper.figures.decomposition import FIGURES

    headline = {**FAKE_SUMMARY["headline"], "auroc": 0.912, "auroc_ci": [0.88, 0.94]}
    base = {**FAKE_SUMMARY, "headline": headline}
    (tmp_path / "summary.json").write_text(json.dumps({**base, "decomposition": _decomposition(mixed=True)}))
    made = draw("audit", tmp_path)
    assert {"decomposition", "confounding_curve", "capture_swap"} <= set(made)  # registered beside the others
    for key in ("decomposition", "confounding_curve", "capture_swap"):
        png = tmp_path / made[key]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as im:
            im.verify()
            assert min(im.size) > 200
    seed000 = {**base, "decomposition": _decomposition(mixed=False)}
    assert FIGURES.figures["confounding_curve"](seed000, tmp_path / "s") is None  # not applicable: no figure
    for fn in FIGURES.figures.values():  # a summary written before the decomposition: none of them
        assert fn(base, tmp_path / "bare") is None
    assert not (tmp_path / "s").exists() and not (tmp_path / "bare").exists()


def test_paper_shows_the_decomposition(tmp_path):
    pdf, data = _build(tmp_path, _audit_with_decomposition(tmp_path, mixed=True))
    assert set(data["figures"]["goel2022"]) == {"roc_pr", "decomposition", "confounding_curve", "capture_swap"}
    flat = _flat_text(pdf)
    assert "How much of the headline is source?" in flat
    assert "0.804 [0.755, 0.853]" in flat and "0.271 [0.184, 0.358]" in flat  # within-source row, share row
    assert "The source explains 27% [18%, 36%]" in flat
    assert "Controlled confounding (as Zech" in flat and "The capture swap (after DeGrave" in flat  # figure captions
    assert flat.count("The capture swap (after DeGrave") == 1  # shown once, in its subsection, not again


def test_paper_says_why_a_part_is_missing(tmp_path):
    pdf, _ = _build(tmp_path, _audit_with_decomposition(tmp_path, mixed=False))
    flat = _flat_text(pdf)
    assert "the label cannot be told apart from the source" in flat
    assert "the capture swap’s lower bound" in flat.replace("'", "’") and "19% [8%, 34%]" in flat
    assert "Controlled confounding was not computed (not applicable): needs two or more sources" in flat


def test_paper_without_decomposition_says_so(tmp_path):
    pdf, _ = _build(tmp_path, _fake_results(tmp_path))  # FAKE_SUMMARY predates the decomposition
    flat = _flat_text(pdf)
    assert "How much of the headline is source?" in flat and "holds no decomposition" in flat
    assert "The verdict grid has not been run" in flat


# ---- the verdict on a grid of known truths (summary["verdict"], analyses.calibration_verdict) --------

def test_verdict_grid_figures_and_appendix(tmp_path, calibration_folder):
    import pandas as pd

    from artifactual.analyses.calibration_verdict import VerdictDesign, expected_verdicts, verdict_summary

    rows = []
    for i, (trait, artifact, assoc) in enumerate([(t, a, p) for t in ("none", "strong") for a in ("none", "strong")
                                                  for p in (0.5, 1.0)] * 2):
        d = VerdictDesign(trait, artifact, assoc, 1)
        verdict = expected_verdicts(d)[0] if i != 3 else "partial_confound"  # one wrong verdict
        share = np.nan if assoc == 1.0 else 0.1 * (artifact == "strong")
        rows.append({"trait": trait, "artifact": artifact, "association": assoc, "sources_per_class": 1,
                     "design": d.name, "seed": i, "verdict": verdict, "correct": verdict in expected_verdicts(d),
                     "explained_share": share + 0.05 * (i % 2), "explained_share_low": share - 0.1,
                     "explained_share_high": share + 0.2, "truth_share": share})
    folder = _copy_calibration(calibration_folder, tmp_path / "results")
    summary = json.loads((folder / "summary.json").read_text())
    summary["verdict"] = json.loads(json.dumps(verdict_summary(pd.DataFrame(rows)), default=float))
    (folder / "summary.json").write_text(json.dumps(summary))
    made = draw("calibration", folder)
    assert {"verdict_confusion", "explained_share"} <= set(made)
    for key in ("verdict_confusion", "explained_share"):
        assert _is_png(folder / made[key])
    pdf, data = _build(tmp_path, tmp_path / "results")
    assert {"verdict_confusion", "explained_share"} <= set(data["figures"]["calibration"])
    flat = _flat_text(pdf)
    assert "The verdict on a grid of known truths" in flat and "The verdict grid has not been run" not in flat
    assert "15 of 16 datasets got a right verdict" in flat
    assert "No artifact: called source_confound" in flat
