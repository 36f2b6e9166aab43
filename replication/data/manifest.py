"""Data card: ``manifest`` — a user's own labelled image set, described by a CSV file.

What: any images, listed in a CSV with at least ``path``, ``label`` and ``source`` columns and
optionally ``identity`` and further columns (kept as subgroup attributes). Column names can be
changed with the ``label_col``/``source_col``/``identity_col`` arguments.
Paths are resolved against the CSV's own folder, or against ``root`` when one is given (``--root``
on the command line, so a CSV need not sit beside its images); a path that escapes that folder (``..``,
absolute paths elsewhere, symlinks pointing out) is rejected with a message and counted, and so are
unusable names (a NUL byte, a symlink loop, a name too long for the file system).
Citation and terms: those of the user's images; artifactual copies nothing.
Labels: the ``label`` column as given (strings or numbers). Rows with an empty label or source
are skipped and counted; a path listed twice keeps its first row and counts the rest as
duplicates.
Quirks: whatever the images are, the audit asks whether ``label`` can be read from ``source``
and from non-facial image properties before anyone believes it is read from faces.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError, inspect_files, mark_skipped
from artifactual.replication.data.images import ImageError
from artifactual.replication.data.dataset import safe_join


@register_dataset("manifest", needs="manifest")
def load(
    location: Path,
    workers: int | None = None,
    progress: bool | None = None,
    label_col: str = "label",
    source_col: str = "source",
    identity_col: str | None = None,
    root: Path | None = None,
) -> Dataset:
    """The images a CSV lists, paths relative to ``root`` (default: the CSV's folder); unusable rows stay,
    marked ``skipped``.

    ``identity_col`` names the person column; when not given, a column called ``identity`` is used if there
    is one. A named column that does not exist is an error (a misspelt identity column would otherwise
    make every image its own person, without a word), and so is a label that is the source column itself.

    Examples
    --------
    Two images, then a duplicate path, a path escaping the folder and a row without a label.

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = Path(tmp.name)
    >>> (folder / "img").mkdir()
    >>> for name in ("a.png", "b.png"):
    ...     Image.new("RGB", (6, 4)).save(folder / "img" / name)
    >>> _ = (folder / "faces.csv").write_text(
    ...     "path,label,source,site\\n"
    ...     "img/a.png,1,studio,x\\n"
    ...     "img/b.png,0,web,y\\n"
    ...     "img/a.png,0,web,y\\n"
    ...     "../c.png,1,web,y\\n"
    ...     "img/b.png,,web,y\\n")
    >>> ds = load(folder / "faces.csv", workers=1, progress=False)
    >>> ds.label_columns, ds.subgroup_columns, ds.table["status"].tolist()
    (['label'], ['site'], ['ok', 'ok', 'skipped', 'skipped', 'skipped'])
    >>> for reason in ds.table["reason"].iloc[2:]:  # doctest: +ELLIPSIS
    ...     print(reason)
    duplicate row: same path as CSV line 2
    path escapes the data root: ../c.png (resolves outside ...)
    duplicate row: same path as CSV line 3
    >>> ds.usable().table[["path", "source", "label", "width"]].values.tolist()
    [['img/a.png', 'studio', '1', 6], ['img/b.png', 'web', '0', 6]]
    >>> tmp.cleanup()
    """
    csv = Path(location)
    if not csv.is_file():
        raise DatasetError(f"manifest {csv} does not exist")
    try:
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DatasetError(f"manifest {csv} is not a readable CSV: {exc}") from None
    named_identity = identity_col is not None
    identity_col = identity_col or "identity"
    if label_col == source_col:
        raise DatasetError(f"the label and the source are the same column {label_col!r}: a label that is the photo "
                           "source is confounded by construction; name the trait column and the source column")
    missing = [c for c in ("path", label_col, source_col) + ((identity_col,) if named_identity else ())
               if c not in raw.columns]
    if missing:
        raise DatasetError(f"manifest {csv} lacks column(s) {missing}; it needs path,{label_col},{source_col}"
                           f"[,{identity_col},...] (found: {', '.join(raw.columns)})")
    if root is not None and not Path(root).is_dir():
        raise DatasetError(f"--root {root} is not a folder; it must be the folder the manifest's paths are "
                           "relative to (or that holds its absolute paths)")
    base = Path(root).resolve() if root is not None else csv.resolve().parent
    table = pd.DataFrame({"path": raw["path"].fillna("").astype(str), "source": raw[source_col],
                          "identity": raw[identity_col] if identity_col in raw.columns else pd.NA,
                          "label": raw[label_col]})
    extra = [c for c in raw.columns if c not in ("path", label_col, source_col, identity_col, "label", "source",
                                                  "identity")]
    for c in extra:
        table[c] = raw[c]
    table["identity"] = table["identity"].astype("string")
    table["status"], table["reason"], table["conversions"] = "ok", "", ""
    table["row"] = range(2, len(table) + 2)  # CSV line number, header is line 1

    normalised = []
    for i, rel in enumerate(table["path"]):
        if not rel:
            table.loc[i, ["status", "reason"]] = ["skipped", "empty path"]
            normalised.append("")
            continue
        try:
            full = safe_join(base, rel)
            normalised.append(str(full.relative_to(base.resolve())))
        except ImageError as err:
            shown = rel.replace("\0", "\\0")  # a NUL byte would cut the name in any file or terminal
            table.loc[i, ["status", "reason"]] = ["skipped", f"{err.reason}: {shown} ({err.detail})"]
            normalised.append(shown)
    table["path"] = normalised
    dup = table["path"].duplicated(keep="first") & (table["path"] != "")
    first_row = table.groupby("path")["row"].transform("first")
    for i in table.index[dup & (table["status"] == "ok")]:
        table.loc[i, ["status", "reason"]] = ["skipped", f"duplicate row: same path as CSV line {first_row[i]}"]
    table = mark_skipped(table, table["label"].isna(), "empty label")
    table = mark_skipped(table, table["source"].isna(), "empty source")
    table = table.drop(columns=["row"])
    table = inspect_files(table, base, workers=workers, progress=progress, desc=f"inspecting {csv.name}")
    return Dataset("manifest", table, base, ["label"], extra, card=__doc__ or "")
