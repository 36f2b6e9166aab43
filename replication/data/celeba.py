"""Data card: ``celeba`` — CelebA aligned face images with CelebA's 40 binary attributes.

What: CelebFaces Attributes, web photographs of celebrities, aligned and cropped on the eyes
(``img_align_celeba``, 178x218 RGB JPEG in the original). The full set has 202,599 images of
10,177 people, each with 40 binary attributes annotated by a labelling company. This loader reads
the standard layout under the data root's ``celeba/``::

    img_align_celeba/000001.jpg ...      the images (or celebA/, or a single other image folder)
    list_attr_celeba.txt                 line 1 the image count, line 2 the 40 attribute names,
                                         then "<file> -1 1 ..." (-1 absent, 1 present)
    list_eval_partition.txt              "<file> <0|1|2>": 0 train, 1 validation, 2 test (optional)

(the official download's ``Img/``, ``Anno/`` and ``Eval/`` folders work too: names are searched
here and one folder down, in any case).
The copy this loader was written against is a subset: ``celebA/000001.jpg`` to ``010000.jpg``,
10,000 images at half resolution (89x109), from github.com/karthikSingireddy/cs389-hw4 at commit
702f8f7bdf59386959872d52879faac800f20ab1; ``list_attr_celeba.txt`` in the original format but
holding only the first 20,000 rows (line 1 still says 202599), from
github.com/zgjsxx/face-property-detection-pytorch at 9baf27d6fdd8fcb36dcf197fdf203455d76acc5e (not
that repository's edited ``list_attr_celeba-face.txt``); the complete ``list_eval_partition.txt``
from github.com/constanzaelf/thesis_fairness_xai at 4f4bb685b4d8d8b114ca75405aab18a8c948d3dc.
Citation: Z. Liu, P. Luo, X. Wang, X. Tang, Deep Learning Face Attributes in the Wild, ICCV 2015.
Terms: non-commercial research and educational use only; redistribution of the images, or of
anything derived from them, is forbidden. Never copy images, or anything derived from them, into
this repository.
Labels and columns:
- one column per attribute, named as in the file's second line (:data:`ATTRIBUTES`: ``Male``,
  ``Young``, ``Eyeglasses``, ``5_o_Clock_Shadow``, ...), Int64 1 = present, 0 = absent (the
  file's -1; a 0 in copies that use 0/1 is read as absent too). These are annotators' binary
  judgements: ``Male`` is perceived gender, ``Young`` and ``Attractive`` are subjective, and the
  attributes are known to be noisy and correlated with each other.
- ``partition``: CelebA's own split from ``list_eval_partition.txt`` (Int64 0 train, 1 validation,
  2 test), NA when that file is absent or does not list the image.
- ``source`` is ``celeba`` for every row; ``identity`` is NA: CelebA's identity file
  (``identity_CelebA.txt``) is not part of this copy and is not read. A person has about 20 images
  in the full set, so a random split puts the same people on both sides and no split here can be
  grouped by person.
In the copy above: 10,000 rows, all usable, every one in partition 0 (train); a study must make,
and state, its own split. Images with the attribute present, of the 10,000: Male 4,217,
Young 7,771, Attractive 5,115, Heavy_Makeup 3,824, Black_Hair 2,432, Bushy_Eyebrows 1,453,
Eyeglasses 674, Chubby 594, Wearing_Hat 483, Gray_Hair 444, Pale_Skin 443, Mustache 374.
All are RGB JPEGs of 89x109 (width x height); no two files are byte-identical.
Quirks: the attribute file has CRLF line ends, a trailing space on the names line and two spaces
before a 1 (columns aligned); all whitespace is one separator. An image named differently only in
its suffix (the PNG release's ``000001.png`` against the files' ``000001.jpg``) is matched by
stem. Skipped rows stay in the table with a reason: ``not an image file``, ``bad attribute row``
(naming the line), ``no attributes``, or a decoding failure. ``notes`` counts
``attributes_without_image`` (names in the attribute file with no image: 10,000 in the copy above),
``images_without_attributes``, ``bad_attribute_rows`` (lines of the attribute file),
``partition_missing`` (rows with NA partition) and ``not_an_image`` (rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError, inspect_files, mark_skipped, new_table

SOURCE = "celeba"
#: CelebA's 40 attributes in the order of ``list_attr_celeba.txt``'s second line.
ATTRIBUTES = [
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips",
    "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
    "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open",
    "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline",
    "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat",
    "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young",
]
ATTRIBUTE_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
#: Image folder names searched first (any case): the standard one, then the subset's.
IMAGE_FOLDERS = ("img_align_celeba", "celebA")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: The attribute values accepted: 1 present, -1 (or 0, in copies that use 0/1) absent.
VALUES = frozenset({"-1", "0", "1"})
PARTITIONS = {0: "train", 1: "validation", 2: "test"}
OBTAIN = ("Get CelebA from mmlab.ie.cuhk.edu.hk/projects/CelebA.html and put img_align_celeba/, "
          "list_attr_celeba.txt and list_eval_partition.txt under DIR/celeba/ (the 10,000-image subset: "
          "`git archive` the three repositories named in artifactual.replication.data.celeba's data card "
          "into DIR/celeba).")
COLUMNS = ["path", "source", "identity"]
NOT_IMAGE = "not an image file: expected .jpg, .jpeg or .png"
#: The kind of a skip reason (the text before ``:``) -> the ``notes`` key that counts its rows.
ROW_NOTES = {"not an image file": "not_an_image", "no attributes": "images_without_attributes"}


class AttributeProblem(NamedTuple):
    """A line of the attribute file that gives no attributes: its number, the file it names, why."""

    line: int
    file: str
    reason: str


def read_attributes(path: str | Path) -> tuple[pd.DataFrame, list[AttributeProblem]]:
    """CelebA's attribute file as a table indexed by file name, and the lines that do not parse.

    Columns are the names on line 2 in their order, Int64 1 (present) or 0 (-1, absent). A line
    with the wrong number of values, a value other than -1, 0 or 1, or a file listed twice gives an
    :class:`AttributeProblem` instead, and that file gets no row. Blank lines are ignored.

    Raises
    ------
    DatasetError
        The file is missing or not text, line 1 is not the image count, or line 2 does not hold
        40 distinct names.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / ATTRIBUTE_FILE
    >>> ones = " ".join(["1"] * 39)
    >>> _ = path.write_text(f"3\\r\\n{' '.join(ATTRIBUTES)} \\r\\n000001.jpg -1  {ones}\\r\\n"
    ...                     f"000002.jpg 1 {ones}\\r\\n000003.jpg 1 1\\r\\n")
    >>> table, problems = read_attributes(path)
    >>> table[["5_o_Clock_Shadow", "Arched_Eyebrows", "Young"]]
                5_o_Clock_Shadow  Arched_Eyebrows  Young
    file
    000001.jpg                 0                1      1
    000002.jpg                 1                1      1
    >>> problems
    [AttributeProblem(line=5, file='000003.jpg', reason='line 5 of list_attr_celeba.txt has 2 values, expected 40')]
    >>> tmp.cleanup()
    """
    path = Path(path)
    try:
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read CelebA's attribute file {path}: {exc.strerror or exc}. {OBTAIN}") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not a text file ({exc.reason} at byte {exc.start}): expected CelebA's "
                           f"attribute list") from None
    first = lines[0].strip() if lines else ""
    if not first.isdigit():
        raise DatasetError(f"{path}, line 1: expected the image count (an integer), found {first[:40]!r}; "
                           f"is this CelebA's {ATTRIBUTE_FILE}?")
    names = lines[1].split() if len(lines) > 1 else []
    if len(names) != len(ATTRIBUTES) or len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise DatasetError(f"{path}, line 2: expected the {len(ATTRIBUTES)} attribute names, found "
                           f"{len(names)}" + (f" with {', '.join(repeated)} repeated" if repeated else "")
                           + f" ({' '.join(names)[:80]!r}...)")
    rows: dict[str, list[str]] = {}
    first_line: dict[str, int] = {}
    problems: list[AttributeProblem] = []
    for number, line in enumerate(lines[2:], start=3):
        tokens = line.split()
        if not tokens:
            continue
        name, values = tokens[0], tokens[1:]
        where = f"line {number} of {path.name}"
        if len(values) != len(names):
            problems.append(AttributeProblem(number, name, f"{where} has {len(values)} values, expected {len(names)}"))
        elif not VALUES.issuperset(values):
            bad = next(i for i, v in enumerate(values) if v not in VALUES)
            problems.append(AttributeProblem(number, name, f"{where} has {values[bad]!r} for {names[bad]}, "
                                                           f"expected -1 or 1"))
        elif name in first_line:
            problems.append(AttributeProblem(number, name, f"{where} lists {name} again (first at line "
                                                           f"{first_line[name]})"))
        else:
            first_line[name] = number
            rows[name] = values
    for p in problems:  # a file with any bad line has no row: which of its lines would be right?
        rows.pop(p.file, None)
    present = np.array(list(rows.values()), dtype=str).reshape(len(rows), len(names)) == "1"
    index = pd.Index(list(rows), name="file", dtype="string")
    return pd.DataFrame(present.astype(np.int64), index=index, columns=names).astype("Int64"), problems


def read_partition(path: str | Path) -> pd.Series:
    """CelebA's evaluation partition, ``<file> <0|1|2>`` per line: Int64 values indexed by file name.

    Raises
    ------
    DatasetError
        The file is missing, a line does not hold two fields, a value is not 0, 1 or 2, or a file
        is listed twice.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / PARTITION_FILE
    >>> _ = path.write_text("000001.jpg 0\\n162771.jpg 1\\n182638.jpg 2\\n")
    >>> read_partition(path).to_dict()
    {'000001.jpg': 0, '162771.jpg': 1, '182638.jpg': 2}
    >>> _ = path.write_text("000001.jpg 0\\n000002.jpg train\\n")
    >>> read_partition(path)
    Traceback (most recent call last):
    ...
    artifactual.replication.data.dataset.DatasetError: ...line 2: partition 'train' for 000002.jpg, expected 0, 1 or 2
    >>> tmp.cleanup()
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep=r"\s+", header=None, names=["file", "partition"], dtype=str)
    except OSError as exc:
        raise DatasetError(f"cannot read CelebA's partition file {path}: {exc.strerror or exc}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} does not parse as '<file> <0|1|2>' lines: {exc}") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({"file": [], "partition": []}, dtype=str)
    value = pd.to_numeric(frame["partition"], errors="coerce")
    bad = ~value.isin(list(PARTITIONS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(f"{path}, line {i + 1}: partition {frame['partition'].iloc[i]!r} for "
                           f"{frame['file'].iloc[i]}, expected 0, 1 or 2")
    repeated = frame["file"].duplicated()
    if repeated.any():
        i = int(np.flatnonzero(repeated.to_numpy())[0])
        raise DatasetError(f"{path}, line {i + 1}: {frame['file'].iloc[i]} is listed a second time")
    return pd.Series(value.to_numpy(), index=pd.Index(frame["file"], name="file", dtype="string"),
                     name="partition").astype("Int64")


def _children(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _near(location: Path, wanted: str, folder: bool) -> list[Path]:
    """Folders (or files) named ``wanted`` in any case, in ``location`` or one folder down."""
    places = [location, *(p for p in _children(location) if p.is_dir())]
    return [p for place in places for p in _children(place)
            if p.name.lower() == wanted.lower() and p.is_dir() == folder]


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() for p in folder.iterdir())


def _relative(paths: list[Path], location: Path) -> str:
    return ", ".join(f"{p.relative_to(location).as_posix()}/" for p in paths)


def image_folder(location: str | Path) -> Path:
    """The folder holding the CelebA images under ``location``.

    ``img_align_celeba/`` or ``celebA/`` (any case, in ``location`` or one folder down), else the
    single subfolder holding .jpg or .png files. A named folder that holds only one image folder
    (Kaggle's ``img_align_celeba/img_align_celeba/``) is looked into.

    Examples
    --------
    >>> import tempfile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> (root / "Img" / "img_align_celeba").mkdir(parents=True)
    >>> image_folder(root).relative_to(root).as_posix()
    'Img/img_align_celeba'
    >>> tmp.cleanup()
    """
    location = Path(location)
    found = [p for name in IMAGE_FOLDERS for p in _near(location, name, folder=True)]
    found = [p for p in found if not any(q in p.parents for q in found)]  # the outer of nested namesakes
    if not found:
        found = [p for p in _children(location) if p.is_dir() and _has_images(p)]
        if len(found) > 1:
            raise DatasetError(f"no img_align_celeba/ or celebA/ folder under {location}, and several folders "
                               f"hold images ({_relative(found, location)}): name the CelebA one img_align_celeba")
    if not found:
        raise DatasetError(f"no CelebA image folder under {location}: looked for img_align_celeba/ or celebA/ "
                           f"(any case, here or one folder down) and for a subfolder holding .jpg or .png files. "
                           f"{OBTAIN}")
    if len(found) > 1:
        raise DatasetError(f"more than one CelebA image folder under {location} ({_relative(found, location)}): "
                           f"keep one")
    folder = found[0]
    inner = [p for p in _children(folder) if p.is_dir() and _has_images(p)]
    return inner[0] if len(inner) == 1 and not _has_images(folder) else folder


def _one_file(location: Path, name: str, required: bool) -> Path | None:
    found = _near(location, name, folder=False)
    if len(found) > 1:
        places = ", ".join(p.relative_to(location).as_posix() for p in found)
        raise DatasetError(f"more than one {name} under {location} ({places}): keep one")
    if not found and required:
        raise DatasetError(f"no {name} under {location} (looked here and one folder down, any case): it holds "
                           f"CelebA's attribute labels. {OBTAIN}")
    return found[0] if found else None


def _lookup(names: list[str], index: pd.Index) -> list[str | None]:
    """The entry of ``index`` each file name stands for: itself, else the one with its stem."""
    listed = set(index)
    stems: dict[str, str | None] = {}
    for entry in index:
        stem = Path(entry).stem
        stems[stem] = None if stem in stems else entry  # a stem listed twice matches nothing
    return [n if n in listed else stems.get(Path(n).stem) for n in names]


def _skip_each(table: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Skip the rows still ``ok`` whose ``reasons`` entry is not empty, each with its own reason."""
    mask = (reasons != "").to_numpy() & (table["status"] == "ok").to_numpy()
    table.loc[mask, "status"] = "skipped"
    table.loc[mask, "reason"] = reasons[mask].to_numpy()
    return table


@register_dataset("celeba", needs="root", subdir="celeba", obtain=OBTAIN)
def load(location: Path, workers: int | None = None, progress: bool | None = None) -> Dataset:
    """Every file in the CelebA image folder under ``location``, one row each, with its attributes.

    Examples
    --------
    A made-up copy: two images with attributes (one with a malformed line), one without, no
    partition file.

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> (root / "img_align_celeba").mkdir()
    >>> for name in ["000001.jpg", "000002.jpg", "000003.jpg"]:
    ...     Image.new("RGB", (16, 20), (200, 150, 120)).save(root / "img_align_celeba" / name)
    >>> male = ["1" if a == "Male" else "-1" for a in ATTRIBUTES]
    >>> _ = (root / ATTRIBUTE_FILE).write_text(f"202599\\n{' '.join(ATTRIBUTES)}\\n000001.jpg {' '.join(male)}\\n"
    ...                                        f"000002.jpg {' '.join(male[:-1])}\\n")
    >>> ds = load(root, workers=1, progress=False)
    >>> ds.table[["path", "Male", "Young", "partition", "status"]].values.tolist()
    [['img_align_celeba/000001.jpg', 1, 0, <NA>, 'ok'], ['img_align_celeba/000002.jpg', <NA>, <NA>, <NA>, 'skipped'],
     ['img_align_celeba/000003.jpg', <NA>, <NA>, <NA>, 'skipped']]
    >>> ds.table["reason"][1:].tolist()
    ['bad attribute row: line 4 of list_attr_celeba.txt has 39 values, expected 40',
     'no attributes: 000003.jpg is not in list_attr_celeba.txt']
    >>> ds.notes
    {'attributes_without_image': 0, 'images_without_attributes': 1, 'bad_attribute_rows': 1, 'partition_missing': 3,
     'not_an_image': 0}
    >>> tmp.cleanup()
    """
    location = Path(location)
    folder = image_folder(location)
    attr_path = _one_file(location, ATTRIBUTE_FILE, required=True)
    attributes, problems = read_attributes(attr_path)
    part_path = _one_file(location, PARTITION_FILE, required=False)
    partition = (read_partition(part_path) if part_path
                 else pd.Series([], dtype="Int64", index=pd.Index([], dtype="string")))
    files = [p for p in _children(folder) if p.is_file()]
    if not any(f.suffix.lower() in IMAGE_SUFFIXES for f in files):
        raise DatasetError(f"no image files (.jpg, .jpeg, .png) in {folder}: expected CelebA's 000001.jpg ... "
                           f"{OBTAIN}")
    names = [f.name for f in files]
    problem_of = {}
    for p in problems:
        problem_of.setdefault(p.file, p.reason)
    listed = pd.Index([*attributes.index, *problem_of], dtype="string")
    is_image = [n.lower().endswith(IMAGE_SUFFIXES) for n in names]
    # each image's name in the attribute file and in the partition file (its own, else by stem; None if absent)
    keys = [k if ok else None for k, ok in zip(_lookup(names, listed), is_image)]
    part_keys = [k if ok else None for k, ok in zip(_lookup([k or n for k, n in zip(keys, names)], partition.index),
                                                     is_image)]

    rows = [{"path": f.relative_to(location).as_posix(), "source": SOURCE, "identity": pd.NA} for f in files]
    table = new_table(rows, COLUMNS)
    table["identity"] = table["identity"].astype("string")
    values = attributes.reindex(pd.Index(keys, dtype="string")).reset_index(drop=True)
    table = pd.concat([table, values], axis=1)
    table["partition"] = partition.reindex(pd.Index(part_keys, dtype="string")).reset_index(drop=True)

    table = mark_skipped(table, [not ok for ok in is_image], NOT_IMAGE)
    table = _skip_each(table, pd.Series([f"bad attribute row: {problem_of[k]}" if k in problem_of else ""
                                         for k in keys]))
    table = _skip_each(table, pd.Series(["" if k is not None else f"no attributes: {n} is not in {attr_path.name}"
                                         for k, n in zip(keys, names)]))
    table = inspect_files(table, location, workers=workers, progress=progress, desc="inspecting CelebA")
    kinds = table["reason"].where(table["status"] != "ok", "").str.split(":", n=1).str[0].str.strip().value_counts()
    counts = {key: int(kinds.get(kind, 0)) for kind, key in ROW_NOTES.items()}
    notes = {"attributes_without_image": len(set(listed) - {k for k in keys if k is not None}),
             "images_without_attributes": counts["images_without_attributes"],
             "bad_attribute_rows": len(problems),
             "partition_missing": int(table["partition"].isna().sum()),
             "not_an_image": counts["not_an_image"]}
    return Dataset("celeba", table, location, list(attributes.columns), ["partition"], notes=notes,
                   card=__doc__ or "")
