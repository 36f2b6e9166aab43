"""``make teaching``: execute the teaching notebooks, render them to HTML, and build the cards and the game.

The notebooks live in ``paper/teaching/`` as jupytext percent scripts (``NN_slug.py``): plain Python
that diffs line by line and runs with ``python``, opened as a notebook by Jupyter with jupytext.
Jupytext + nbclient was chosen over marimo because teachers and students already have Jupyter, the
executed ``.ipynb`` and nbconvert's HTML are the formats course platforms take, and a percent script
stays a readable script with no framework of its own (marimo's reactive cells need its runtime).

For each notebook this module reads it with jupytext, executes it in a fresh Python kernel
(nbclient; the kernel gets ``ARTIFACTUAL_TEACHING_QUICK`` set for the quick mode, see
:mod:`artifactual.paper.lessons`), and writes ``<out>/NN_slug.ipynb`` and ``<out>/NN_slug.html``
(nbconvert). A notebook that fails is reported with its name, the failing cell and the error; the
others still run, whatever finished stays written, and ``<out>/report.json`` counts both. Then
the claim cards (:mod:`artifactual.paper.cards`, ``<results>/cards/``) and the game page
(:mod:`artifactual.paper.game`, ``<out>/name_that_source.html``) are built; either failing is named in
``report.json``'s ``errors`` and on stderr, and the exit status is 1.

Examples
--------
>>> [p.name for p in notebooks()][:2]
['01_name_that_source.py', '02_auroc_from_nothing.py']
>>> answers_of(TEACHING / "teacher" / "01_name_that_source.md")[:2]
['Q1.1', 'Q1.2']
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from artifactual.paper.lessons import DATA_ENV, QUICK_ENV
from artifactual.replication.runs import NotWritable, atomic_write_json, atomic_write_text, check_writable

TEACHING = Path(__file__).resolve().parent / "teaching"
NOTEBOOK_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.py$")
QUESTION = re.compile(r"\*\*Predict \((Q\d+\.\d+)\)\.\*\*")
ANSWER = re.compile(r"^## (Q\d+\.\d+)\b", re.MULTILINE)


def notebooks(folder: Path = TEACHING) -> list[Path]:
    """The notebooks of ``folder`` in reading order (``NN_slug.py``)."""
    return sorted(p for p in Path(folder).glob("*.py") if NOTEBOOK_NAME.match(p.name))


def teacher_file(notebook: Path) -> Path:
    """Where a notebook's answers are kept: ``teacher/<same stem>.md`` beside it."""
    return notebook.parent / "teacher" / f"{notebook.stem}.md"


def questions_of(notebook: Path) -> list[str]:
    """The predict-before-reveal question IDs of a notebook, in order (``**Predict (Q1.2).**``)."""
    return QUESTION.findall(Path(notebook).read_text())


def answers_of(teacher: Path) -> list[str]:
    """The question IDs a teacher's file answers (``## Q1.2`` headings), in order."""
    return ANSWER.findall(Path(teacher).read_text())


@dataclass
class Outcome:
    notebook: str
    ok: bool
    seconds: float
    html: str | None = None
    error: str | None = None
    cells_with_figures: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _failure(exc: BaseException, nb) -> str:
    """The failing cell (its number and first line) and the error's last line, from nbclient's exception."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    if isinstance(exc, CellExecutionError):
        cells = [c for c in nb.cells if c.cell_type == "code"]
        failed = next((i for i, c in enumerate(cells) for o in c.get("outputs", []) if o.get("output_type") == "error"),
                      None)
        where = f"code cell {failed + 1} ({cells[failed].source.splitlines()[0][:60]!r})" if failed is not None else \
            "a code cell"
        return f"{where} raised {exc.ename}: {exc.evalue}"
    if isinstance(exc, CellTimeoutError):
        return f"a cell ran past the timeout: {exc}"
    if isinstance(exc, DeadKernelError):
        return f"the kernel died (out of memory?): {exc}"
    return f"{type(exc).__name__}: {exc}"


def execute(notebook: Path, quick: bool, workdir: Path, timeout: int = 600, data_root: str | None = None):
    """Run ``notebook`` in a fresh kernel; returns ``(executed notebook, error message or None)``.

    The kernel's environment is this process's, with the quick flag set and the data root set
    (``data_root``) or removed (``None``: the embedded default, as CI runs them).
    """
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(notebook)
    env = {k: v for k, v in os.environ.items() if k != DATA_ENV}
    env[QUICK_ENV] = "1" if quick else "0"
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    # tqdm warns in every kernel that has no ipywidgets; the notebooks show no progress bars
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), "ignore:IProgress not found"]))
    if data_root:
        env[DATA_ENV] = str(data_root)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute(env=env)
    except Exception as exc:  # noqa: BLE001 - reported with the notebook's name, the others still run
        return nb, _failure(exc, nb)
    return nb, None


def render_html(nb, title: str) -> str:
    """nbconvert's HTML of an executed notebook (figures inline as base64 PNG)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def build_notebooks(out: Path, quick: bool = False, only: Sequence[str] = (), folder: Path = TEACHING,
                    data_root: str | None = None, log=print) -> list[Outcome]:
    """Execute and render every notebook of ``folder`` (or those whose name starts with one of ``only``)."""
    import nbformat

    out = writable(out)
    chosen = [p for p in notebooks(folder) if not only or any(p.name.startswith(o) for o in only)]
    if not chosen:
        raise FileNotFoundError(f"no notebook in {folder} matches {list(only) or 'NN_slug.py'}")
    outcomes = []
    for path in chosen:
        t0 = time.perf_counter()
        log(f"{path.name}: executing ({'quick' if quick else 'full'} mode, "
            f"{'data root ' + str(data_root) if data_root else 'embedded default'}) ...")
        nb, error = execute(path, quick, out, data_root=data_root)
        html = out / f"{path.stem}.html"
        atomic_write_text(out / f"{path.stem}.ipynb", nbformat.writes(nb))
        atomic_write_text(html, render_html(nb, path.stem))  # a failed notebook's HTML shows where it stopped
        figures = sum(any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
                      for c in nb.cells if c.cell_type == "code")
        o = Outcome(path.name, error is None, round(time.perf_counter() - t0, 1), str(html), error, figures)
        log(f"{path.name}: {'ok' if o.ok else 'FAILED: ' + error} ({o.seconds} s) -> {html}")
        outcomes.append(o)
    return outcomes


def writable(folder: Path) -> Path:
    """``folder``, created, after :func:`~artifactual.replication.runs.check_writable` (an ``OSError`` naming it)."""
    folder = Path(folder)
    try:
        check_writable(folder, "--out", "pass --out DIR")
    except NotWritable as exc:
        raise OSError(f"cannot write teaching output to {folder}: {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m artifactual.paper.teaching_build", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/teaching"), help="HTML notebooks and the game page")
    ap.add_argument("--results", type=Path, default=Path("results"), help="where the studies' summary.json are")
    ap.add_argument("--cards-out", type=Path, default=None, help="claim cards (default <results>/cards)")
    ap.add_argument("--quick", action="store_true", help="the quick mode CI runs (fewer permutations and epochs)")
    ap.add_argument("--only", nargs="*", default=[], help="notebook name prefixes, e.g. 01 03")
    ap.add_argument("--data-root", default=None,
                    help=f"real data for the notebooks (default: ${DATA_ENV} if set, else the embedded default)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["notebooks", "cards", "game"])
    args = ap.parse_args(argv)
    data_root = args.data_root or os.environ.get(DATA_ENV) or None
    report: dict[str, Any] = {"quick": args.quick, "data_root": data_root, "notebooks": [], "failures": 0,
                              "errors": []}
    try:
        out = writable(args.out)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "notebooks" not in args.skip:
        try:
            outcomes = build_notebooks(out, args.quick, args.only, data_root=data_root)
        except FileNotFoundError as exc:  # --only matched nothing
            print(f"error: {exc}", file=sys.stderr)
            return 2
        report["notebooks"] = [o.__dict__ for o in outcomes]
        report["failures"] += sum(not o.ok for o in outcomes)
        atomic_write_json(out / "report.json", report)
    cards_out = args.cards_out or args.results / "cards"
    for part in [p for p in ("cards", "game") if p not in args.skip]:
        try:  # a failing part is reported and counted; the notebooks' outputs are already written
            if part == "cards":
                from artifactual.paper.cards import build_cards

                report["cards"] = [str(p) for p in build_cards(args.results, cards_out)]
                print(f"cards: {len(report['cards'])} PDFs -> {cards_out}")
            else:
                from artifactual.paper.game import build_game

                report["game"] = str(build_game(out))
                print(f"game: {report['game']}")
        except Exception as exc:  # noqa: BLE001 - named in the report, the exit status says so
            report["errors"].append(f"{part}: {type(exc).__name__}: {exc}")
            print(f"error: {report['errors'][-1]}", file=sys.stderr)
    atomic_write_json(out / "report.json", report)
    failed = [n["notebook"] for n in report["notebooks"] if not n["ok"]] + [e.split(":")[0] for e in report["errors"]]
    if failed:
        print(f"error: {len(failed)} part(s) failed: {', '.join(failed)} (see {out / 'report.json'}); "
              "everything else was written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
