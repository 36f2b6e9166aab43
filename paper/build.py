"""``make paper``: turn ``results/<name>/summary.json`` files into ``paper/build/paper.pdf`` with Typst.

The paper never holds a number of its own. This module gathers what the analyses wrote and hands
it to the Typst source (``paper/main.typ`` and ``paper/sections/*.typ``):

1. read ``<results>/<name>/summary.json`` for each name in :data:`SECTIONS` (absent -> ``null``);
2. draw the section's figures into ``<results>/<name>/figures/`` from that summary and the data files
   beside it (``artifactual.paper.figures.draw(name, <results>/<name>)``: each section's name is a
   result kind there), and copy each to ``<figures>/<name>-<key>.png`` (keeping the file's own suffix);
   an old summary's own ``figures`` mapping is ignored;
3. write ``<out>/data.json``: ``{"sections": {name: summary or null}, "figures": {name: {key: file}},
   "built_from": {...}, "missing": [...], "cards": [...]}`` (``cards``: one claim card per seed,
   :func:`artifactual.paper.cards.card_data`);
4. compile ``paper/main.typ`` with the ``typst`` Python package, offline, with its bundled fonts only,
   into ``<out>/paper.pdf``.

How the Typst source finds its data: Typst reads files only under the project root it is given, and
a path starting with ``/`` is taken from that root. The root is the nearest folder holding the
repository, ``<out>`` and ``<figures>`` (the repository itself for the default build), and two
``sys.inputs`` give the root-relative places: ``data`` (of ``data.json``) and ``figures`` (the folder).
Compiled by hand, the defaults in ``main.typ`` match the default build:
``typst compile --root . paper/main.typ`` after one ``make paper``.

Examples
--------
>>> import tempfile
>>> tmp = Path(tempfile.mkdtemp())
>>> pdf = build(tmp / "results", out_dir=tmp / "build", figures_dir=tmp / "figures")
>>> pdf.read_bytes()[:4], json.loads((tmp / "build" / "data.json").read_text())["sections"]
(b'%PDF', {'goel2022': None, 'goel2022-fpt': None, 'knabenhans2024': None, 'shanmugapriyan': None, 'crimevision': None, 'adams2020': None, 'calibration': None})
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from artifactual.paper.cards import card_data
from artifactual.paper.figures import FigureError, draw
from artifactual.replication.designs.goel2022 import SEED_CLAIMS
from artifactual.replication.runs import atomic_write_bytes, atomic_write_json, git_commit

#: Result folders the paper has a section for, in reading order (``results/<name>/summary.json``):
#: the replications, then ``calibration`` (``make calibrate``: the audit's own error rates, an appendix).
SECTIONS: tuple[str, ...] = ("goel2022", "goel2022-fpt", "knabenhans2024", "shanmugapriyan", "crimevision",
                             "adams2020", "calibration")

PAPER_DIR = Path(__file__).resolve().parent
REPO_ROOT = PAPER_DIR.parent
MAIN_TYP = PAPER_DIR / "main.typ"
DEFAULT_OUT_DIR = PAPER_DIR / "build"
# not paper/figures/: that is the figure package (artifactual.paper.figures)
DEFAULT_FIGURES_DIR = DEFAULT_OUT_DIR / "figures"



class PaperBuildError(RuntimeError):
    """The paper could not be built; the message names the file or value at fault."""


def build(
    results_dir: Path = Path("results"),
    out_dir: Path = DEFAULT_OUT_DIR,
    figures_dir: Path = DEFAULT_FIGURES_DIR,
) -> Path:
    """Build the paper from ``results_dir``; return the path of the PDF (``out_dir/paper.pdf``).

    Parameters
    ----------
    results_dir
        Folder holding ``<name>/summary.json`` for the names in :data:`SECTIONS`. Missing
        summaries are not an error: their sections say they have not been run yet.
    out_dir
        Where ``data.json`` and ``paper.pdf`` are written (created if absent).
    figures_dir
        Where figures are copied to, as ``<name>-<key>.<suffix>`` (created if absent).

    Raises
    ------
    PaperBuildError
        A summary is not valid JSON, a figure cannot be drawn from it, a figure key or path is
        unusable, or Typst fails to compile (the message carries Typst's own diagnostic).
    """
    results_dir, out_dir, figures_dir = (Path(p).resolve() for p in (results_dir, out_dir, figures_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)

    data = collect(results_dir, figures_dir)
    data_file = out_dir / "data.json"
    atomic_write_json(data_file, data)

    pdf = out_dir / "paper.pdf"
    compile_typst(data_file, figures_dir, pdf)
    return pdf


def collect(results_dir: Path, figures_dir: Path) -> dict[str, Any]:
    """Read every section's summary, draw and copy its figures, and return what ``data.json`` holds."""
    sections: dict[str, Any] = {}
    figures: dict[str, dict[str, str]] = {}
    summaries: dict[str, Any] = {}
    missing: list[str] = []
    for name in SECTIONS:
        summary_file = results_dir / name / "summary.json"
        if not summary_file.is_file():
            sections[name] = None
            figures[name] = {}
            missing.append(str(summary_file))
            continue
        try:
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PaperBuildError(f"{summary_file} is not valid JSON ({exc}); rerun the job that writes it") from None
        if not isinstance(summary, dict):
            raise PaperBuildError(f"{summary_file} holds a {type(summary).__name__}, expected a JSON object")
        sections[name] = finite(summary)
        figures[name] = _copy_figures(name, summary_file.parent, figures_dir, missing)
        summaries[name] = {
            "path": str(summary_file),
            "sha256": hashlib.sha256(summary_file.read_bytes()).hexdigest(),
        }
    return {
        "sections": sections,
        "figures": figures,
        "built_from": {
            "results_dir": str(results_dir),
            "summaries": summaries,
            "git_commit": git_commit(REPO_ROOT),
            "artifactual": _version("artifactual"),
            "typst": _version("typst"),
        },
        "missing": missing,
        # the seed papers' own claims, held once in the design files, so the text needs no results to quote them
        "seed_claims": {"goel2022": SEED_CLAIMS},
        # one claim card per seed (artifactual.paper.cards), drawn in the "Claim cards" appendix
        "cards": finite(card_data(results_dir)),
    }


def _copy_figures(name: str, section_dir: Path, figures_dir: Path, missing: list[str]) -> dict[str, str]:
    """Draw section ``name``'s figures in ``section_dir``, copy them into ``figures_dir``; return key -> file name."""
    try:
        mapping = draw(name, section_dir)
    except FigureError as exc:
        raise PaperBuildError(str(exc)) from exc
    copied: dict[str, str] = {}
    for key, rel in mapping.items():  # keys are plain names (checked when registered), paths figures/<key>.png
        src = section_dir / rel
        if not src.is_file():
            missing.append(str(src))
            continue
        target = figures_dir / f"{name}-{key}{src.suffix.lower()}"
        shutil.copyfile(src, target)
        copied[key] = target.name
    return copied


def compile_typst(data_file: Path, figures_dir: Path, pdf: Path) -> None:
    """Compile :data:`MAIN_TYP` into ``pdf``, reading ``data_file`` and figures from ``figures_dir``."""
    root = Path(os.path.commonpath([REPO_ROOT, data_file.parent, figures_dir]))
    what = f"data {data_file}, figures {figures_dir}"
    atomic_write_bytes(pdf, typst_pdf(MAIN_TYP, root, {"data": data_file, "figures": figures_dir}, what))


def typst_pdf(source: Path, root: Path, inputs: dict[str, Any], what: str) -> bytes:
    """The PDF of the Typst file ``source``; ``inputs`` reach it as ``sys.inputs``, paths as root-relative.

    Typst may read only under ``root``, and a path beginning with "/" is taken from it, so every
    :class:`~pathlib.Path` in ``inputs`` (under ``root``) is passed as ``"/" + its path relative to root``.
    The fonts are those bundled with the package (``ignore_system_fonts``): the same on every machine,
    offline. A compile error raises :class:`PaperBuildError` naming ``source``, ``what`` and Typst's diagnostic.
    """
    import typst  # the compiler is only needed here; reading results must work without it

    args = {k: "/" + v.relative_to(root).as_posix() if isinstance(v, Path) else str(v) for k, v in inputs.items()}
    try:
        return typst.compile(str(source), root=str(root), sys_inputs=args, ignore_system_fonts=True)
    except typst.TypstError as exc:
        detail = "\n".join(filter(None, [getattr(exc, "diagnostic", ""), *getattr(exc, "hints", [])]))
        raise PaperBuildError(f"typst could not compile {source} ({what}): "
                              f"{getattr(exc, 'message', exc)}\n{detail}".rstrip()) from None


def finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities turned into ``None``: Typst's JSON reader rejects them."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return obj


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    """``python -m artifactual.paper.build [--results DIR] [--out-dir DIR] [--figures-dir DIR]``."""
    ap = argparse.ArgumentParser(prog="python -m artifactual.paper.build",
                                 description="Build paper/build/paper.pdf from results/<name>/summary.json.")
    ap.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    ap.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="for data.json and paper.pdf")
    ap.add_argument("--figures-dir", type=Path, default=DEFAULT_FIGURES_DIR, help="copied figures")
    args = ap.parse_args(argv)
    try:
        pdf = build(args.results, args.out_dir, args.figures_dir)
    except PaperBuildError as exc:
        print(f"paper: error: {exc}", file=sys.stderr)
        return 1
    data = json.loads((pdf.parent / "data.json").read_text(encoding="utf-8"))
    for name, summary in data["sections"].items():
        if summary is None:
            print(f"paper: section {name!r} has no results yet ({args.results / name / 'summary.json'} absent)")
    for path in data["missing"]:
        if not path.endswith("summary.json"):
            print(f"paper: figure listed but absent: {path}")
    print(f"paper: wrote {pdf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
