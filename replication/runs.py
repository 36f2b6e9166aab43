"""Resumable run records (DomainBed's job folders, ``seed_hash`` and ``collect_results``).

A run folder is named by the hash of its config. Inside it:

- ``config.json``   the full config, library versions, git commit and manifest hash;
- ``records.jsonl`` one JSON object a line; each embeds the same provenance;
- ``done``          written last, atomically: its presence means the run finished.

Records are appended one line at a time and flushed, so an interrupted run keeps every record
it finished; on resume a torn last line (from a kill mid-write) is ignored and
:meth:`RunDir.completed` tells which units to skip.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from artifactual.replication.config import stable_hash

#: Distributions whose versions travel with every record.
TRACKED_LIBRARIES = (
    "artifactual", "numpy", "pandas", "scipy", "scikit-learn", "scikit-image", "pillow",
    "opencv-python-headless", "torch", "matplotlib",
)


def library_versions(names: Iterable[str] = TRACKED_LIBRARIES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: Path | None = None) -> str:
    """The commit of the code that ran, with ``+dirty`` when the tree had changes; ``unknown`` outside git."""
    cwd = Path(path or Path(__file__).resolve().parent)
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays, paths and NA values reach JSON through here.
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    raise TypeError(f"cannot write {type(obj).__name__} to JSON: {obj!r}")


@dataclass
class Provenance:
    """What every record carries so that a number can be traced to code, data and settings."""

    config: dict[str, Any]
    manifest_hash: str
    versions: dict[str, str] = field(default_factory=library_versions)
    git_commit: str = field(default_factory=git_commit)

    def as_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "manifest_hash": self.manifest_hash,
            "versions": self.versions,
            "git_commit": self.git_commit,
        }


class RunDir:
    """A run folder named by its config hash, holding JSON-lines records and a ``done`` marker.

    Examples
    --------
    >>> import tempfile
    >>> base = Path(tempfile.mkdtemp())
    >>> run = RunDir.create(base, "demo", {"size": 64}, manifest_hash="abc")
    >>> run.append({"unit": "counts", "n": 3})
    >>> run.completed("unit")
    {'counts'}
    >>> run.mark_done(); run.is_done()
    True
    """

    def __init__(self, path: Path, provenance: Provenance) -> None:
        self.path = path
        self.provenance = provenance

    @classmethod
    def create(cls, base: Path, name: str, config: dict[str, Any], manifest_hash: str) -> "RunDir":
        config_hash = stable_hash({"name": name, "config": config, "manifest": manifest_hash})
        path = Path(base) / f"{name}-{config_hash}"
        path.mkdir(parents=True, exist_ok=True)
        prov = Provenance(config=config, manifest_hash=manifest_hash)
        cfg_file = path / "config.json"
        if not cfg_file.exists():
            atomic_write_json(cfg_file, {"name": name, "config_hash": config_hash, **prov.as_dict()})
        return cls(path, prov)

    @property
    def records_file(self) -> Path:
        return self.path / "records.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        """Append one record (with provenance) as a single flushed line."""
        line = json.dumps({**record, "provenance": self.provenance.as_dict()}, default=_json_default)
        with open(self.records_file, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.records_file)

    def completed(self, key: str) -> set[Any]:
        """Values of ``key`` among finished records: the units a resumed run skips."""
        return {r[key] for r in self.records() if key in r}

    def mark_done(self) -> None:
        atomic_write_text(self.path / "done", datetime.now(timezone.utc).isoformat() + "\n")

    def is_done(self) -> bool:
        return (self.path / "done").exists()


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file, skipping a torn final line left by an interrupted write."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                continue  # torn write at the end: the unit is simply redone on resume
            raise ValueError(f"{path}: line {i + 1} is not valid JSON; the records file is damaged") from None
    return out


def collect(base: Path, only_done: bool = True) -> pd.DataFrame:
    """One table of every record under ``base`` (one row a record, provenance flattened)."""
    rows = []
    for cfg in sorted(Path(base).glob("*/config.json")):
        run = cfg.parent
        if only_done and not (run / "done").exists():
            continue
        for rec in read_records(run / "records.jsonl"):
            prov = rec.pop("provenance", {})
            rows.append({
                "run": run.name,
                **rec,
                "manifest_hash": prov.get("manifest_hash"),
                "git_commit": prov.get("git_commit"),
            })
    return pd.DataFrame(rows)
