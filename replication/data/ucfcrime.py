"""Data card: ``ucfcrime`` — UCF-Crime surveillance frames in the Kaggle frame layout.

What: frames of real-world CCTV videos, every 10th frame, resized to 64x64 RGB PNG. The copy this
loader was written against holds 4,086 frames of 33 videos in four classes (Abuse, Explosion,
Fighting, Normal); it reads any class set in the same layout under the data root's ``ucfcrime/``::

    train/<Class>/<Video>_x264_<frame>.png      e.g. train/Fighting/Fighting007_x264_750.png
    test/<Class>/<Video>_x264_<frame>.png       e.g. test/NormalVideos/Normal_Videos_003_x264_40.png

Citation: W. Sultani, C. Chen, M. Shah, Real-world Anomaly Detection in Surveillance Videos,
CVPR 2018. Frames as stored in github.com/Rahul21333/Video-anomaly-detection at commit
8c05d2c71352e41c5b8ada973a6f9a23bf1ab6c0.
Terms: UCF-Crime is distributed for research use; the frame repository states no licence.
Never copy frames, or anything derived from them, into this repository.
Labels and columns:
- ``crime_class``: the class folder's name mapped through :data:`CLASS_ALIASES`
  (``NormalVideos`` -> ``Normal``); ``class_folder`` keeps the name as found.
- ``split``: ``train`` or ``test``, the dataset's own split (its folders, any case).
- ``video`` (e.g. ``Fighting007``) and ``frame`` (the frame index in that video), parsed from the
  file name; ``source`` and ``identity`` are the video: frames of one video are not independent, so
  the video is the unit to resample and to keep on one side of a split.
- ``grey_sd``: standard deviation of the grey levels (ITU-R BT.601 luma) of each decoded frame.
Counts in the copy above (train | test, frames and videos): Abuse 730/3 | 297/2, Explosion
682/7 | 216/3, Fighting 643/3 | 252/2, Normal 1,002/9 | 264/4. Each video lies in one class and one
split.
Quirks:
- The normal class is ``train/Normal`` but ``test/NormalVideos``, and its videos are named
  ``Normal_Videos001`` in train but ``Normal_Videos_003`` in test (one numbering, two spellings).
- Frames are every 10th frame (0, 10, 20, ...), but some videos are clips that start late
  (Explosion013 at 2060) and ``Normal_Videos008`` has gaps; ``Explosion016`` has 6 frames.
- 9 frames are blank (all black or nearly): grey-level SD below :data:`BLANK_SD`, skipped.
- Three pairs of consecutive frames of Explosion001 are byte-identical (a frozen stream).
- 64x64 is tiny: faces, text and most detail are gone; burnt-in timestamps and frame borders remain.
Skipped rows stay in the table with a reason. ``notes`` counts rows (``unparsed_name``,
``not_an_image``, ``not_in_class_folder``, ``blank_frame``, ``video_in_two_classes`` for a video
found in two class folders or two splits, ``alias_applied``), folders (``empty_class_folder``) and
classes (``class_only_in_train``, ``class_only_in_test``). :func:`layout_problems` says each
problem in a sentence.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import (
    Dataset, DatasetError, PixelRule, inspect_files, mark_skipped, new_table, run_parallel,
)
from artifactual.replication.data.images import ImageError

NAME_RE = re.compile(r"^(?P<video>.+?)_x264_(?P<frame>\d+)\.(png|jpg|jpeg)$", re.IGNORECASE)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SPLITS = ("train", "test")
#: Class folder names read as another class: the Kaggle copy calls the normal class
#: ``Normal`` in train/ and ``NormalVideos`` in test/.
CLASS_ALIASES = {"NormalVideos": "Normal"}
#: Frames whose grey-level SD is below this are blank. On the 4,086 real frames the nine blank ones
#: have SD 0.000 (2 frames), 0.013 (5), 0.051 and 0.120; the next smallest is 4.32 (Explosion016
#: frame 10: a black frame with a small green blob, real content), then 7.93 and 10.6. 2.0 lies in
#: that gap with room on both sides.
BLANK_SD = 2.0
#: ITU-R BT.601 luma weights (what OpenCV's RGB2GRAY and PIL's "L" use).
LUMA = np.array([0.299, 0.587, 0.114])
OBTAIN = ("Get the UCF-Crime frames in the Kaggle layout: clone github.com/Rahul21333/Video-anomaly-detection "
          "and run `git -C <clone> archive 8c05d2c71352e41c5b8ada973a6f9a23bf1ab6c0 train test | "
          "tar x -C DIR/ucfcrime`.")
COLUMNS = ["path", "source", "identity", "crime_class", "class_folder", "split", "video", "frame"]

UNPARSED = "file name does not parse: expected <Video>_x264_<frame>.png"
NOT_IMAGE = "not an image file: expected .png, .jpg or .jpeg"
NO_CLASS = "not in a class folder: a file directly in train/ or test/ has no class"
#: The kind of a skip reason (the text before ``:``) -> the ``notes`` key that counts its rows.
ROW_NOTES = {"file name does not parse": "unparsed_name", "not an image file": "not_an_image",
             "not in a class folder": "not_in_class_folder", "blank frame": "blank_frame",
             "video in two places": "video_in_two_classes"}


def parse_name(name: str) -> dict[str, Any]:
    """``video`` and ``frame`` of a frame's file name; both NA when it does not parse.

    >>> parse_name("Normal_Videos_003_x264_40.png")
    {'video': 'Normal_Videos_003', 'frame': 40}
    >>> parse_name("notes.png")
    {'video': <NA>, 'frame': <NA>}
    """
    m = NAME_RE.match(name)
    return {"video": m["video"], "frame": int(m["frame"])} if m else {"video": pd.NA, "frame": pd.NA}


def grey_sd(pixels: np.ndarray) -> float:
    """Standard deviation of the grey levels (BT.601 luma for RGB) of a uint8 image.

    >>> grey_sd(np.full((4, 4, 3), 30, np.uint8)), grey_sd(np.array([[0, 255]], np.uint8))
    (0.0, 127.5)
    """
    grey = pixels.astype(np.float64) @ LUMA if pixels.ndim == 3 else pixels.astype(np.float64)
    return float(grey.std())


def split_folders(location: Path) -> list[tuple[str, Path]]:
    """``(split, folder)`` for each ``train``/``test`` folder (any case) directly under ``location``."""
    found = [(p.name.lower(), p) for p in sorted(Path(location).iterdir()) if p.is_dir()]
    return [(split, p) for split, p in found if split in SPLITS]


def _rows(location: Path, splits: list[tuple[str, Path]]) -> list[dict[str, Any]]:
    rows = []
    for split, folder in splits:
        for entry in sorted(folder.iterdir()):
            files = sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]
            klass = entry.name if entry.is_dir() else pd.NA
            for f in files:
                parsed = parse_name(f.name)
                rows.append({"path": f.relative_to(location).as_posix(), "source": parsed["video"],
                             "identity": parsed["video"], "crime_class": CLASS_ALIASES.get(klass, klass),
                             "class_folder": klass, "split": split, **parsed})
    return rows


def _grey_sd_one(args: tuple[Path, str]) -> float:
    root, rel = args
    try:
        return grey_sd(PixelRule(root=root).load({"path": rel}).pixels)
    except ImageError:  # changed on disk since inspection: leave it unmeasured
        return math.nan


def _mark_blank(table: pd.DataFrame, location: Path, workers: int | None, progress: bool | None) -> pd.DataFrame:
    ok = table.index[table["status"] == "ok"]
    sds = run_parallel(_grey_sd_one, [(location, p) for p in table.loc[ok, "path"]],
                       "measuring UCF-Crime grey levels", workers=workers, progress=progress)
    table["grey_sd"] = np.nan
    table.loc[ok, "grey_sd"] = sds
    blank = (table["status"] == "ok") & (table["grey_sd"] < BLANK_SD)
    table.loc[blank, "status"] = "skipped"
    table.loc[blank, "reason"] = [f"blank frame: grey-level SD {sd:.2f} < {BLANK_SD}"
                                  for sd in table.loc[blank, "grey_sd"]]
    return table


def _mark_two_places(table: pd.DataFrame) -> pd.DataFrame:
    """Skip every frame of a video found in two class folders or two splits (which one is right?)."""
    placed = table[table["video"].notna() & table["class_folder"].notna()]
    where = (placed["split"] + "/" + placed["class_folder"]).groupby(placed["video"]).unique()
    for video, places in where.items():
        if len(places) > 1:
            mark_skipped(table, (table["video"] == video).fillna(False).to_numpy(),
                         f"video in two places: {video} lies in {' and '.join(sorted(places))}")
    return table


def _reason_kinds(table: pd.DataFrame) -> pd.Series:
    skipped = table["status"] != "ok"
    return table["reason"].where(skipped, "").astype(str).str.split(":", n=1).str[0].str.strip()


def _empty_class_folders(location: Path) -> list[str]:
    """``split/class`` of each class folder that holds no file at all (such folders give no rows)."""
    folders = [p for _, split in split_folders(location) for p in sorted(split.iterdir()) if p.is_dir()]
    return [f"{p.parent.name}/{p.name}" for p in folders if not any(f.is_file() for f in p.rglob("*"))]


def _classes_in_one_split(location: Path, table: pd.DataFrame) -> dict[str, dict[str, tuple[int, int]]]:
    """``{split: {class: (videos, frames)}}`` for usable classes absent from the other split.

    Only when both split folders exist: with one, every class is in one split by construction.
    """
    if {s for s, _ in split_folders(location)} != set(SPLITS):
        return {s: {} for s in SPLITS}
    ok = table[table["status"] == "ok"]
    present = {s: set(ok.loc[ok["split"] == s, "crime_class"].dropna()) for s in SPLITS}
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for split, other in (("train", "test"), ("test", "train")):
        rows = ok[(ok["split"] == split) & ok["crime_class"].isin(present[split] - present[other])]
        out[split] = {str(c): (int(g["video"].nunique()), len(g)) for c, g in rows.groupby("crime_class")}
    return out


def layout_notes(location: Path, table: pd.DataFrame) -> dict[str, int]:
    """The counts for :attr:`Dataset.notes` (rows, folders or classes, see the module docstring)."""
    kinds = _reason_kinds(table).value_counts()
    notes = {key: int(kinds.get(kind, 0)) for kind, key in ROW_NOTES.items()}
    only = _classes_in_one_split(location, table)
    notes |= {"empty_class_folder": len(_empty_class_folders(location)),
              "class_only_in_train": len(only["train"]), "class_only_in_test": len(only["test"]),
              "alias_applied": int(table["class_folder"].isin(list(CLASS_ALIASES)).sum())}
    return notes


def _files(n: int, word: str = "file") -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def layout_problems(location: Path, table: pd.DataFrame) -> list[str]:
    """One sentence per problem of a loaded UCF-Crime folder, each naming the folder, class or file.

    ``location`` is the folder holding ``train/`` and ``test/`` and ``table`` the loaded table
    (``ds = load_dataset("ucfcrime"); layout_problems(ds.root, ds.table)``). Empty class folders hold
    no rows, so the folders themselves are looked at.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> noise = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    >>> for rel in ["train/Abuse/Abuse001_x264_0.png", "test/Abuse/Abuse002_x264_0.png",
    ...             "test/Shoplifting/Shoplifting005_x264_10.png", "test/Abuse/foo.png"]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     Image.fromarray(noise).save(root / rel)
    >>> (root / "train" / "Robbery").mkdir()
    >>> ds = load(root, workers=1, progress=False)
    >>> for sentence in layout_problems(ds.root, ds.table):
    ...     print(sentence)
    train/Robbery is an empty class folder
    class 'Shoplifting' is present only in test/ (1 video, 1 frame): a model trained on train/ never sees it
    1 file name does not parse (expected <Video>_x264_<frame>.png), e.g. test/Abuse/foo.png
    >>> tmp.cleanup()
    """
    location = Path(location)
    problems = [f"{folder.name}/ is empty: no class folders" for _, folder in split_folders(location)
                if not any(p.is_dir() for p in folder.iterdir())]
    have = {s for s, _ in split_folders(location)}
    problems += [f"there is no {s}/ folder: the dataset's own split is missing" for s in SPLITS if s not in have]
    problems += [f"{f} is an empty class folder" for f in _empty_class_folders(location)]
    only = _classes_in_one_split(location, table)
    for klass, (videos, frames) in only["test"].items():
        problems.append(f"class {klass!r} is present only in test/ ({_files(videos, 'video')}, "
                        f"{_files(frames, 'frame')}): a model trained on train/ never sees it")
    for klass, (videos, frames) in only["train"].items():
        problems.append(f"class {klass!r} is present only in train/ ({_files(videos, 'video')}, "
                        f"{_files(frames, 'frame')}): test/ never measures it")
    aliased = table.loc[table["class_folder"].isin(list(CLASS_ALIASES)), ["split", "class_folder"]].drop_duplicates()
    problems += [f"folder {s}/{c} is read as class {CLASS_ALIASES[c]!r} (CLASS_ALIASES)"
                 for s, c in aliased.itertuples(index=False)]
    return problems + _skip_sentences(table)


def _skip_sentences(table: pd.DataFrame) -> list[str]:
    kinds = _reason_kinds(table)
    out = []
    for kind, rows in table[kinds != ""].groupby(kinds[kinds != ""], sort=False):
        n, example = len(rows), rows["path"].iloc[0]
        if kind == "file name does not parse":
            out.append(f"{_files(n, 'file name')} {'does' if n == 1 else 'do'} not parse "
                       f"(expected <Video>_x264_<frame>.png), e.g. {example}")
        elif kind == "blank frame":
            out.append(f"{_files(n, 'blank frame')} skipped (grey-level SD < {BLANK_SD}), e.g. {example}")
        elif kind == "video in two places":
            out += [f"{reason.split(': ', 1)[1]}: its {_files(len(g), 'frame')} are skipped"
                    for reason, g in rows.groupby("reason")]
        else:
            out.append(f"{_files(n)} skipped ({kind}), e.g. {example}")
    return out


@register_dataset("ucfcrime", needs="root", subdir="ucfcrime", obtain=OBTAIN)
def load(location: Path, workers: int | None = None, progress: bool | None = None) -> Dataset:
    """Every file under ``location``'s ``train/`` and ``test/`` class folders, one row each.

    Examples
    --------
    A made-up copy: one noisy frame in each split, one blank frame, the test-side folder name.

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name)
    >>> noise = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    >>> for rel, px in [("train/Normal/Normal_Videos001_x264_0.png", noise),
    ...                 ("train/Normal/Normal_Videos001_x264_10.png", np.zeros_like(noise)),
    ...                 ("test/NormalVideos/Normal_Videos_003_x264_40.png", noise)]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     Image.fromarray(px).save(root / rel)
    >>> ds = load(root, workers=1, progress=False)
    >>> ds.table[["video", "frame", "crime_class", "split", "status"]].values.tolist()
    [['Normal_Videos_003', 40, 'Normal', 'test', 'ok'], ['Normal_Videos001', 0, 'Normal', 'train', 'ok'],
     ['Normal_Videos001', 10, 'Normal', 'train', 'skipped']]
    >>> ds.table["reason"][2], ds.notes["blank_frame"], ds.notes["alias_applied"]
    ('blank frame: grey-level SD 0.00 < 2.0', 1, 1)
    >>> tmp.cleanup()
    """
    location = Path(location)
    splits = split_folders(location)
    if not splits:
        raise DatasetError(f"no train/ or test/ folder under {location}: expected the Kaggle frame layout "
                           f"train/<Class>/<Video>_x264_<frame>.png and test/<Class>/... {OBTAIN}")
    table = new_table(_rows(location, splits), COLUMNS)
    if not table["path"].str.lower().str.endswith(IMAGE_SUFFIXES).any():
        raise DatasetError(f"no image files (.png, .jpg, .jpeg) in the class folders of "
                           f"{', '.join(str(p) for _, p in splits)}: expected <Class>/<Video>_x264_<frame>.png. "
                           f"{OBTAIN}")
    for col in ("source", "identity", "crime_class", "class_folder", "split", "video"):
        table[col] = table[col].astype("string")
    table["frame"] = table["frame"].astype("Int64")
    table = mark_skipped(table, table["class_folder"].isna(), NO_CLASS)
    table = mark_skipped(table, ~table["path"].str.lower().str.endswith(IMAGE_SUFFIXES), NOT_IMAGE)
    table = mark_skipped(table, table["video"].isna(), UNPARSED)
    table = inspect_files(table, location, workers=workers, progress=progress, desc="inspecting UCF-Crime frames")
    table = _mark_two_places(_mark_blank(table, location, workers, progress))
    return Dataset("ucfcrime", table, location, ["crime_class"], ["split", "video"],
                   notes=layout_notes(location, table), card=__doc__ or "")
