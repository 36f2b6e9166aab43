"""One place for how numbers become words: p-values, estimates with intervals, and NaN in JSON.

Every reading, Markdown table and verdict reason formats through these, so a p-value looks the same
in the audit's verdict, the fairness statements and the replications' readings.
"""

from __future__ import annotations

import math
from typing import Any


def fmt_p(p: float | None, digits: int = 3, missing: str = "—") -> str:
    """A p-value: ``< 0.001`` below one in a thousand, else ``digits`` decimals; ``missing`` for None.

    Examples
    --------
    >>> fmt_p(0.0004), fmt_p(0.0372), fmt_p(None), fmt_p(None, missing="n/a")
    ('< 0.001', '0.037', '—', 'n/a')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return missing
    return "< 0.001" if p < 0.001 else f"{p:.{digits}f}"


def fmt_num(x: float | None, digits: int = 3, signed: bool = False, missing: str = "—") -> str:
    """A number to ``digits`` decimals (with its sign when ``signed``); ``missing`` for None or NaN.

    >>> fmt_num(0.12345), fmt_num(-0.05, signed=True), fmt_num(float("nan"))
    ('0.123', '-0.050', '—')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_interval(lo: float | None, hi: float | None, digits: int = 3, signed: bool = False,
                 missing: str = "—") -> str:
    """``[lo, hi]``, or ``missing`` when either end is undefined.

    >>> fmt_interval(0.8, 0.9), fmt_interval(-0.02, 0.03, signed=True), fmt_interval(None, 0.9)
    ('[0.800, 0.900]', '[-0.020, +0.030]', '—')
    """
    if lo is None or hi is None:
        return missing
    return f"[{fmt_num(lo, digits, signed)}, {fmt_num(hi, digits, signed)}]"


def fmt_estimate(est: float | None, lo: float | None, hi: float | None, digits: int = 3, signed: bool = False) -> str:
    """``estimate [lo, hi]``, the way every metric with its 95% interval is written.

    >>> fmt_estimate(0.85, 0.84, 0.86), fmt_estimate(0.85, None, None)
    ('0.850 [0.840, 0.860]', '0.850 —')
    """
    return f"{fmt_num(est, digits, signed)} {fmt_interval(lo, hi, digits, signed)}"


def clean(obj: Any) -> Any:
    """NaN and infinities -> None, tuples -> lists, recursively: ``summary.json`` stays strict JSON.

    >>> clean({"a": float("nan"), "b": (1.0, float("inf")), "c": [0.5]})
    {'a': None, 'b': [1.0, None], 'c': [0.5]}
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return obj
