"""Test helpers shared by the test modules (``from helpers import ...``; pyproject puts tests/ on the path).

Fixtures live in ``conftest.py``; plain functions here, so subfolders can import them.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image


def face_like(h: int = 48, w: int = 40, colour: bool = True) -> np.ndarray:
    """A smooth test pattern (not a face) with distinct quadrants, so orientation is visible."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * 255 // max(1, h - 1)).astype(np.uint8)
    if not colour:
        return base
    return np.stack([base, (xx * 255 // max(1, w - 1)).astype(np.uint8), np.full((h, w), 90, np.uint8)], axis=2)


def write_jpeg(path: Path, arr: np.ndarray | None = None, **kw) -> Path:
    Image.fromarray(face_like() if arr is None else arr).save(path, "JPEG", quality=90, **kw)
    return path


def make_bad_files(folder: Path) -> dict[str, Path]:
    """Every kind of bad or odd input the foundation issue lists, keyed by a short name."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    good = write_jpeg(folder / "good.jpg")
    files["good"] = good
    # cut a larger JPEG part-way through its scan data, as an interrupted download leaves it
    big = write_jpeg(folder / "big.jpg", np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    data = big.read_bytes()
    big.unlink()
    (folder / "truncated.jpg").write_bytes(data[: int(len(data) * 0.6)])
    files["truncated"] = folder / "truncated.jpg"
    (folder / "empty.jpg").write_bytes(b"")
    files["empty"] = folder / "empty.jpg"
    (folder / "text.jpg").write_text("this is not an image\n")
    files["text"] = folder / "text.jpg"
    Image.fromarray(face_like()).convert("CMYK").save(folder / "cmyk.jpg", "JPEG")
    files["cmyk"] = folder / "cmyk.jpg"
    a16 = np.zeros((10, 12), np.uint16)
    a16[:, :6] = 65535
    a16[:, 6:] = 32768
    Image.fromarray(a16).save(folder / "sixteen.png")  # PIL writes mode I;16 as a 16-bit PNG
    files["png16"] = folder / "sixteen.png"
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 5:, 3] = 255  # left half fully transparent
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    files["rgba"] = folder / "rgba.png"
    Image.fromarray(face_like()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(folder / "palette.gif")
    files["palette_gif"] = folder / "palette.gif"
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated_gif"] = folder / "animated.gif"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    write_jpeg(folder / "exif_rotated.jpg", face_like(30, 50), exif=exif.tobytes())
    files["exif"] = folder / "exif_rotated.jpg"
    files["bomb"] = write_bomb_png(folder / "bomb.png")
    return files


def write_bomb_png(path: Path) -> Path:
    """A real 1-bit PNG whose pixel count exceeds PIL's decompression-bomb limit (~1.3 MB on disk)."""
    side = int(np.sqrt(Image.MAX_IMAGE_PIXELS)) + 200
    buf = io.BytesIO()
    Image.new("1", (side, side), 0).save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return path


def is_png(path: Path) -> bool:
    """The file at ``path`` is a PNG that PIL can verify (a figure really was drawn)."""
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
        return im.format == "PNG"


def pdf_flat_text(pdf: Path) -> str:
    """A PDF's text on one line (whitespace collapsed, typographic apostrophes plain), by pdftotext or pypdf;
    skips the calling test when neither is installed."""
    import shutil
    import subprocess

    import pytest

    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    else:
        pypdf = pytest.importorskip("pypdf", reason="neither pdftotext nor pypdf installed: PDF text not checked")
        text = "\n".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    return " ".join(text.split()).replace("\u2019", "'")
