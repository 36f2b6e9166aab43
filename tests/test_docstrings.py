"""The runnable examples in public docstrings are tests too (run through the installed package,
so each module is imported once, under its real name)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import artifactual.analyses
import artifactual.replication

MODULES = sorted(
    info.name
    for pkg in (artifactual.replication, artifactual.analyses)
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
    if not info.name.endswith(".bench")
) + [f"artifactual.paper.{m}" for m in ("lessons", "teaching_build", "cards", "card_reader", "card_seeds", "game")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
    assert result.attempted > 0, f"{name} has no runnable example: show how people call it"
