"""What every figure module shares: matplotlib without a display, one way to save, one way to register.

A figure is a function ``draw(summary, folder) -> "figures/<key>.png" | None``: it reads the result
folder's ``summary.json`` (already parsed, ``summary``) and the data files beside it, writes
``folder/figures/<key>.png``, and returns that path relative to ``folder``, or None when its data is
absent (an older run, a part that was not computed). Each figure module holds one :class:`FigureSet`,
filled by its :meth:`FigureSet.figure` decorator; ``artifactual.paper.figures`` says which sets are drawn
for which kind of result folder.

Examples
--------
>>> import tempfile
>>> demo = FigureSet("demo")
>>> @demo.figure("line")
... def line(s, out):
...     fig, ax = plt.subplots()
...     ax.plot(s["y"])
...     return save(fig, out, "line")
>>> out = Path(tempfile.mkdtemp())
>>> list(demo.figures), line({"y": [1, 3, 2]}, out)
(['line'], 'figures/line.png')
>>> (out / "figures" / "line.png").read_bytes()[:4]
b'\\x89PNG'
>>> demo.figure("line")(line)
Traceback (most recent call last):
...
ValueError: figure in set 'demo' 'line' is registered twice (...); pick another name
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever written to files
import matplotlib.pyplot as plt  # noqa: E402

from artifactual.replication.registry import Registry  # noqa: E402

#: The folder, inside a result folder, that its figures are written to.
FIGURES_DIR = "figures"

#: ``draw(summary, folder)``: writes ``folder/figures/<key>.png`` and returns ``"figures/<key>.png"``,
#: or returns None when the data it needs is absent.
Draw = Callable[[dict[str, Any], Path], "str | None"]


def save(fig, folder: Path, key: str, dpi: int = 130) -> str:
    """Write ``fig`` to ``folder/figures/<key>.png``, close it, and return that path relative to ``folder``."""
    rel = f"{FIGURES_DIR}/{key}.png"
    path = Path(folder) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return rel


class FigureSet(Registry[Draw]):
    """The figures one module draws, by key, in the order they are registered (a duplicate key is an error).

    Parameters
    ----------
    name
        What the set draws (for messages), e.g. ``"audit"``.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"figure in set {name!r}")
        self.name = name

    def figure(self, key: str) -> Callable[[Draw], Draw]:
        """Decorator: register the function as this set's figure ``key`` (letters, digits, ``_`` and ``-``:
        it becomes part of a file name and a Typst string)."""
        if not re.fullmatch(r"[A-Za-z0-9_-]+", key):
            raise ValueError(f"figure key {key!r} in set {self.name!r} may hold only letters, digits, '_' and '-'")
        return self.register(key)

    @property
    def figures(self) -> dict[str, Draw]:
        return dict(self._items)  # registration order (names() sorts)

    def __repr__(self) -> str:
        return f"FigureSet({self.name!r}: {', '.join(self.figures)})"
