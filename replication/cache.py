"""The one disk cache: every decoded or derived artifact lives in a checked entry under ``cache_root()``.

An entry is a folder ``cache_root()/<kind>/<key>/`` holding named parts (arrays as ``.npy``, tables
as ``.parquet``, small records as ``.json``) and, written last, ``checksums.json`` with the SHA-256
of every part. Reading verifies every checksum before anything is decoded; an entry that is missing
a part, fails its checksum or cannot be decoded (ANY exception: a truncated ``.npy``, a garbled
header, a folder where a file should be) is reported with its path and reason and rebuilt, never
trusted and never allowed to crash the run.

Writes are atomic: the entry is built in a temporary folder beside its final place and renamed
into it. A per-key lock file (``fcntl.flock``) serialises builders, so two runs sharing a cache
never interleave writes of one entry; the second waits and then reads what the first wrote.

Damage is reported with :func:`warnings.warn` (category :class:`CacheWarning`), not a logger: the
project configures no logging, a warning reaches an interactive user and a CLI run alike without
setup, and tests catch it with ``pytest.warns``. A damaged entry is rebuilt at once, so each is
reported once.

Examples
--------
>>> import tempfile
>>> old, os.environ["ARTIFACTUAL_CACHE"] = os.environ.get("ARTIFACTUAL_CACHE"), tempfile.mkdtemp()
>>> build = lambda: {"x": np.arange(3), "meta": {"n": 3}}
>>> parts, hit = cached("demo", "k1", build)
>>> parts["x"].tolist(), parts["meta"], hit
([0, 1, 2], {'n': 3}, False)
>>> cached("demo", "k1", build)[1]
True
>>> _ = os.environ.pop("ARTIFACTUAL_CACHE") if old is None else os.environ.update(ARTIFACTUAL_CACHE=old)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

CACHE_ENV = "ARTIFACTUAL_CACHE"
CHECKSUMS = "checksums.json"
FORMAT = 1  # bump when the layout changes: older entries then read as damaged and are rebuilt


def cache_root() -> Path:
    """Where decoded/preprocessed arrays live: ``$ARTIFACTUAL_CACHE`` or ``~/.cache/artifactual``.

    Never inside the repository: cached arrays are derived from licensed images.
    """
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "artifactual"


class CacheWarning(UserWarning):
    """A cache entry was damaged or unreadable and is being rebuilt (its path and the reason are in the message)."""


def entry_path(kind: str, key: str) -> Path:
    """Folder of one entry; ``key`` may hold ``/`` to nest (``<manifest hash>/<config hash>``).

    >>> entry_path("audit", "ab/cd").relative_to(cache_root()).as_posix()
    'audit/ab/cd'
    """
    parts = [kind, *key.split("/")]
    if any(p in ("", ".", "..") or "\\" in p or p.startswith(".") for p in parts):
        raise ValueError(f"cache kind/key {kind!r}/{key!r} must be plain names (no empty, '.', '..' or hidden parts)")
    return cache_root().joinpath(*parts)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- parts: one format per kind of value -------------------------------------------------------

def _table_round_trips(table: pd.DataFrame, path: Path) -> bool:
    """Whether ``table`` comes back from Parquet exactly (dtypes, index, values) — checked at write time."""
    try:
        table.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, table, check_exact=True, check_dtype=True, check_index_type=True,
                                      check_column_type=True, check_categorical=True, check_flags=True)
        return True
    except Exception:  # mixed-type object columns etc.: Parquet cannot hold the table exactly
        path.unlink(missing_ok=True)
        return False


def _write_part(folder: Path, name: str, value: Any) -> str:
    if isinstance(value, np.ndarray):
        fname = f"{name}.npy"
        with open(folder / fname, "wb") as fh:
            np.save(fh, value, allow_pickle=False)
    elif isinstance(value, pd.DataFrame):
        fname = f"{name}.parquet"
        if not _table_round_trips(value, folder / fname):
            # Parquet would change the table (e.g. an object column mixing ints and strings), and a
            # cache must never change what is computed: keep pickle. Pickle executes code on load,
            # but this file is only read after its SHA-256 matched checksums.json, which catches
            # damage (not a deliberate attacker who can write the cache folder and rewrite both).
            fname = f"{name}.pkl"
            value.to_pickle(folder / fname)
    else:
        fname = f"{name}.json"
        (folder / fname).write_text(json.dumps(value, allow_nan=True))  # raises on non-JSON values: a bug to fix
    return fname


def _read_part(path: Path, mmap: bool) -> Any:
    if path.suffix == ".npy":
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".pkl":
        return pd.read_pickle(path)  # only after the checksum matched (see _write_part)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    raise ValueError(f"unknown part type {path.name}")


def read_entry(folder: Path, mmap: bool = False) -> dict[str, Any]:
    """Verify every checksum of the entry at ``folder``, then decode its parts; raises on any damage."""
    if folder.is_dir() and (folder / "done").exists() and not (folder / CHECKSUMS).exists():
        # the layout before this module: a `done` marker and no checksums, so nothing can be verified
        raise ValueError("written by an older artifactual without checksums (expected once after upgrading)")
    listing = json.loads((folder / CHECKSUMS).read_text())
    if listing.get("format") != FORMAT:
        raise ValueError(f"layout version {listing.get('format')!r}, expected {FORMAT}")
    parts: dict[str, Any] = {}
    for fname, digest in listing["files"].items():
        got = file_sha256(folder / fname)  # IsADirectoryError / FileNotFoundError for a folder or a missing part
        if got != digest:
            raise ValueError(f"{fname}: checksum mismatch (SHA-256 {got[:12]}..., recorded {digest[:12]}...)")
    for fname in listing["files"]:
        parts[Path(fname).stem] = _read_part(folder / fname, mmap)
    return parts


def write_entry(folder: Path, parts: dict[str, Any]) -> None:
    """Write ``parts`` to a temporary folder beside ``folder``, checksums last, then rename it into place.

    Call with the entry's lock held (:func:`cached` does); an old entry at ``folder`` is replaced.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        files = {}
        for name, value in parts.items():
            fname = _write_part(tmp, name, value)
            files[fname] = file_sha256(tmp / fname)
        (tmp / CHECKSUMS).write_text(json.dumps({"format": FORMAT, "files": files}, indent=1))
        _remove(folder)
        os.replace(tmp, folder)  # atomic: readers see the old entry, nothing, or the whole new one
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove(folder: Path) -> None:
    """Move an old or damaged entry (folder, file or link) out of the way, then delete it."""
    if not (folder.exists() or folder.is_symlink()):
        return
    trash = folder.with_name(f".{folder.name}.trash-{uuid.uuid4().hex[:8]}")
    os.replace(folder, trash)
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


@contextmanager
def entry_lock(folder: Path) -> Iterator[None]:
    """Exclusive lock on one entry (``<entry>.lock`` beside it), held across processes and threads.

    ``fcntl.flock`` (standard library, POSIX) rather than the ``filelock`` package, which is not a
    declared dependency. Each call opens its own file descriptor, so threads of one process exclude
    each other too. The lock file stays behind (a few bytes); deleting it while nobody runs is safe.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _try_read(folder: Path, mmap: bool, report: bool) -> dict[str, Any] | None:
    if not (folder.exists() or folder.is_symlink()):
        return None
    try:
        return read_entry(folder, mmap)
    except Exception as err:  # any damage at all: rebuilt, never trusted, never fatal
        if report:
            warnings.warn(f"cache entry {folder} is damaged or unreadable ({type(err).__name__}: {err}); "
                          "rebuilding it. Nothing to do unless this repeats (then check the disk).",
                          CacheWarning, stacklevel=4)
        return None


def cached(kind: str, key: str, build: Callable[[], dict[str, Any]], use: bool = True,
           mmap: bool = False) -> tuple[dict[str, Any], bool]:
    """Parts of the entry ``<kind>/<key>``, built by ``build()`` and stored when absent or damaged.

    Parameters
    ----------
    kind, key : where the entry lives (``cache_root()/kind/key``); the key must name every input
        the result depends on (content hashes and config), as nothing else is checked.
    build : returns ``{name: value}``; values are arrays, DataFrames or JSON-able records.
    use : ``False`` builds without reading or writing the cache.
    mmap : open arrays read from the cache memory-mapped (read-only).

    Returns
    -------
    (parts, from_cache)
    """
    if not use:
        return build(), False
    folder = entry_path(kind, key)
    parts = _try_read(folder, mmap, report=True)
    if parts is not None:
        return parts, True
    with entry_lock(folder):
        # another run may have built it while we waited for the lock; its damage was reported above
        parts = _try_read(folder, mmap, report=False)
        if parts is not None:
            return parts, True
        parts = build()
        write_entry(folder, parts)
    return parts, False
