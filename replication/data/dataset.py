"""The sample contract: a table with one row per image and the rule that loads its pixels.

Each row is one sample record: ``path`` (relative to the dataset root), ``source``, ``identity``
(NA when unknown), label columns, subgroup columns, the original file facts (``format``, ``mode``,
``width``, ``height``, ``bytes``, ``n_frames``, ``sha256``) and the row's fate: ``status``
(``ok`` or ``skipped``), ``reason`` and ``conversions``. Skipped rows stay in the table so every
drop is counted (WILDS' metadata contract; cxr_covid's DomainConfoundedDataset made the source
an explicit column).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from artifactual.replication.cache import cache_root, cached  # noqa: F401 (cache_root: re-exported)
from artifactual.replication.data.images import Decoded, FileFacts, ImageError, decode_file
from artifactual.replication.parallel import default_workers, run_parallel, worker_init  # noqa: F401 - re-exported: the one executor lives in replication/parallel.py

FACT_COLUMNS = ["format", "mode", "width", "height", "bytes", "n_frames", "sha256"]
STATE_COLUMNS = ["status", "reason", "conversions"]
REQUIRED_COLUMNS = ["path", "source", "identity"]


class DatasetError(Exception):
    """A dataset that cannot be built at all (no root, no images); the message says what to do."""


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that resolves outside ``root`` (``..``, absolute, symlinks).

    Examples
    --------
    >>> safe_join(Path("/data"), "a/b.jpg").as_posix()
    '/data/a/b.jpg'
    >>> safe_join(Path("/data"), "../etc/passwd")
    Traceback (most recent call last):
    ...
    artifactual.replication.data.images.ImageError: ../etc/passwd: path escapes the data root (resolves outside /data)
    """
    root_resolved = Path(root).resolve()
    if "\0" in relative:
        raise ImageError(relative.replace("\0", "\\0"), "unusable path", "the name holds a NUL byte")
    try:
        candidate = (root_resolved / relative).resolve()
    except RuntimeError:  # Python 3.11's resolve() on a symlink that points back at itself
        raise ImageError(relative, "unusable path", "a symlink loop") from None
    except (OSError, ValueError) as exc:  # a name too long for the file system, among others
        raise ImageError(relative, "unusable path", str(exc)) from None
    try:
        candidate.relative_to(root_resolved)
    except ValueError:
        raise ImageError(relative, "path escapes the data root", f"resolves outside {root_resolved}") from None
    return candidate


@dataclass
class Dataset:
    """A table of sample records plus the rule to load pixels.

    Pixels come from ``root / path`` for file datasets, or from ``arrays[array_index]`` for
    datasets a package ships in memory (``lfw_subset``).

    Parameters
    ----------
    name : registry name of the loader that built it.
    table : one row per sample (see module docstring for the columns).
    root : folder the ``path`` column is relative to (None for in-memory datasets).
    label_columns, subgroup_columns : which columns are labels and which are subgroup attributes.
    arrays : optional uint8 array stack for in-memory datasets.
    notes : counted quirks found while loading (e.g. conflicting gender lists), shown in summaries.
    """

    name: str
    table: pd.DataFrame
    root: Path | None
    label_columns: list[str]
    subgroup_columns: list[str] = field(default_factory=list)
    arrays: np.ndarray | None = None
    notes: dict[str, int] = field(default_factory=dict)
    card: str = ""
    rule: "PixelRule | None" = None  # a custom pixel rule (e.g. a design that transforms images)

    def __post_init__(self) -> None:
        missing = [c for c in REQUIRED_COLUMNS + STATE_COLUMNS if c not in self.table.columns]
        if missing:
            raise DatasetError(f"dataset {self.name!r}: table lacks required columns {missing}")
        self.table = self.table.reset_index(drop=True)

    def __len__(self) -> int:
        return len(self.table)

    # -- pixels -----------------------------------------------------------------------------
    def pixel_rule(self) -> "PixelRule":
        return self.rule if self.rule is not None else PixelRule(root=self.root, arrays=self.arrays)

    def image(self, i: int) -> np.ndarray:
        """Pixels of row ``i`` (decoded now: images are loaded lazily)."""
        return self.pixel_rule().load(self.table.iloc[i].to_dict()).pixels

    def sample(self, i: int) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
        """``(image, labels, meta)``: meta always has ``source`` and ``identity``."""
        row = self.table.iloc[i]
        labels = {c: row[c] for c in self.label_columns}
        meta_cols = ["source", "identity", *self.subgroup_columns, "path", *FACT_COLUMNS]
        meta = {c: row[c] for c in meta_cols if c in row.index}
        return self.image(i), labels, meta

    # -- views ------------------------------------------------------------------------------
    def usable(self) -> "Dataset":
        """The rows with ``status == 'ok'`` (skips stay counted in the full table)."""
        keep = self.table["status"] == "ok"
        return self.subset(keep.to_numpy())

    def subset(self, mask_or_index: Any) -> "Dataset":
        table = self.table.loc[mask_or_index] if isinstance(mask_or_index, pd.Series) else self.table.iloc[
            np.flatnonzero(mask_or_index) if np.asarray(mask_or_index).dtype == bool else mask_or_index
        ]
        return Dataset(self.name, table.copy(), self.root, list(self.label_columns),
                       list(self.subgroup_columns), self.arrays, dict(self.notes), self.card, self.rule)

    # -- the contract on disk ---------------------------------------------------------------
    def contract(self) -> pd.DataFrame:
        cols = ["path", "source", "identity", *self.label_columns, *self.subgroup_columns,
                *[c for c in FACT_COLUMNS if c in self.table.columns], *STATE_COLUMNS]
        seen: list[str] = []
        for c in cols:
            if c not in seen and c in self.table.columns:
                seen.append(c)
        return self.table[seen]

    @property
    def manifest_hash(self) -> str:
        """sha256 of the manifest table (which includes every file's own sha256) and of the pixel
        rule (a rule that transforms images changes the hash), first 16 hex digits.

        Content only, never sizes or modification times: the per-file ``sha256`` comes from
        decoding (:func:`inspect_files`), whose cache is keyed by content too (:func:`_listing_key`).
        """
        text = self.contract().to_csv(index=False, lineterminator="\n")
        rule = self.pixel_rule().describe()
        return hashlib.sha256(f"{self.name}\n{rule}\n{text}".encode()).hexdigest()[:16]

    def save_manifest(self, path: Path) -> Path:
        """Write the table as CSV (or Parquet for ``.parquet``) with its content hash beside it."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".parquet":
            self.contract().to_parquet(path, index=False)
        else:
            self.contract().to_csv(path, index=False)
        path.with_name(path.name + ".sha256").write_text(f"{self.manifest_hash}  {path.name}\n")
        return path


@dataclass(frozen=True)
class PixelRule:
    """Picklable rule for loading pixels of one row (sent to worker processes)."""

    root: Path | None
    arrays: np.ndarray | None = None

    #: table columns that :meth:`load` reads (what worker processes are sent)
    columns = ("path", "array_index")

    def describe(self) -> str:
        """What the rule does to pixels beyond decoding, for the manifest hash ("" = nothing)."""
        return ""

    def load(self, row: Mapping[str, Any]) -> Decoded:
        """Pixels of one row, given as a mapping with ``path`` (and ``array_index`` in memory)."""
        if self.arrays is not None and row.get("array_index") is not None and not pd.isna(row["array_index"]):
            px = self.arrays[int(row["array_index"])]
            facts = FileFacts("ndarray", "L" if px.ndim == 2 else "RGB", px.shape[1], px.shape[0], px.nbytes)
            return Decoded(np.ascontiguousarray(px), facts, [])
        if self.root is None:
            raise ImageError(row["path"], "no data root to load from")
        return decode_file(safe_join(self.root, str(row["path"])))


# -- inspection: decode every file once, record facts or the reason it is skipped ------------

def _inspect_one(args: tuple[Path | None, str]) -> dict[str, Any]:
    root, rel = args
    try:
        decoded = decode_file(safe_join(root, rel) if root is not None else Path(rel))
    except ImageError as err:
        return {"status": "skipped", "reason": err.reason, "detail": err.detail}
    facts = decoded.facts.__dict__.copy()
    return {**facts, "status": "ok", "reason": "", "conversions": "; ".join(decoded.conversions)}


def _listing_key(root: Path, paths: list[str]) -> str:
    """Key of the inspection cache: the root and every path with the SHA-256 of its bytes.

    Content, not size and modification time: an edit that keeps both (a tool restoring the mtime,
    a same-size rewrite) would otherwise serve the old facts, and with them the old ``sha256`` that
    :attr:`Dataset.manifest_hash` is built from. Cost, measured on LFW's 13,233 JPEGs (117 MB) on
    2 cores: 0.35 s with the files in the page cache, 1.9 s cold (stat alone: 0.06 s) - small
    beside decoding them all again.
    """
    h = hashlib.sha256(str(Path(root).resolve()).encode())
    for rel in paths:
        try:
            with open(Path(root) / rel, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
            h.update(f"{rel}\0{digest}\n".encode())
        except OSError:  # missing, a folder, unreadable: inspection records why
            h.update(f"{rel}\0unreadable\n".encode())
    return h.hexdigest()[:20]


def inspect_files(
    table: pd.DataFrame,
    root: Path,
    workers: int | None = None,
    progress: bool | None = None,
    cache: bool = True,
    desc: str = "inspecting images",
) -> pd.DataFrame:
    """Add file facts and ``status``/``reason``/``conversions`` to ``table`` by decoding every file.

    Rows already marked ``skipped`` (missing from a manifest, escaping the root, duplicates) are
    not opened. Decoding runs on all cores (``workers``/``progress`` override the ambient settings,
    :func:`~artifactual.replication.parallel.use_settings`; None = those); the result is cached
    (:mod:`artifactual.replication.cache`) by the root, the paths and each file's content hash, so a
    second call on unchanged files is fast.
    """
    table = table.copy()
    for col in STATE_COLUMNS:
        if col not in table.columns:
            table[col] = "ok" if col == "status" else ""
    todo = table.index[table["status"] == "ok"]
    paths = [str(p) for p in table.loc[todo, "path"]]

    def decode_all() -> dict[str, Any]:
        return {"results": run_parallel(_inspect_one, [(root, p) for p in paths], desc, workers=workers,
                                         progress=progress)}

    # results are plain dicts of str/int/None: stored as JSON (exact for these types), not pickle
    key = _listing_key(root, paths) if cache and paths else ""
    results = cached("inspect", key, decode_all, use=bool(cache and paths))[0]["results"]
    facts = pd.DataFrame(results, index=todo)
    for col in FACT_COLUMNS:
        if col not in table.columns:
            table[col] = pd.NA
    if len(facts):
        for col in FACT_COLUMNS + STATE_COLUMNS:
            if col in facts.columns:
                table[col] = table[col].astype("object")
                table.loc[todo, col] = facts[col].astype("object")
        if "detail" in facts.columns:
            detail = facts["detail"].fillna("")
            has = detail != ""
            table["reason"] = table["reason"].astype("object")
            table.loc[todo[has.to_numpy()], "reason"] = facts.loc[has, "reason"] + ": " + detail[has]
    for col in ["width", "height", "bytes", "n_frames"]:
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    table["conversions"] = table["conversions"].fillna("").astype(str)
    table["reason"] = table["reason"].fillna("").astype(str)
    return table


def skip_reasons(table: pd.DataFrame, top: int = 3) -> str:
    """The commonest reasons rows were skipped, with counts, for an error that says nothing is usable.

    A reason's kind is the text before its first ``:`` (the rest names the file).

    >>> t = pd.DataFrame({"status": ["skipped"] * 3 + ["ok"],
    ...                   "reason": ["missing file: a", "missing file: b", "empty label", ""]})
    >>> skip_reasons(t)
    'missing file (2), empty label (1)'
    """
    skipped = table.loc[table["status"] != "ok", "reason"].fillna("").astype(str)
    kinds = skipped.str.split(":", n=1).str[0].str.strip().replace("", "no reason recorded")
    counts = kinds.value_counts()
    text = ", ".join(f"{k} ({n:,})" for k, n in counts.head(top).items())
    return text + (f" and {len(counts) - top} more kinds" if len(counts) > top else "")


def mark_skipped(table: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str) -> pd.DataFrame:
    """Set ``status='skipped'`` and ``reason`` on rows in ``mask`` that are still ``ok``."""
    mask = np.asarray(mask, dtype=bool) & (table["status"] == "ok").to_numpy()
    table.loc[mask, "status"] = "skipped"
    table.loc[mask, "reason"] = reason
    return table


def new_table(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A table with the contract's state columns set to ``ok``."""
    table = pd.DataFrame(rows, columns=columns)
    table["status"] = "ok"
    table["reason"] = ""
    table["conversions"] = ""
    return table
