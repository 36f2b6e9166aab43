"""What a dataset holds, and what it had to leave out: counts per source x label x subgroup,
identities, file formats, modes and sizes, conversions, skipped files with reasons, warnings.
"""

from __future__ import annotations

import re
from typing import Any


import pandas as pd

from artifactual.replication.data.dataset import Dataset, skip_reasons

#: Numeric subgroup columns with more distinct values than this are binned (age -> decades).
MAX_LEVELS = 12


def _levels(series: pd.Series, name: str) -> pd.Series:
    """Subgroup values as printable levels; many-valued numeric columns (age) become decades."""
    if pd.api.types.is_numeric_dtype(series) and series.nunique(dropna=True) > MAX_LEVELS:
        dec = (pd.to_numeric(series, errors="coerce") // 10 * 10).astype("Int64")
        out = dec.map(lambda d: f"{d}-{d + 9}" if not pd.isna(d) else "NA")
        return out.rename(f"{name}_decade")
    return series.astype("object").where(series.notna(), "NA").astype(str).rename(name)


def _counts(table: pd.DataFrame, cols: list[pd.Series]) -> list[dict[str, Any]]:
    frame = pd.concat([table["source"].astype(str).rename("source"), *cols], axis=1)
    grouped = frame.groupby(list(frame.columns), dropna=False).size()
    return [{**dict(zip(frame.columns, (k if isinstance(k, tuple) else (k,)))), "n": int(v)}
            for k, v in grouped.items()]


def reason_key(reason: str) -> str:
    """The stable part of a skip reason ("truncated image data: <decoder text>" -> "truncated image data")."""
    return reason.split(":", 1)[0].strip()


def summarize(ds: Dataset, max_examples: int = 20) -> dict[str, Any]:
    """A JSON-ready summary of ``ds``; ``warnings`` lists what would break an analysis.

    Examples
    --------
    >>> from artifactual.replication.data import load_dataset
    >>> s = summarize(load_dataset("lfw_subset", progress=False))
    >>> s["n_images"], s["labels"]["face"][0]
    (200, {'source': 'skimage_lfw_subset', 'face': '0', 'n': 100})
    """
    t = ds.table
    ok = t[t["status"] == "ok"]
    skipped = t[t["status"] != "ok"]
    out: dict[str, Any] = {
        "dataset": ds.name,
        "manifest_hash": ds.manifest_hash,
        "n_rows": int(len(t)),
        "n_images": int(len(ok)),
        "n_skipped": int(len(skipped)),
        "sources": {str(k): int(v) for k, v in ok["source"].astype(str).value_counts().sort_index().items()},
    }
    known = ok["identity"].dropna()
    per_id = known.value_counts()
    out["identities"] = {
        "n": int(per_id.size),
        "n_with_2plus_images": int((per_id >= 2).sum()),
        "images_unknown_identity": int(ok["identity"].isna().sum()),
        "images_per_identity": ({"min": int(per_id.min()), "median": float(per_id.median()),
                                 "max": int(per_id.max())} if per_id.size else None),
        "by_source": {str(k): int(v) for k, v in ok.groupby("source")["identity"].nunique().items()},
    }
    out["labels"] = {c: _counts(ok, [_levels(ok[c], c)]) for c in ds.label_columns}
    out["label_by_subgroup"] = {
        f"{lab}|{sub}": _counts(ok, [_levels(ok[lab], lab), _levels(ok[sub], sub)])
        for lab in ds.label_columns for sub in ds.subgroup_columns
    }
    out["subgroups"] = {c: _counts(ok, [_levels(ok[c], c)]) for c in ds.subgroup_columns}
    sizes = ok["width"].astype(str) + "x" + ok["height"].astype(str)
    out["files"] = {
        "format": {str(k): int(v) for k, v in ok["format"].value_counts().items()},
        "mode": {str(k): int(v) for k, v in ok["mode"].value_counts().items()},
        "size_wxh": {str(k): int(v) for k, v in sizes.value_counts().head(10).items()},
        "distinct_sizes": int(sizes.nunique()),
        "bytes": ({"min": int(ok["bytes"].min()), "median": float(ok["bytes"].median()),
                   "max": int(ok["bytes"].max())} if len(ok) else None),
        "conversions": {str(k): int(v) for k, v in ok.loc[ok["conversions"] != "", "conversions"]
                        .value_counts().items()},
    }
    if "sha256" in ok.columns and len(ok):
        dup = ok["sha256"].dropna().duplicated(keep=False)
        groups = ok.loc[dup.index[dup], "sha256"].nunique()
        out["files"]["identical_content"] = {"groups": int(groups), "files": int(dup.sum())}
    out["skipped"] = {
        "by_reason": {str(k): int(v) for k, v in skipped["reason"].map(reason_key).value_counts().items()},
        "examples": [{"path": str(p), "reason": str(r)} for p, r in
                     skipped[["path", "reason"]].head(max_examples).itertuples(index=False)],
    }
    out["notes"] = dict(ds.notes)
    out["warnings"] = dataset_warnings(ds)
    return out


def dataset_warnings(ds: Dataset) -> list[str]:
    """Problems that make some analysis impossible, each naming the column or source involved."""
    t = ds.table
    ok = t[t["status"] == "ok"]
    warnings = []
    if len(ok) == 0:
        warnings.append(f"no usable images: all {len(t)} rows were skipped, most for: {skip_reasons(t)} "
                        "(see skipped.by_reason)")
        return warnings
    for col in ds.label_columns:
        values = ok[col].dropna().unique()
        n_na = int(ok[col].isna().sum())
        if len(values) < 2:
            warnings.append(
                f"label {col!r} has a single class ({', '.join(map(str, values)) or 'none'}) among "
                f"{len(ok) - n_na} labelled images: no classifier can be trained or evaluated on it")
        if n_na:
            warnings.append(f"label {col!r} is missing (NA) for {n_na} of {len(ok)} usable images")
    counts = ok["source"].astype(str).value_counts()
    for src, n in counts.items():
        if n == 1:
            warnings.append(f"source {src!r} has 1 usable image: per-source estimates (source predictability, "
                            f"leave-one-source-out) are impossible for it")
    return warnings


def natural_key(value: Any) -> tuple:
    """Sort "2" before "10" and "20-29" before "100-109"; "NA" last."""
    text = str(value)
    head = re.match(r"-?\d+(\.\d+)?", text)
    return (text == "NA", 0 if head else 1, float(head.group()) if head else 0.0, text)


def _table_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "    (none)"
    frame = pd.DataFrame(rows)
    keys = [c for c in frame.columns if c not in ("source", "n")]
    pivot = frame.pivot_table(index="source", columns=keys, values="n", aggfunc="sum", fill_value=0)
    pivot = pivot[sorted(pivot.columns, key=lambda c: tuple(natural_key(x) for x in (c if isinstance(c, tuple) else (c,))))]
    return "\n".join("    " + line for line in pivot.to_string().splitlines())


def format_summary(s: dict[str, Any]) -> str:
    """Human-readable text of :func:`summarize`'s output (what ``artifactual data summarize`` prints)."""
    ids = s["identities"]
    lines = [
        f"dataset {s['dataset']} (manifest {s['manifest_hash']})",
        f"  {s['n_images']:,} images usable, {s['n_skipped']:,} skipped, {s['n_rows']:,} rows in all",
        f"  {ids['n']:,} identities ({ids['n_with_2plus_images']:,} with 2+ images; "
        f"{ids['images_unknown_identity']:,} images of unknown identity)",
        "  sources: " + ", ".join(f"{k} {v:,}" for k, v in s["sources"].items()),
    ]
    for col, rows in s["labels"].items():
        lines += [f"  label {col} by source:", _table_text(rows)]
    for col, rows in s["subgroups"].items():
        lines += [f"  subgroup {col} by source:", _table_text(rows)]
    for key, rows in s["label_by_subgroup"].items():
        lab, sub = key.split("|")
        lines += [f"  label {lab} x subgroup {sub} by source:", _table_text(rows)]
    f = s["files"]
    lines.append("  formats: " + ", ".join(f"{k} {v:,}" for k, v in f["format"].items()))
    lines.append("  modes: " + ", ".join(f"{k} {v:,}" for k, v in f["mode"].items()))
    lines.append(f"  sizes ({f['distinct_sizes']} distinct): " + ", ".join(f"{k} {v:,}" for k, v in f["size_wxh"].items()))
    if f.get("bytes"):
        b = f["bytes"]
        lines.append(f"  file bytes: min {b['min']:,}, median {b['median']:,.0f}, max {b['max']:,}")
    if f.get("identical_content", {}).get("groups"):
        ic = f["identical_content"]
        lines.append(f"  identical files: {ic['files']:,} files in {ic['groups']:,} groups of byte-identical content")
    if f["conversions"]:
        lines.append("  conversions applied:")
        lines += [f"    {v:,} x {k}" for k, v in f["conversions"].items()]
    if s["n_skipped"]:
        lines.append("  skipped, by reason:")
        lines += [f"    {v:,} x {k}" for k, v in s["skipped"]["by_reason"].items()]
        lines += [f"      e.g. {e['path']}: {e['reason']}" for e in s["skipped"]["examples"][:10]]
    if s["notes"]:
        lines.append("  notes: " + ", ".join(f"{k} {v:,}" for k, v in s["notes"].items()))
    for w in s["warnings"]:
        lines.append(f"  WARNING: {w}")
    return "\n".join(lines)


