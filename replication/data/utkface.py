"""Data card: ``utkface`` — UTKFace face crops with age, gender and race in the file name.

What: web-crawled face photographs, cropped and aligned, 200x200 RGB JPEG (Zhang, Song, Qi 2017).
The full set has 23,705 images; the common "crop_part1" part has 9,780. Any folder of UTKFace
files under the data root's ``utkface/`` is read (searched recursively).
Citation: Z. Zhang, Y. Song, H. Qi, Age Progression/Regression by Conditional Adversarial
Autoencoder, CVPR 2017.
Terms: non-commercial research only; image copyright stays with the original owners.
Labels, from ``<age>_<gender>_<race>_<datetime>.jpg[.chip.jpg]``:
- ``age``: integer years (1-116);
- ``gender``: 0 male, 1 female (as the dataset's authors annotated it);
- ``race``: 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others;
- ``collected``: the crawl timestamp ``yyyymmddHHMMSSFFF``.
Identity is not given (NA): the same person may appear more than once.
Quirks: a few names lack a field (``61_1_20170109142408075.jpg.chip.jpg``); which field is
missing cannot be told, so such rows keep the age and get NA gender and race, and are counted
as ``malformed_name``. Some images carry stock-photo watermarks. Tight crops with little
background, unlike LFW.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError, inspect_files, new_table

SOURCE = "utkface"
NAME_RE = re.compile(r"^(?P<age>\d{1,3})_(?P<gender>[01])_(?P<race>[0-4])_(?P<dt>\d{8,17})\.jpg(\.chip\.jpg)?$",
                     re.IGNORECASE)
OBTAIN = "Get UTKFace from its project page (susanqq.github.io/UTKFace) and unpack it under DIR/utkface/."


def parse_name(name: str) -> dict[str, object]:
    """Fields of a UTKFace file name; NA fields and ``malformed_name=True`` when it does not parse.

    >>> parse_name("25_1_2_20170116174525125.jpg.chip.jpg")["race"]
    2
    >>> parse_name("61_1_20170109142408075.jpg.chip.jpg")
    {'age': 61, 'gender': <NA>, 'race': <NA>, 'collected': <NA>, 'malformed_name': True}
    """
    m = NAME_RE.match(name)
    if m:
        return {"age": int(m["age"]), "gender": int(m["gender"]), "race": int(m["race"]),
                "collected": m["dt"], "malformed_name": False}
    first = name.split("_", 1)[0]
    age = int(first) if first.isdigit() and 0 < int(first) < 130 else pd.NA
    return {"age": age, "gender": pd.NA, "race": pd.NA, "collected": pd.NA, "malformed_name": True}


@register_dataset("utkface", needs="root", subdir="utkface", obtain=OBTAIN)
def load(location: Path, workers: int | None = None, progress: bool | None = None) -> Dataset:
    location = Path(location)
    files = sorted(p for p in location.rglob("*") if p.is_file() and p.name.lower().endswith((".jpg", ".jpeg")))
    if not files:
        raise DatasetError(f"no UTKFace JPEG files under {location}. {OBTAIN}")
    rows = [{"path": str(f.relative_to(location)), "source": SOURCE, "identity": pd.NA, **parse_name(f.name)}
            for f in files]
    table = new_table(rows, ["path", "source", "identity", "age", "gender", "race", "collected", "malformed_name"])
    for col in ("age", "gender", "race"):
        table[col] = table[col].astype("Int64")
    table["identity"] = table["identity"].astype("string")
    notes = {"malformed_name": int(table["malformed_name"].sum())}
    table = table.drop(columns=["malformed_name"])
    table = inspect_files(table, location, workers=workers, progress=progress, desc="inspecting UTKFace")
    return Dataset("utkface", table, location, ["gender"], ["age", "race"], notes=notes, card=__doc__ or "")
