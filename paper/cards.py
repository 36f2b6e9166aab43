"""Claim cards: one page per seed paper, generated from its ``results/<study>/summary.json``.

A card puts side by side what a seed paper claims, in its own words, and what the replication found:
the claim (a short verbatim quote and where it sits in the seed), our reproduction of its headline
number with n and a 95% interval beside the seed's own number, the two to four controls that take the
claim apart, the verdict (the audit's, where the study ran one, else a reading made from the summary's
fields), and what it means, in plain words for students. Every number of ours on a card is read from a
summary here; none is typed into this file or into the Typst template.

- :data:`SEED_CARDS` (:mod:`~artifactual.paper.card_seeds`; summaries are read through
  :mod:`~artifactual.paper.card_reader`): per seed, the quote(s), the studies whose summaries the card reads and the
  extractor (``_seed000`` ... ``_seed004``) that turns those summaries into card content;
- :func:`card_data`: the cards as JSON-able dicts (``paper/build.py`` puts them in ``data.json``, where
  the report's "Claim cards" appendix draws them with ``paper/sections/cards.typ``);
- :func:`build_cards`: one standalone PDF per seed, ``<out>/seed000_goel2022.pdf`` and so on, compiled
  from ``paper/card.typ`` with the ``typst`` package (offline, bundled fonts only), as ``build.py`` does.

A study that has not been run gives a card that says so and names the command that makes its summary. A
summary that lacks a key an extractor needs gives "not in this summary: <key>" in that slot and a
:class:`CardWarning` naming the file and the key: never a crash, never a number from somewhere else.

Responsible use: no card calls anyone criminal. Where a seed's class is "criminal", the card says that
ours is a constructed, source-defined set of public faces.

Examples
--------
>>> import tempfile, warnings
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore")
...     cards = card_data(Path(tempfile.mkdtemp()))
>>> [(c["seed"], c["status"]) for c in cards][:2], cards[0]["command"]
([('000', 'not_run'), ('001', 'not_run')], 'artifactual replicate goel2022 --embedded')

Command line: ``python -m artifactual.paper.cards --results results --out results/cards``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from artifactual.paper.card_reader import CardWarning, Reader, study_command
from artifactual.paper.card_seeds import SEED_CARDS
from artifactual.replication.runs import atomic_write_bytes, atomic_write_json

__all__ = ["SEED_CARDS", "CardWarning", "build_cards", "card_data", "main"]

PAPER_DIR = Path(__file__).resolve().parent
CARD_TYP = PAPER_DIR / "card.typ"


def card_data(results_dir: Path) -> list[dict[str, Any]]:
    """Every seed's card as a JSON-able dict, read from ``results_dir/<study>/summary.json``.

    Parameters
    ----------
    results_dir
        Folder holding ``<study>/summary.json`` for the studies in :data:`SEED_CARDS`.

    Returns
    -------
    list of dict
        One per seed, in seed order: ``seed``, ``name`` (file stem), ``work``, ``studies``, ``summaries``,
        ``claims``, ``status`` (``"ok"`` or ``"not_run"``), ``command`` (when not run), ``reproduction`` and
        ``controls`` (rows: ``label``, ``text``, ``seed``, and the raw ``estimate``, ``ci``, ``n``),
        ``verdict``, ``verdict_reasons``, ``meaning``, ``use``, ``never_about_real_people`` and ``warnings``.

    Warns
    -----
    CardWarning
        For each key an extractor needs and a summary lacks (file and key named).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "crimevision").mkdir()
    >>> _ = (root / "crimevision" / "summary.json").write_text('{"seed_claim": {"accuracy": 0.83}}')
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     card = card_data(root)[4]
    >>> card["status"], card["reproduction"][0]["text"]
    ('ok', 'not in this summary: results')
    >>> str(caught[0].message).endswith("summary.json has no key 'results' (claim card of seed 004, reproduction)")
    True
    """
    results_dir = Path(results_dir)
    cards = []
    for spec in SEED_CARDS:
        reader = Reader(results_dir, spec.seed)
        card: dict[str, Any] = {
            "seed": spec.seed, "name": spec.name, "work": spec.work, "studies": list(spec.studies),
            "summaries": [str(results_dir / s / "summary.json") for s in spec.studies],
            "claims": [{"quote": c.quote, "where": c.where} for c in spec.claims],
            "use": spec.use, "status": "ok", "command": None, "reproduction": [], "controls": [],
            "verdict": None, "verdict_reasons": [], "meaning": None, "never_about_real_people": None,
        }
        if not reader.has(spec.studies[0]):
            card["status"] = "not_run"
            card["command"] = study_command(spec.studies[0])
        else:
            card.update(spec.extract(reader))
            card["never_about_real_people"] = reader.raw(spec.studies[0]).get("never_about_real_people")
        card["warnings"] = reader.problems
        for message in reader.problems:
            warnings.warn(message, CardWarning, stacklevel=2)
        cards.append(card)
    return cards


def build_cards(results_dir: Path, out_dir: Path) -> list[Path]:
    """Compile one standalone PDF per seed into ``out_dir`` (``seed000_goel2022.pdf`` ...); return their paths.

    ``out_dir/cards.json`` holds what they were drawn from (:func:`card_data`). Each PDF is written
    atomically: a reader sees the old file or the new one.

    Raises
    ------
    RuntimeError
        Typst fails to compile a card (:class:`~artifactual.paper.build.PaperBuildError`, with its diagnostic).

    Examples
    --------
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     pdfs = build_cards(tmp / "results", tmp / "cards")
    >>> [p.name for p in pdfs][:2], pdfs[0].read_bytes()[:4]
    (['seed000_goel2022.pdf', 'seed001_shanmugapriyan.pdf'], b'%PDF')
    """
    from artifactual.paper.build import finite, typst_pdf  # build.py imports this module: imported at call time

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    cards = card_data(results_dir)
    data_file = out_dir / "cards.json"
    atomic_write_json(data_file, finite(cards))  # Typst's JSON reader rejects NaN, as in the report's data.json
    root = Path(os.path.commonpath([PAPER_DIR, out_dir]))
    written = []
    for i, card in enumerate(cards):
        pdf = typst_pdf(CARD_TYP, root, {"data": data_file, "index": i}, f"seed {card['seed']}, data {data_file}")
        target = out_dir / f"{card['name']}.pdf"
        atomic_write_bytes(target, pdf)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m artifactual.paper.cards [--results DIR] [--out DIR]``."""
    ap = argparse.ArgumentParser(prog="python -m artifactual.paper.cards",
                                 description="One claim card (PDF) per seed paper, from results/<study>/summary.json.")
    ap.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    ap.add_argument("--out", type=Path, default=Path("results") / "cards", help="for the PDFs (default: results/cards)")
    args = ap.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CardWarning)
        try:
            pdfs = build_cards(args.results, args.out)
        except RuntimeError as exc:
            print(f"cards: error: {exc}", file=sys.stderr)
            return 1
    for w in caught:
        print(f"cards: warning: {w.message}", file=sys.stderr)
    cards = json.loads((Path(args.out) / "cards.json").read_text(encoding="utf-8"))
    for card, pdf in zip(cards, pdfs):
        state = "not run yet: " + card["command"] if card["status"] == "not_run" else "ok"
        print(f"cards: wrote {pdf} ({state})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
