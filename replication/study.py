"""One study lifecycle: what a replication is, how it is configured, and what its run writes.

A :class:`Study` is registered once, in ``analyses/studies/<name>.py``, and everything else reads the
registry: ``artifactual replicate``'s choices, ``artifactual run`` (every study with an embedded
preset), the paper's sections and the tests. A study has

- a typed, frozen config with presets: ``"embedded"`` (offline, on scikit-image's bundled faces) and
  ``"real"`` (the public datasets under a data root); either may be absent, and ``needs`` says why;
- ``run(config, out, ctx)`` (called through :meth:`Study.execute`, which applies the context's run
  settings), which writes records into ``out/runs/`` (resumable), ``summary.json``,
  ``summary.md`` and figure DATA (``*.npz``/``*.csv``) into ``out`` and returns the summary. It never
  draws: the paper (``paper/figures``) draws from those files.

``--set KEY=VALUE`` reaches every field of the config (``audit.n_boot=200``: dotted keys for nested
configs; :func:`artifactual.replication.config.override` checks names and types), and ``--per-class N``
sets the one key a study declares as "images per class", or is refused where none exists.

Adding a replication = a design file (``replication/designs``), a study file (``analyses/studies``),
a figure file (``paper/figures``), a section file (``paper/sections``) and one line in ``paper/main.typ``.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class ToyConfig:
...     n: int = 10
...     per_class: int = 0
>>> toy = Study(name="toy", title="a toy", presets={"embedded": lambda: ToyConfig(n=3)},
...             run=lambda cfg, out, ctx: {"n": cfg.n}, per_class="per_class",
...             needs="toy has no real-data version")
>>> toy.configure("embedded", {"n": "5"}, per_class=7)
ToyConfig(n=5, per_class=7)
>>> toy.configure("real")
Traceback (most recent call last):
...
ValueError: toy has no real-data version
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from artifactual.replication.config import config_keys, derived_seed, override
from artifactual.replication.parallel import use_settings
from artifactual.replication.registry import Registry

PRESETS = ("embedded", "real")


@dataclass(frozen=True)
class RunContext:
    """How a study runs, as opposed to what it computes (never part of a run folder's key).

    :meth:`Study.execute` applies ``workers`` and ``progress`` to everything the study calls, as the ambient
    settings (:func:`~artifactual.replication.parallel.use_settings`); the functions below it do not take them.
    """

    data_root: str | Path | None = None
    workers: int | None = None
    progress: bool = True
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    presets: Mapping[str, Callable[[], Any]]
    run: Callable[[Any, Path, RunContext], dict[str, Any]]
    per_class: str | None = None  # the config key meaning "images per class" (``--per-class``), if any
    needs: str = ""  # what to say when a preset is absent

    def __post_init__(self) -> None:
        unknown = set(self.presets) - set(PRESETS)
        if unknown:
            raise ValueError(f"study {self.name!r}: unknown preset(s) {sorted(unknown)}; presets are {PRESETS}")

    def configure(self, preset: str, overrides: Mapping[str, Any] | None = None, per_class: int = 0) -> Any:
        """The preset's config with ``overrides`` (``--set``) and ``per_class`` (``--per-class``) applied."""
        if preset not in self.presets:
            raise ValueError(self.needs or f"study {self.name!r} has no {preset!r} preset")
        cfg = self.presets[preset]()
        changes = dict(overrides or {})
        if per_class:
            if not self.per_class:
                raise ValueError(f"--per-class does not apply to {self.name}: it has no images-per-class setting "
                                 f"(its keys: {', '.join(config_keys(cfg))})")
            changes[self.per_class] = per_class
        return override(cfg, changes) if changes else cfg

    def execute(self, config: Any, out: Path, ctx: RunContext) -> dict[str, Any]:
        """``run(config, out, ctx)`` with ``ctx.workers`` processes and ``ctx.progress`` bars for everything
        inside (:func:`~artifactual.replication.parallel.use_settings`): how every caller runs a study."""
        with use_settings(ctx.workers, ctx.progress):
            return self.run(config, Path(out), ctx)

    def seed(self, *purpose: Any) -> int:
        """A seed derived from the study's name and a purpose, so two studies never share a stream by accident.

        For the studies to come (seeds 001, 003, 004): their presets take every seed from here. The three
        studies that exist keep the explicit seeds (0) their published numbers were made with.

        >>> toy = Study(name="toy", title="", presets={}, run=lambda cfg, out, ctx: {})
        >>> toy.seed("split") == toy.seed("split") != toy.seed("bootstrap")
        True
        """
        return derived_seed(self.name, *purpose)


#: Every replication, by name (filled when ``artifactual.analyses.studies`` is imported).
STUDIES: Registry[Study] = Registry("study")


def register(study: Study) -> Study:
    STUDIES.register(study.name)(study)
    return study
