"""The teaching notebooks: every one executes in CI (quick mode, embedded default), every question is answered.

Each notebook runs in a fresh Jupyter kernel exactly as ``make teaching`` runs it (jupytext -> nbclient),
with ``ARTIFACTUAL_DATA`` removed, so CI checks the embedded version whatever data root it has.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from artifactual.paper import lessons, teaching_build
from artifactual.paper.teaching_build import (answers_of, build_notebooks, execute, notebooks, questions_of,
                                              teacher_file)

NOTEBOOKS = notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def test_the_five_notebooks_of_the_issue_are_there():
    assert [p.stem.split("_", 1)[1] for p in NOTEBOOKS] == [
        "name_that_source", "auroc_from_nothing", "fair_by_point_estimates", "watch_list", "frames_not_samples"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_has_goals_questions_and_a_teachers_file_answering_each(path):
    text = path.read_text()
    assert "format_name: percent" in text, f"{path.name}: store it as a jupytext percent script"
    assert "**Learning goals.**" in text and "**Time:**" in text and "**You need:**" in text, path.name
    asked = questions_of(path)
    number = int(path.name[:2])
    assert len(asked) >= 3, f"{path.name}: {len(asked)} predict-before-reveal questions"
    assert asked == [f"Q{number}.{k}" for k in range(1, len(asked) + 1)], f"{path.name}: question IDs {asked}"
    teacher = teacher_file(path)
    assert teacher.exists(), f"{path.name}: no teacher's file {teacher}"
    assert answers_of(teacher) == asked, f"{teacher.name} answers {answers_of(teacher)}, the notebook asks {asked}"
    for q in asked:  # answers stay out of the notebook: each question is followed by a code cell that reveals
        after = text.split(f"**Predict ({q}).**", 1)[1]
        assert "# %%\n" in after.split("# %% [markdown]", 1)[0] or after.lstrip().startswith("#"), q


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_executes_in_quick_mode_on_the_embedded_default(path, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTUAL_DATA", "/nonexistent-data-root")  # execute() must remove it for the kernel
    nb, error = execute(path, quick=True, workdir=tmp_path, timeout=300)
    assert error is None, f"{path.name}: {error}"
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "quick mode, the embedded default" in outputs, f"{path.name} did not report its mode first"
    assert "/nonexistent-data-root" not in outputs


def _notebook(folder, name, body):
    (folder / "teacher").mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body))
    return folder / name


def test_a_failing_notebook_is_named_with_its_cell_and_the_others_still_render(tmp_path):
    src = tmp_path / "nbs"
    _notebook(src, "01_fine.py", """\
        # %% [markdown]
        # # Fine
        # %%
        import os
        print("quick" if os.environ["ARTIFACTUAL_TEACHING_QUICK"] == "1" else "full", "ARTIFACTUAL_DATA" in os.environ)
        """)
    _notebook(src, "02_broken.py", """\
        # %%
        x = 1
        # %%
        open("/definitely/missing.csv")
        """)
    logged = []
    outcomes = build_notebooks(tmp_path / "out", quick=True, folder=src, log=logged.append)
    fine, broken = outcomes
    assert fine.ok and broken.ok is False
    assert "code cell 2" in broken.error and "FileNotFoundError" in broken.error and "/definitely/missing.csv" in \
        broken.error
    assert any("02_broken.py: FAILED" in line for line in logged)
    html = (tmp_path / "out" / "01_fine.html").read_text()
    assert "quick False" in html  # the quick flag reached the kernel, the data root did not
    assert (tmp_path / "out" / "02_broken.html").exists()  # shows where it stopped
    executed = json.loads((tmp_path / "out" / "01_fine.ipynb").read_text())
    assert "".join(executed["cells"][1]["outputs"][0]["text"]) == "quick False\n"


def test_main_counts_failures_and_refuses_an_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert teaching_build.main(["--out", str(blocker / "sub"), "--skip", "cards", "game"]) == 2
    assert "cannot write teaching output to" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="no notebook"):
        build_notebooks(tmp_path / "o", only=["99"])
    assert teaching_build.main(["--out", str(tmp_path / "o"), "--only", "99"]) == 2
    assert "no notebook in" in capsys.readouterr().err


def test_a_failing_card_build_is_counted_and_the_game_still_written(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    (results / "cards").write_text("a file where the cards folder should be")
    code = teaching_build.main(["--out", str(tmp_path / "t"), "--results", str(results), "--skip", "notebooks"])
    err = capsys.readouterr().err
    assert code == 1 and "error: cards:" in err and str(results / "cards") in err
    report = json.loads((tmp_path / "t" / "report.json").read_text())
    assert report["errors"][0].startswith("cards:") and (tmp_path / "t" / "name_that_source.html").exists()


def test_quick_flag_is_checked():
    with pytest.raises(ValueError, match="ARTIFACTUAL_TEACHING_QUICK must be 0 or 1, got 'yes'"):
        lessons.lesson({"ARTIFACTUAL_TEACHING_QUICK": "yes"})
    assert lessons.lesson({"ARTIFACTUAL_DATA": "/x"}).describe("lfw") == \
        "full mode, the embedded default (lfw not found under the data root)"
