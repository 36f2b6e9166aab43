"""Every figure of the paper, drawn from a result folder's ``summary.json`` and the data files beside it.

The analyses write numbers and figure data (``summary.json``, ``mean_images.npz``,
``encrypted_examples.npz``, ...) and never draw; this package reads them and writes
``<folder>/figures/<key>.png``. One module per figure set, each filled by its ``@FIGURES.figure(key)``
decorator (:mod:`~artifactual.paper.figures.common`):

- :mod:`~artifactual.paper.figures.audit` and :mod:`~artifactual.paper.figures.decomposition`: any audit
  folder (``artifactual audit``, ``results/goel2022``, ``results/knabenhans2024/audit``);
- :mod:`~artifactual.paper.figures.goel2022_fpt`, :mod:`~artifactual.paper.figures.knabenhans2024`,
  :mod:`~artifactual.paper.figures.shanmugapriyan`, :mod:`~artifactual.paper.figures.crimevision`,
  :mod:`~artifactual.paper.figures.adams2020`, :mod:`~artifactual.paper.figures.calibration`: one study's folder
  each.

:data:`KINDS` says which sets are drawn for which kind of result folder; :func:`draw` draws them, and
``python -m artifactual.paper.figures KIND FOLDER`` does the same from the shell. The paper build
(``paper/build.py``) calls :func:`draw` for each of its sections, so the figures always match the
summary the paper quotes.

Examples
--------
>>> import json, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> row = {"what": "test accuracy, model 2", "seed": 0.91, "ours": 0.89, "ci_low": 0.87, "ci_high": 0.91}
>>> _ = (folder / "summary.json").write_text(json.dumps({"seed_comparison": [row]}))
>>> draw("knabenhans2024", folder)  # the other four figures' data is absent: skipped
{'seed_vs_ours': 'figures/seed_vs_ours.png'}
>>> (folder / "figures" / "seed_vs_ours.png").read_bytes()[:4]
b'\\x89PNG'
>>> list(KINDS)
['audit', 'goel2022', 'goel2022-fpt', 'knabenhans2024', 'shanmugapriyan', 'crimevision', 'adams2020', 'calibration']
>>> draw("goel2023", folder)
Traceback (most recent call last):
...
KeyError: "no figures for result kind 'goel2023'; the kinds are: audit, goel2022, goel2022-fpt, knabenhans2024, shanmugapriyan, crimevision, adams2020, calibration"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifactual.paper.figures import (adams2020, audit, calibration, crimevision, decomposition, goel2022_fpt,
                                       knabenhans2024, shanmugapriyan)
from artifactual.paper.figures.common import Draw, FigureSet, plt

__all__ = ["KINDS", "FigureError", "ResultKind", "draw", "read_summary"]


class FigureError(RuntimeError):
    """A result folder's figures could not be drawn; the message names the file (and figure) at fault."""


@dataclass(frozen=True)
class ResultKind:
    """The figures drawn into one kind of result folder.

    Parameters
    ----------
    about
        Which folder this is, in words (for ``--help``).
    sets
        The figure sets drawn into the folder, in order; their keys must not collide.
    nested
        ``(sub-folder, kind)`` pairs: each sub-folder holding a ``summary.json`` is drawn as that kind
        too. Its figures stay in the sub-folder and are not among the keys :func:`draw` returns.
    """

    about: str
    sets: tuple[FigureSet, ...]
    nested: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        keys = [key for s in self.sets for key in s.figures]
        if len(keys) != len(set(keys)):
            raise ValueError(f"figure sets {[s.name for s in self.sets]} share keys "
                             f"{sorted({k for k in keys if keys.count(k) > 1})}; rename one of them")

    @property
    def figures(self) -> dict[str, Draw]:
        """Every figure of the kind, key -> drawing function, in drawing order."""
        return {key: fn for s in self.sets for key, fn in s.figures.items()}


_AUDIT = (audit.FIGURES, decomposition.FIGURES)

#: Result kind -> what is drawn into its folder. The paper's section names (``paper/build.py``
#: ``SECTIONS``) are kinds here; ``audit`` is the folder the ``artifactual audit`` command writes.
KINDS: dict[str, ResultKind] = {
    "audit": ResultKind("a folder written by `artifactual audit`", _AUDIT),
    "goel2022": ResultKind("results/goel2022: seed 000's design, audited (an audit folder)", _AUDIT),
    "goel2022-fpt": ResultKind("results/goel2022-fpt: seed 000's frozen pretrained transformers",
                               (goel2022_fpt.FIGURES,)),
    "knabenhans2024": ResultKind("results/knabenhans2024: seed 002's gender classifiers, and the audit on "
                                 "gender across sources in its audit/ folder", (knabenhans2024.FIGURES,),
                                 nested=(("audit", "audit"),)),
    "shanmugapriyan": ResultKind("results/shanmugapriyan: seed 001's watch-list on a constructed watch-list of "
                                 "public faces", (shanmugapriyan.FIGURES,)),
    "crimevision": ResultKind("results/crimevision: seed 004's crime-class frame classifier on UCF-Crime frames "
                              "under three protocols, and the audit on crime vs normal (source = video) in its "
                              "audit/ folder", (crimevision.FIGURES,), nested=(("audit", "audit"),)),
    "adams2020": ResultKind("results/adams2020: seed 003's faces generated from 40 CelebA attributes (a cross-modal "
                            "VAE and an MVAE): what they show, whom they find, what they leave to the prior",
                            (adams2020.FIGURES,)),
    "calibration": ResultKind("results/calibration: the audit's own error rates (`make calibrate`)",
                              (calibration.FIGURES,)),
}


def read_summary(path: Path) -> dict[str, Any]:
    """``path`` (a ``summary.json``) parsed; a :class:`FigureError` naming it when absent or not a JSON object."""
    path = Path(path)
    if not path.is_file():
        raise FigureError(f"{path} is absent: run the job that writes it first")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FigureError(f"{path} is not valid JSON ({exc}); rerun the job that writes it") from None
    if not isinstance(summary, dict):
        raise FigureError(f"{path} holds a JSON {type(summary).__name__}, expected an object (a summary); "
                          "rerun the job that writes it")
    return summary


def draw(kind: str, folder: Path) -> dict[str, str]:
    """Draw every figure of ``kind`` whose data ``folder`` holds; return ``{key: "figures/<key>.png"}``.

    Parameters
    ----------
    kind
        A key of :data:`KINDS` (``"audit"``, a paper section's name, ...).
    folder
        The result folder: ``folder/summary.json`` and the data files beside it are read, and each
        figure is written to ``folder/figures/<key>.png`` (paths returned relative to ``folder``).
        ``summary.json`` is only read, never rewritten.

    Raises
    ------
    KeyError
        ``kind`` is not in :data:`KINDS` (the message lists the kinds).
    FigureError
        ``folder/summary.json`` is absent or not a JSON object, or a figure failed on what it read
        (the message names the file, the figure and the error).
    """
    if kind not in KINDS:
        raise KeyError(f"no figures for result kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    spec, folder = KINDS[kind], Path(folder)
    summary_file = folder / "summary.json"
    summary = read_summary(summary_file)
    made: dict[str, str] = {}
    for key, fn in spec.figures.items():
        open_before = set(plt.get_fignums())
        try:
            rel = fn(summary, folder)
        except Exception as exc:  # a summary that does not follow its kind's schema: say where
            for num in set(plt.get_fignums()) - open_before:  # the half-drawn figure
                plt.close(num)
            raise FigureError(f"{summary_file}: figure {key!r} ({kind}) could not be drawn: "
                              f"{type(exc).__name__}: {exc}; check that the file is a {kind} summary "
                              "written by the current code, else rerun the job that writes it") from exc
        if rel:
            made[key] = rel
    for sub, sub_kind in spec.nested:
        if (folder / sub / "summary.json").is_file():
            draw(sub_kind, folder / sub)
    return made
