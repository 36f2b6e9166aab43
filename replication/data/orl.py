"""Data card: ``orl`` — the AT&T (Olivetti Research Laboratory) Database of Faces.

What: 400 greyscale 92x112 PGM images of 40 subjects, 10 each, taken 1992-94 in a laboratory
against a dark homogeneous background, mostly frontal, with small pose and expression changes.
Layout: ``s<N>/<k>.pgm`` (N = 1..40, k = 1..10) anywhere under the data root's ``orl/``.
Citation: F. Samaria, A. Harter, Parameterisation of a stochastic model for human face
identification, 2nd IEEE Workshop on Applications of Computer Vision, 1994.
Terms: "When using these images, please give credit to Olivetti Research Laboratory."
Labels: none beyond ``identity`` (the subject folder ``s<N>``) and ``shot`` (k).
Quirks: greyscale laboratory capture: in a confounded design its images differ from web photos in
colour, lighting and background before any face is looked at. Some redistributions add other
folders (e.g. ``41``, private photos): only ``s<N>`` folders are read and the rest are counted
as ``ignored_files``.
"""

from __future__ import annotations

import re
from pathlib import Path

from artifactual.replication.data import register_dataset
from artifactual.replication.data.dataset import Dataset, DatasetError, inspect_files, mark_skipped, new_table

SOURCE = "orl"
SUBJECT_RE = re.compile(r"^s\d+$")
SHOT_RE = re.compile(r"^(\d+)\.pgm$", re.IGNORECASE)
IMAGE_SUFFIXES = (".pgm", ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff")
OBTAIN = "Get the AT&T/ORL faces (att_faces) from a mirror of the Cambridge archive and unpack them under DIR/orl/."


@register_dataset("orl", needs="root", subdir="orl", obtain=OBTAIN)
def load(location: Path, workers: int | None = None, progress: bool | None = None) -> Dataset:
    """Every file in ``s<N>`` folders under ``location``, with ``identity`` = ``s<N>`` and ``shot`` = k.

    Examples
    --------
    A made-up ORL folder: two subjects, one file off the naming scheme, one stray folder.

    >>> import tempfile
    >>> from PIL import Image
    >>> tmp = tempfile.TemporaryDirectory()
    >>> root = Path(tmp.name) / "orl" / "att_faces"
    >>> for rel in ["s1/1.pgm", "s1/2.pgm", "s2/1.pgm", "s2/extra.pgm", "41/1.pgm"]:
    ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
    ...     Image.new("L", (92, 112)).save(root / rel)
    >>> ds = load(root.parent, workers=1, progress=False)
    >>> ds.table[["path", "identity", "shot", "status"]].values.tolist()
    [['att_faces/s1/1.pgm', 's1', 1, 'ok'], ['att_faces/s1/2.pgm', 's1', 2, 'ok'],
     ['att_faces/s2/1.pgm', 's2', 1, 'ok'], ['att_faces/s2/extra.pgm', 's2', -1, 'skipped']]
    >>> ds.notes, (int(ds.table["width"][0]), int(ds.table["height"][0]))
    ({'ignored_files': 1}, (92, 112))
    >>> tmp.cleanup()
    """
    location = Path(location)
    rows, ignored = [], 0
    for f in sorted(p for p in location.rglob("*") if p.is_file()):
        if SUBJECT_RE.match(f.parent.name):
            m = SHOT_RE.match(f.name)
            rows.append({"path": str(f.relative_to(location)), "source": SOURCE, "identity": f.parent.name,
                         "shot": int(m.group(1)) if m else -1, "standard": bool(m)})
        elif f.suffix.lower() in IMAGE_SUFFIXES:
            ignored += 1  # images outside s<N> folders are not part of ORL
    if not rows:
        raise DatasetError(f"no ORL images (s<N>/<k>.pgm) under {location}. {OBTAIN}")
    table = new_table(rows, ["path", "source", "identity", "shot", "standard"])
    table = mark_skipped(table, ~table["standard"], "file name does not follow s<N>/<k>.pgm")
    table = table.drop(columns=["standard"])
    table = inspect_files(table, location, workers=workers, progress=progress, desc="inspecting ORL")
    return Dataset("orl", table, location, [], ["shot"], notes={"ignored_files": ignored}, card=__doc__ or "")
