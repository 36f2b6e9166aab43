"""Resumable run records (DomainBed's job folders, ``seed_hash`` and ``collect_results``).

A run folder is named by the hash of its config. Inside it:

- ``config.json``   the full config, library versions, git commit and manifest hash;
- ``records.jsonl`` one JSON object a line; each embeds the same provenance;
- ``done``          written last, atomically: its presence means the run finished.

Records are appended one line at a time and flushed, so an interrupted run keeps every record
it finished. Opening a run folder again (:meth:`RunDir.create`) repairs a torn last line (a kill or a
full disk mid-write): the fragment is cut off and said on stderr, so that unit is computed again and the
next record starts on a line of its own; :meth:`RunDir.completed` tells which units to skip, and
:meth:`RunDir.require` refuses to summarise a run that lacks one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
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


class NotWritable(ValueError):
    """A folder or file that a run must write cannot be written; the message names it and what to do."""


def check_writable(folder: Path, what: str, fix: str = "choose another folder") -> Path:
    """Prove that ``folder`` can be written (or created), before any work starts; create nothing.

    A fault found here costs nothing; found after an hour of decoding it costs the hour. A folder that does
    not exist yet is judged by its nearest existing parent, which must be a writable folder (a probe file is
    made there and removed at once).

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "a-file"
    >>> _ = f.write_text("x")
    >>> check_writable(f / "out", "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    artifactual.replication.runs.NotWritable: --out .../a-file/out cannot be made: .../a-file is a file, not a folder; choose another folder
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    where = f"{what} {folder}" + (f" cannot be made: {existing}" if existing != folder else "")
    if not existing.is_dir():
        raise NotWritable(f"{where} is a file, not a folder; {fix}")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise NotWritable(f"{where} cannot be written ({exc.strerror or exc}); {fix}") from None
    return folder


def _umask_mode() -> int:
    """The mode a new file gets from ``open()`` under the process umask (``mkstemp`` would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the new one, never half of one.

    The file gets the mode an ordinary write would (the umask's), not ``mkstemp``'s private 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write_bytes` of ``text`` in UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"))


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
        self.repaired: list[str] = []  # what opening the folder mended (said on stderr, kept for the report)

    @staticmethod
    def folder_name(name: str, config: dict[str, Any], manifest_hash: str) -> str:
        """``<name>-<hash of name, config and manifest>``: runs differing in any of them never share a folder."""
        return f"{name}-{stable_hash({'name': name, 'config': config, 'manifest': manifest_hash})}"

    @classmethod
    def create(cls, base: Path, name: str, config: dict[str, Any], manifest_hash: str) -> "RunDir":
        path = Path(base) / cls.folder_name(name, config, manifest_hash)
        config_hash = path.name.rsplit("-", 1)[1]
        path.mkdir(parents=True, exist_ok=True)
        prov = Provenance(config=config, manifest_hash=manifest_hash)
        cfg_file = path / "config.json"
        if not cfg_file.exists():
            atomic_write_json(cfg_file, {"name": name, "config_hash": config_hash, **prov.as_dict()})
        run = cls(path, prov)
        torn = drop_torn_tail(run.records_file)
        if torn:
            run.repaired.append(torn)
            print(f"note: {torn}", file=sys.stderr)
        return run

    @property
    def records_file(self) -> Path:
        return self.path / "records.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        """Append one record (with provenance) as a single flushed line.

        A write that fails part-way (a full disk, a file-size limit) is cut back to the records before
        it, so the file never keeps half a line; the error still reaches the caller.
        """
        line = (json.dumps({**record, "provenance": self.provenance.as_dict()}, default=_json_default)
                + "\n").encode("utf-8")
        with open(self.records_file, "ab") as fh:
            start = fh.tell()
            try:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            except OSError:
                with contextlib.suppress(OSError):  # if even this fails, the next open cuts the tail (drop_torn_tail)
                    fh.truncate(start)
                raise

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.records_file)

    def completed(self, key: str) -> set[Any]:
        """Values of ``key`` among finished records: the units a resumed run skips."""
        return {r[key] for r in self.records() if key in r}

    def require(self, key: str, expected: Iterable[Any]) -> None:
        """Refuse to go on when a unit in ``expected`` has no record (a result must never go missing quietly).

        >>> import tempfile
        >>> run = RunDir.create(Path(tempfile.mkdtemp()), "demo", {}, manifest_hash="abc")
        >>> run.append({"unit": "a"})
        >>> run.require("unit", ["a", "b"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        RuntimeError: run folder .../demo-... has no record of unit(s) ['b']; run the same command again to compute them
        """
        missing = [u for u in expected if u not in self.completed(key)]
        if missing:
            raise RuntimeError(f"run folder {self.path} has no record of {key}(s) {missing}; run the same command "
                               "again to compute them")

    def mark_done(self) -> None:
        atomic_write_text(self.path / "done", datetime.now(timezone.utc).isoformat() + "\n")

    def is_done(self) -> bool:
        return (self.path / "done").exists()


def drop_torn_tail(path: Path) -> str:
    """Cut a records file back to its last complete line; return what was dropped ("" when nothing was).

    A line is complete when it ends in a newline and parses as JSON: a kill between the write and the newline
    leaves a fragment that would otherwise swallow the next record appended after it.

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "records.jsonl"
    >>> _ = f.write_text('{"unit": "a"}\\n{"unit": "b", "val')
    >>> drop_torn_tail(f)  # doctest: +ELLIPSIS
    '.../records.jsonl: dropped a torn last line (18 bytes, from an interrupted write); its unit is computed again'
    >>> f.read_text()
    '{"unit": "a"}\\n'
    """
    path = Path(path)
    if not path.exists():
        return ""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1  # 0 when there is no newline at all
    if keep == len(data):
        last = data[:-1].rsplit(b"\n", 1)[-1]
        try:
            if last.strip():
                json.loads(last)
            return ""
        except (json.JSONDecodeError, UnicodeDecodeError):  # a newline written, the JSON before it cut
            keep = len(data) - len(last) - 1
    dropped = len(data) - keep
    with open(path, "r+b") as fh:
        fh.truncate(keep)
    return (f"{path}: dropped a torn last line ({dropped} bytes, from an interrupted write); "
            "its unit is computed again")


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
            raise ValueError(f"{path}: line {i + 1} is not valid JSON, so the records file is damaged inside (not "
                             f"just at its end); delete the folder {path.parent} to compute that run again") from None
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
