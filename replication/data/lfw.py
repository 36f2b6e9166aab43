"""Data card: ``lfw`` — Labeled Faces in the Wild, any variant in the standard layout.

What: news photographs (Yahoo News 2002-2003) of 5,749 people, 13,233 images, detected with
Viola-Jones and, in the common variants, aligned (funneled / deep-funneled); JPEG 250x250 RGB.
Layout: ``<root>/<Name>/<Name>_NNNN.jpg``. The loader accepts that folder itself or the data
root's ``lfw/`` folder holding it under any name (``lfw-deepfunneled``, ``lfw_funneled``,
``lfw``, or scikit-learn's ``lfw_home/lfw_funneled``, see :func:`fetch_with_sklearn`).
Citation: G. B. Huang, M. Ramesh, T. Berg, E. Learned-Miller, Labeled Faces in the Wild,
UMass Amherst TR 07-49, 2007; deep funneling: Huang, Mattar, Lee, Learned-Miller, NIPS 2012.
Terms: research use; copyright stays with the photographers and agencies. Never copy images
into the repository.
Labels:
- ``identity``: the folder name (so splits can keep each person on one side).
- ``gender``: ``M``/``F`` from ``male_names.txt`` / ``female_names.txt`` (one file name per line,
  the lists on the UMass LFW page attributed to Afifi & Abdelhamed 2017) when present. A file in
  both lists is a conflict and one in neither is missing: both become NA and are counted.
- ``smiling``: 1/0 from ``lfw_with_smile_label.txt`` (lines ``./lfw/<Name>/<file> <0|1>``, from a
  lecture repository by Y. Morishita) when present; NA for the images it does not cover.
Quirks: 1,680 people have 2+ images and a few have hundreds (George_W_Bush 530), so random
splits leak identity. In the smile subset 67% of women and 44% of men are labelled smiling: smile
is tangled with gender. Images are centred crops with lots of background, unlike tight crops.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError, inspect_files, mark_skipped, new_table

SOURCE = "lfw"
NAME_RE = re.compile(r"^(?P<name>.+)_(?P<num>\d{4})\.jpe?g$", re.IGNORECASE)
OBTAIN = ("Get LFW from the UMass LFW page (vis-www.cs.umass.edu/lfw), or with internet run "
          "`artifactual data fetch lfw --to DIR/lfw` (scikit-learn's fetcher).")
GENDER_FILES = {"M": "male_names.txt", "F": "female_names.txt"}
SMILE_FILE = "lfw_with_smile_label.txt"


def _looks_like_layout(folder: Path) -> bool:
    for person in sorted(p for p in folder.iterdir() if p.is_dir())[:20]:
        if any(NAME_RE.match(f.name) and f.name.startswith(person.name + "_") for f in person.iterdir()):
            return True
    return False


def find_image_folder(location: Path) -> Path:
    """The folder holding ``<Name>/<Name>_NNNN.jpg`` at or under ``location`` (two levels deep)."""
    candidates = [location]
    for child in sorted(p for p in location.iterdir() if p.is_dir()):
        candidates.append(child)
        candidates.extend(sorted(p for p in child.iterdir() if p.is_dir() and p.name.startswith("lfw")))
    for folder in candidates:
        if _looks_like_layout(folder):
            return folder
    raise DatasetError(f"no LFW layout (<Name>/<Name>_NNNN.jpg) found at or under {location}. {OBTAIN}")


def _find_file(name: str, places: list[Path]) -> Path | None:
    for place in places:
        if (place / name).is_file():
            return place / name
    return None


def read_gender_lists(places: list[Path]) -> tuple[dict[str, set[str]], bool]:
    labels: dict[str, set[str]] = defaultdict(set)
    found = False
    for code, fname in GENDER_FILES.items():
        path = _find_file(fname, places)
        if path is None:
            continue
        found = True
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line:
                labels[line.replace("\\", "/").rsplit("/", 1)[-1]].add(code)
    return labels, found


def read_smile_labels(places: list[Path]) -> dict[str, int] | None:
    path = _find_file(SMILE_FILE, places)
    if path is None:
        return None
    out: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.strip().rsplit(maxsplit=1)
        if len(parts) == 2 and parts[1] in ("0", "1"):
            out[parts[0].replace("\\", "/").rsplit("/", 1)[-1]] = int(parts[1])
    return out


@register_dataset("lfw", needs="root", subdir="lfw", obtain=OBTAIN)
def load(location: Path, workers: int | None = None, progress: bool | None = None) -> Dataset:
    """The LFW images under ``location`` with ``identity`` and, where the lists are present, ``gender``/``smiling``.

    Examples
    --------
    A made-up LFW folder: two people, one file off the naming scheme, gender lists with a conflict.

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name) / "lfw"
    >>> for rel in ["Ada_Example/Ada_Example_0001.jpg", "Ada_Example/Ada_Example_0002.jpg",
    ...             "Bo_Example/Bo_Example_0001.jpg", "Bo_Example/photo.jpg"]:
    ...     (root / "lfw-deepfunneled" / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     Image.new("RGB", (8, 8)).save(root / "lfw-deepfunneled" / rel)
    >>> (root / "metadata").mkdir()
    >>> _ = (root / "metadata" / "female_names.txt").write_text("Ada_Example_0001.jpg\\nBo_Example_0001.jpg\\n")
    >>> _ = (root / "metadata" / "male_names.txt").write_text("Bo_Example_0001.jpg\\n")
    >>> ds = load(root, workers=1, progress=False)
    >>> ds.root.name, ds.label_columns
    ('lfw-deepfunneled', ['gender'])
    >>> ds.table["identity"].tolist(), ds.table["gender"].tolist()
    (['Ada_Example', 'Ada_Example', 'Bo_Example', 'Bo_Example'], ['F', <NA>, <NA>, <NA>])
    >>> ds.table["status"].tolist()
    ['ok', 'ok', 'ok', 'skipped']
    >>> ds.notes
    {'gender_conflict_na': 1, 'gender_missing_na': 2}
    >>> tmp.cleanup()
    """
    location = Path(location)
    images = find_image_folder(location)
    places = [location, location / "metadata", images, images.parent]
    rows = []
    for person in sorted(p for p in images.iterdir() if p.is_dir()):
        for f in sorted(person.iterdir()):
            if f.is_file():
                m = NAME_RE.match(f.name)
                standard = bool(m) and m.group("name") == person.name
                rows.append({"path": str(f.relative_to(images)), "source": SOURCE, "identity": person.name,
                             "file": f.name, "standard": standard})
    if not rows:
        raise DatasetError(f"LFW folder {images} holds no images. {OBTAIN}")
    table = new_table(rows, ["path", "source", "identity", "file", "standard"])
    table = mark_skipped(table, ~table["standard"], "file name does not follow <Name>/<Name>_NNNN.jpg")

    notes: dict[str, int] = {}
    gender_lists, has_gender = read_gender_lists(places)
    labels = []
    if has_gender:
        sets = table["file"].map(lambda f: gender_lists.get(f, set()))
        table["gender"] = sets.map(lambda s: next(iter(s)) if len(s) == 1 else pd.NA).astype("string")
        notes["gender_conflict_na"] = int((sets.map(len) > 1).sum())
        notes["gender_missing_na"] = int((sets.map(len) == 0).sum())
        labels.append("gender")
    smiles = read_smile_labels(places)
    if smiles is not None:
        table["smiling"] = table["file"].map(smiles).astype("Int64")
        notes["smiling_labelled"] = int(table["smiling"].notna().sum())
        labels.append("smiling")
    table = table.drop(columns=["file", "standard"])
    table = inspect_files(table, images, workers=workers, progress=progress, desc="inspecting LFW")
    return Dataset("lfw", table, images, labels, [], notes=notes, card=__doc__ or "")


def fetch_with_sklearn(target: Path) -> Path:
    """Download LFW (funneled) with scikit-learn's fetcher into ``target``; needs internet.

    scikit-learn keeps the standard layout under ``target/lfw_home/lfw_funneled``, which the
    ``lfw`` loader finds when ``target`` is ``DATA_ROOT/lfw``.
    """
    from sklearn.datasets import fetch_lfw_people

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        fetch_lfw_people(data_home=str(target), download_if_missing=True, funneled=True)
    except Exception as exc:  # URLError, socket errors, HTTP errors: all mean "no download"
        raise DatasetError(
            f"could not download LFW with scikit-learn into {target}: {exc}. This needs internet "
            f"access to the LFW mirrors; without it, copy an LFW folder into {target} by hand."
        ) from exc
    return target
