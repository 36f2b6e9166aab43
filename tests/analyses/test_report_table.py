"""summary.md keeps one table row per check or part, whatever text a reading or a failure carries (issue 15)."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pandas as pd

from artifactual.analyses.report import summary_markdown

ERROR = ("failed: OpenCV(4.14.0) :-1: error: (-5:Bad argument) in function 'ellipse'\n> Overload resolution failed:\n"
         ">  - Layout of the output array img | is incompatible with cv::Mat\n")


def _summary() -> dict:
    model = {"name": "pixel_logreg", "protocol": "cv", "n": 80, "auroc": 0.9, "auroc_ci": [0.8, 1.0],
             "average_precision": 0.9, "average_precision_ci": [0.8, 1.0], "permutation_p": 0.01,
             "trainable_params": 1025, "confusion": {"matrix": [[30, 10], [10, 30]], "n": 80,
                                                     "tpr": {"estimate": 0.75, "ci_low": 0.6, "ci_high": 0.9},
                                                     "tnr": {"estimate": 0.75, "ci_low": 0.6, "ci_high": 0.9}}}
    ok = {"name": "label_learnable", "metric": "auroc", "estimate": 0.9, "ci_low": 0.8, "ci_high": 1.0,
          "p_value": 0.01, "p_holm": 0.02, "n": 80, "reading": "learnable", "role": "confirmatory", "status": "ok"}
    failed = {"name": "harmonisation", "metric": "-", "estimate": None, "ci_low": None, "ci_high": None,
              "p_value": None, "p_holm": None, "n": 0, "reading": ERROR, "role": "descriptive", "status": "failed"}
    return {"name": "t", "data": "made up", "label": "label", "classes": {"1": "A", "0": "B"},
            "never_about_real_people": "nothing here is about a real person", "verdict": "inconclusive",
            "verdict_reasons": ["a reason\nover two lines"],
            "design": {"sources": [{"source": "studio | north", "class": "A", "n": 40},
                                   {"source": "web", "class": "B", "n": 40}], "n": 80, "identities": 80},
            "preprocessing": {"status_counts": {"ok": 80}}, "headline": {"models": [model]},
            "multiplicity": "Holm", "checks": [ok, failed],
            "decomposition": {"table": {"headline": {"estimate": 0.9, "ci": [0.8, 1.0], "n": 80}},
                              "parts": {"harmonised": {"status": "failed", "reason": ERROR}}},
            "provenance": {"manifest_hash": "0", "git_commit": "0"}, "run_dir": "runs/t"}


def _cells(line: str) -> int:
    """Cells of a Markdown table row: '|' not escaped by a backslash separates them."""
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


def test_every_table_row_has_as_many_cells_as_its_header():
    md = summary_markdown(_summary())
    lines = md.splitlines()
    tables, current = [], []
    for line in lines:  # consecutive lines starting with '|' form one table
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    assert len(tables) >= 4
    for table in tables:
        assert {_cells(row) for row in table} == {_cells(table[0])}, table
    # the failed check is ONE row, with its whole reason on it
    rows = [line for line in lines if line.startswith("| harmonisation |")]
    assert len(rows) == 1 and "Overload resolution failed" in rows[0] and "failed" in rows[0].split("|")[4]
    # no line of the report starts with the error's continuation
    assert not any(line.startswith(">") for line in lines)
    # the failed part and the verdict reason stay one list item each
    assert any(line.startswith("- harmonised: failed:") and "Overload resolution failed" in line for line in lines)
    assert "- a reason over two lines" in lines


# -- class names in words (issue 15, defect 13): the user's labels are literally "A" and "B", positive "B" ----

def _labelled_a_b(sources: np.ndarray, labels: list[str]):
    from artifactual.analyses.audit_data import AuditData, binary_labels

    y, names = binary_labels(pd.Series(labels), positive="B")  # what --positive B gives
    rng = np.random.default_rng(5)
    raw = np.stack([np.clip(cv2.GaussianBlur(rng.normal(110, 40, (24, 24, 3)), (0, 0), 2), 0, 255)
                    for _ in y]).astype(np.uint8)
    return AuditData.from_arrays(raw, y, sources, groups=np.arange(len(y)) // 2, label_values=names)


def test_leave_one_source_out_names_each_class_and_its_sources_in_words():
    from artifactual.analyses.audit_data import AuditConfig
    from artifactual.analyses.checks.source import leave_one_source_out

    sources = np.repeat(["studio", "archive", "web", "phone"], 20)
    labels = ["B" if s in ("studio", "archive") else "A" for s in sources]
    d = _labelled_a_b(sources, labels)
    assert d.label_values == {0: "A", 1: "B"}
    row = leave_one_source_out(d, AuditConfig(n_boot=50, n_perm=50, interval_draws=10, repeats=2))[0]
    pairs = row.details["pairs"]
    assert len(pairs) == 4
    said = re.compile(r"class '(\w)' \(positive\): sources? ([\w+ ]+); class '(\w)': sources? ([\w+ ]+)")
    label_of = dict(zip(sources, labels))
    for p in pairs:
        for text in (p["train"], p["test"]):
            m = said.fullmatch(text)
            assert m, text
            assert (m[1], m[3]) == ("B", "A")
            assert {label_of[s] for s in m[2].split(" + ")} == {"B"} and {label_of[s] for s in m[4].split(" + ")} == {"A"}


def test_controlled_confounding_sides_are_not_named_like_classes():
    from artifactual.analyses.decomposition_heldout import controlled_confounding

    sources = np.repeat(["studio", "web"], 40)
    # person i // 2 (both photos one label): studio holds 75% class B, web 25%
    labels = ["B" if (s == "studio") == (i // 2 % 4 != 0) else "A" for i, s in enumerate(sources)]
    d = _labelled_a_b(sources, labels)
    part = controlled_confounding(d, minimum=2, n_boot=20, seed=0)
    assert set(part["sides"].values()) == {"high", "low"} and part["sides"]["studio"] == "high"
    assert "class 'B' (positive)" in part["sides_are"]
