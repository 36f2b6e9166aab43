"""What every teaching notebook (``paper/teaching/*.py``) asks first: quick or full, embedded or real data.

A notebook runs in one of two sizes and on one of two kinds of data, chosen from the environment so
that the same file serves CI, ``make teaching`` and a student's laptop without edits:

- ``ARTIFACTUAL_TEACHING_QUICK=1``: the quick mode CI executes (fewer permutations, epochs and
  bootstrap draws; the same code path). Unset or ``0``: the full version (at most 3 minutes on the
  embedded default on 2 CPU cores).
- ``ARTIFACTUAL_DATA=/path``: the data root. A notebook switches to real data only when the folders
  it needs are there (:meth:`Lesson.has`), and otherwise says what it falls back to.

Examples
--------
>>> s = lesson({"ARTIFACTUAL_TEACHING_QUICK": "1"})
>>> s.quick, s.data_root, s.has("utkface"), s.size(full=1000, quick=50)
(True, None, False, 50)
>>> lesson({"ARTIFACTUAL_TEACHING_QUICK": "maybe"})
Traceback (most recent call last):
...
ValueError: ARTIFACTUAL_TEACHING_QUICK must be 0 or 1, got 'maybe'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

QUICK_ENV = "ARTIFACTUAL_TEACHING_QUICK"
DATA_ENV = "ARTIFACTUAL_DATA"


@dataclass(frozen=True)
class Lesson:
    quick: bool
    data_root: Path | None

    def has(self, *folders: str) -> bool:
        """True when the data root holds every one of ``folders`` (e.g. ``"utkface"``)."""
        return self.data_root is not None and all((self.data_root / f).is_dir() for f in folders)

    def size(self, full: int, quick: int) -> int:
        """``quick`` in the quick mode, else ``full``: permutations, epochs, bootstrap draws."""
        return quick if self.quick else full

    def describe(self, *folders: str) -> str:
        """One line for the notebook's output: which mode, which data."""
        data = (f"real data under {self.data_root}" if folders and self.has(*folders)
                else "the embedded default" + (f" ({', '.join(folders)} not found under the data root)"
                                               if folders and self.data_root is not None else ""))
        return f"{'quick' if self.quick else 'full'} mode, {data}"


def show_figure(path: str | Path) -> None:
    """Show a PNG the project's figure code wrote: inline in a notebook, its path in a plain script."""
    try:
        from IPython import get_ipython
        from IPython.display import Image, display
    except ImportError:  # a plain ``python`` run without IPython installed
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Image(filename=str(path)))
    else:
        print(f"figure: {path}")


def lesson(environ: Mapping[str, str] | None = None) -> Lesson:
    """The mode and data root from ``environ`` (default ``os.environ``); see the module docstring."""
    env = os.environ if environ is None else environ
    flag = env.get(QUICK_ENV, "0").strip()
    if flag not in ("0", "1", ""):
        raise ValueError(f"{QUICK_ENV} must be 0 or 1, got {flag!r}")
    root = env.get(DATA_ENV, "").strip()
    return Lesson(quick=flag == "1", data_root=Path(root).expanduser() if root else None)
