"""``python -m artifactual.paper.figures KIND FOLDER``: redraw a result folder's figures.

Reads ``FOLDER/summary.json`` (and the data files beside it), writes ``FOLDER/figures/<key>.png`` for
every figure of ``KIND`` whose data is there, and prints ``{key: path relative to FOLDER}`` as JSON.
``summary.json`` is never rewritten: the paper build draws the figures again itself.

Examples
--------
>>> import json, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "summary.json").write_text(json.dumps({"models": []}))
>>> main(["knabenhans2024", str(folder)])  # no figure's data in this summary: nothing drawn
{}
0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from artifactual.paper.figures import KINDS, FigureError, draw


def main(argv: list[str] | None = None) -> int:
    """Draw ``KIND``'s figures into ``FOLDER``; 0 on success, 2 (with the reason on stderr) otherwise."""
    ap = argparse.ArgumentParser(
        prog="python -m artifactual.paper.figures",
        description="Redraw a result folder's figures from its summary.json into FOLDER/figures/.",
        epilog="kinds: " + "; ".join(f"{k}: {v.about}" for k, v in KINDS.items()))
    ap.add_argument("kind", choices=list(KINDS), help="the kind of result folder")
    ap.add_argument("folder", type=Path, help="the result folder, e.g. results/calibration")
    args = ap.parse_args(argv)
    try:
        made = draw(args.kind, args.folder)
    except FigureError as exc:
        print(f"figures: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(made, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
