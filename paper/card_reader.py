"""Reading a study's summary for a claim card: key paths, missing keys as named slots, number formats.

Every value a card extractor (:mod:`artifactual.paper.card_seeds`) uses goes through :class:`Reader`: a
missing, null or non-numeric value becomes "not in this summary: <key>" in its slot and a
:class:`CardWarning` naming the file and the key, never a crash and never a number from elsewhere.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


class CardWarning(UserWarning):
    """A summary lacks a key a claim card needs; the message names the file and the key."""


@dataclass(frozen=True)
class Claim:
    """A short verbatim quote from a seed text and where it is in that text."""

    quote: str
    where: str


@dataclass(frozen=True)
class SeedCard:
    """What one seed's card shows: its claim(s), the studies it reads (the first is the one it stands on),
    the extractor (``_seed000`` ...: summaries -> reproduction, controls, verdict, meaning) and its use line."""

    seed: str
    work: str
    studies: tuple[str, ...]
    claims: tuple[Claim, ...]
    extract: Callable[[Reader], dict[str, Any]]
    use: str

    @property
    def name(self) -> str:
        """The card's file stem: ``seed000_goel2022``."""
        return f"seed{self.seed}_{self.studies[0]}"


# ---- reading summaries: every value an extractor uses goes through here ------------------------------

def study_command(study: str) -> str:
    """The command that writes ``results/<study>/summary.json`` (goel2022 and goel2022-fpt run embedded too).

    >>> study_command("goel2022"), study_command("crimevision")
    ('artifactual replicate goel2022 --embedded', 'artifactual replicate crimevision --data-root DIR')
    """
    if study in ("goel2022", "goel2022-fpt"):
        return f"artifactual replicate {study} --embedded"
    return f"artifactual replicate {study} --data-root DIR"


class _Missing(Exception):
    """A key an extractor needs is absent from (or null, or not a number in) a summary."""

    def __init__(self, study: str, key: str, why: str = "no key"):
        super().__init__(key)
        self.study, self.key, self.why = study, key, why


class _NotRun(Exception):
    """A study the card reads besides its own has no summary."""

    def __init__(self, study: str):
        super().__init__(study)
        self.study = study


class _Doc:
    """One summary: values by key path, where a dict in the path picks the first list item matching it."""

    def __init__(self, study: str, data: Any):
        self.study, self.data = study, data

    def at(self, *keys: Any) -> Any:
        cur, path = self.data, ""
        for k in keys:
            if isinstance(k, dict):
                path += "[" + ", ".join(f"{a}={b}" for a, b in k.items()) + "]"
                found = [x for x in cur if isinstance(x, dict) and all(x.get(a) == b for a, b in k.items())] \
                    if isinstance(cur, list) else []
                if not found:
                    raise _Missing(self.study, path)
                cur = found[0]
            elif isinstance(k, int):
                path += f"[{k}]"
                if not isinstance(cur, list) or not -len(cur) <= k < len(cur):
                    raise _Missing(self.study, path)
                cur = cur[k]
            else:
                path += ("." if path else "") + k
                if not isinstance(cur, dict) or k not in cur:
                    raise _Missing(self.study, path)
                cur = cur[k]
        if cur is None:
            raise _Missing(self.study, path, "a null at key")
        return cur

    def num(self, *keys: Any) -> float:
        x = self.at(*keys)
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise _Missing(self.study, _path(keys), "no number at key")
        if not math.isfinite(x):  # JSON's NaN: a value the summary could not measure, shown as absent
            raise _Missing(self.study, _path(keys), "a non-finite number at key")
        return x

    def opt(self, *keys: Any) -> float | None:
        """A number that may be absent or null (an interval's open end); never a wrong type."""
        try:
            return self.num(*keys)
        except _Missing as exc:
            if exc.why == "no number at key":
                raise
            return None

    def metric(self, *keys: Any) -> tuple[float, float | None, float | None]:
        """``(estimate, ci_low, ci_high)`` of an ``{"estimate", "ci_low", "ci_high"}`` object."""
        return self.num(*keys, "estimate"), self.opt(*keys, "ci_low"), self.opt(*keys, "ci_high")

    def pair(self, *keys: Any) -> tuple[float, float]:
        return self.num(*keys, 0), self.num(*keys, 1)


def _path(keys: tuple) -> str:
    out = ""
    for k in keys:
        out += ("[" + ", ".join(f"{a}={b}" for a, b in k.items()) + "]" if isinstance(k, dict)
                else f"[{k}]" if isinstance(k, int) else ("." if out else "") + k)
    return out


class Reader:
    """The summaries one card reads, and the problems met reading them (messages naming file and key).

    An extractor asks for values by key path; a slot whose values are absent says which key, and the
    problem is kept for a :class:`CardWarning`.

    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp()); (root / "adams2020").mkdir()
    >>> _ = (root / "adams2020" / "summary.json").write_text('{"test_mse": {"mvae": {"mse": 0.07}}}')
    >>> r = Reader(root, "003")
    >>> r("adams2020").num("test_mse", "mvae", "mse"), r.text("meaning", lambda: r("adams2020").num("seed"))
    (0.07, 'not in this summary: seed')
    >>> r.problems[0].endswith("has no key 'seed' (claim card of seed 003, meaning)")
    True
    """

    def __init__(self, results_dir: Path, seed: str):
        self.results_dir, self.seed = Path(results_dir), seed
        self.problems: list[str] = []
        self._docs: dict[str, _Doc | None] = {}

    def file(self, study: str) -> Path:
        return self.results_dir / study / "summary.json"

    def has(self, study: str) -> bool:
        return self._load(study) is not None

    def raw(self, study: str) -> dict:
        doc = self._load(study)
        return doc.data if doc is not None else {}

    def __call__(self, study: str) -> _Doc:
        doc = self._load(study)
        if doc is None:
            raise _NotRun(study)
        return doc

    def _load(self, study: str) -> _Doc | None:
        if study not in self._docs:
            f, doc = self.file(study), None
            if f.is_file():
                try:
                    data = json.loads(f.read_text(encoding="utf-8"))
                except json.JSONDecodeError as exc:
                    self.problems.append(f"{f} is not valid JSON ({exc}): the card treats it as not run; "
                                         f"rerun `{study_command(study)}`")
                else:
                    if isinstance(data, dict):
                        doc = _Doc(study, data)
                    else:
                        self.problems.append(f"{f} holds a {type(data).__name__}, not a JSON object: the card "
                                             f"treats it as not run")
            self._docs[study] = doc
        return self._docs[study]

    def _hole(self, slot: str, exc: Exception) -> str:
        """What a slot says where its value could not be read; records the warning."""
        if isinstance(exc, _NotRun):
            return (f"not run yet: {self.file(exc.study)} is absent; make it with "
                    f"`{study_command(exc.study)}`")
        self.problems.append(f"{self.file(exc.study)} has {exc.why} '{exc.key}' "
                             f"(claim card of seed {self.seed}, {slot})")
        return f"not in this summary: {exc.key}"

    def rows(self, slot: str, *parts: tuple[str, Callable[[], dict | None]]) -> list[dict]:
        """Each part is ``(label, make_row)``; a part whose values are absent gives a row saying which key."""
        out = []
        for label, make in parts:
            try:
                row = make()
            except (_Missing, _NotRun) as exc:
                row = {"label": label, "text": self._hole(slot, exc), "seed": None, "estimate": None, "ci": None,
                       "n": None, "missing": True}
            if row is not None:  # None: an optional row whose study part did not run (nothing to show)
                out.append(row)
        return out

    def text(self, slot: str, make: Callable[[], Any]) -> Any:
        try:
            return make()
        except (_Missing, _NotRun) as exc:
            return self._hole(slot, exc)


# ---- formatting: "0.982 [0.972, 0.990], n = 1,002" ------------------------------------------------------

def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else _f(p)


def _seed(x: float) -> str:
    """The seed's own number, at the precision it was printed with."""
    return f"{x:g}"


def _ci(est: float, lo: float | None = None, hi: float | None = None, digits: int = 3) -> str:
    return _f(est, digits) + (f" [{_f(lo, digits)}, {_f(hi, digits)}]" if lo is not None and hi is not None else "")


def _row(label: str, est: float, lo: float | None = None, hi: float | None = None, n: int | None = None, *,
         unit: str = "", seed: float | None = None, note: str = "", digits: int = 3) -> dict:
    text = _ci(est, lo, hi, digits)
    if n is not None:
        text += f", n = {n:,}" + (f" {unit}" if unit else "")
    if note:
        text += f"; {note}"
    return {"label": label, "text": text, "seed": None if seed is None else _seed(seed), "estimate": est,
            "ci": None if lo is None or hi is None else [lo, hi], "n": n}


def _words(x: Any) -> str:
    return str(x).replace("_", " ")


# ---- the five extractors: summaries -> reproduction, controls, verdict, meaning --------------------------
