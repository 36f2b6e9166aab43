"""A non-editable install must hold every subpackage: pyproject's explicit list is checked here."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = set()
    for name, folder in cfg["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"


LAYERS = ("replication", "analyses", "paper", "app")  # each imports only the ones before it


def _imports(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_point_down_the_layers():
    wrong = []
    for rank, layer in enumerate(LAYERS):
        above = LAYERS[rank + 1:]
        for path in sorted((ROOT / layer).rglob("*.py")):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] == "artifactual" and len(parts) > 1 and parts[1] in above:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "imports against the layers " + " -> ".join(LAYERS) + ":\n" + "\n".join(wrong)


def test_every_study_has_its_section_figures_and_presets():
    """Adding a replication = a design, a study, a figure set, a section and a line in main.typ: none forgotten."""
    import artifactual.analyses.studies  # noqa: F401  (registers the studies)
    from artifactual.paper.build import SECTIONS
    from artifactual.paper.figures import KINDS
    from artifactual.replication.study import STUDIES

    main_typ = (ROOT / "paper" / "main.typ").read_text()
    for name in STUDIES:
        study = STUDIES.get(name)
        typ = f"sections/{name.replace('-', '_')}.typ"
        assert name in SECTIONS and name in KINDS, name
        assert (ROOT / "paper" / typ).is_file() and f'"{typ}"' in main_typ, typ
        assert study.presets, name
        for preset in study.presets:
            study.configure(preset)  # every preset builds a valid config
