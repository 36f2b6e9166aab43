"""Decode any image file to uint8 pixels, recording every conversion, or fail with a reason.

Bad input never crashes a run and is never dropped silently: :func:`decode_file` either returns
pixels plus the list of conversions it applied (CMYK -> RGB, 16-bit -> 8-bit, alpha composited,
palette expanded, first frame of an animation, EXIF rotation), or raises :class:`ImageError`
naming the file and the reason, which callers count as a skip.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: EXIF tag 0x0112: the camera's orientation; 2..8 mean the stored pixels need flipping or rotating.
EXIF_ORIENTATION = 0x0112


class ImageError(Exception):
    """An image that cannot be used; ``reason`` is short and stable so skips can be counted by it."""

    def __init__(self, path: str | Path, reason: str, detail: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{self.path}: {reason}" + (f" ({detail})" if detail else ""))


@dataclass
class FileFacts:
    """What the original file was, before any conversion."""

    format: str
    mode: str
    width: int
    height: int
    bytes: int
    n_frames: int = 1
    sha256: str = ""


@dataclass
class Decoded:
    pixels: np.ndarray  # uint8, (H, W) for grey sources or (H, W, 3) for colour ones
    facts: FileFacts
    conversions: list[str] = field(default_factory=list)
    encoded: bytes | None = None  # the bytes the pixels were decoded from (file or re-encoding)


GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def read_file_bytes(path: Path) -> bytes:
    path = Path(path)
    try:
        exists, regular = path.exists(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        raise ImageError(path, "unusable path", str(exc)) from None
    if not exists:
        raise ImageError(path, "missing file", "listed but not found on disk")
    if not regular:
        raise ImageError(path, "not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageError(path, "unreadable file", str(exc)) from None
    if not data:
        raise ImageError(path, "empty file (0 bytes)")
    return data


def open_image(data: bytes, path: str | Path) -> Image.Image:
    """Open the header only; refuse non-images and images over PIL's decompression-bomb limit."""
    with warnings.catch_warnings():
        # PIL warns between 1x and 2x its pixel limit and raises above 2x; we refuse both the same way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            head = data[:8]
            raise ImageError(path, "not a recognised image format", f"file starts with {head!r}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(path, "over PIL's decompression-bomb limit", str(exc)) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(path, "corrupt image header", str(exc)) from None
    limit = Image.MAX_IMAGE_PIXELS
    if limit and img.width * img.height > limit:
        raise ImageError(
            path, "over PIL's decompression-bomb limit",
            f"{img.width}x{img.height} = {img.width * img.height:,} pixels > {limit:,}",
        )
    return img


def _to_uint8(img: Image.Image, conversions: list[str]) -> np.ndarray:
    """Pixels of a loaded single frame as uint8 grey (H, W) or RGB (H, W, 3)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img).astype(np.float64)
        top = 65535.0 if mode != "I" or a.max(initial=0) > 255 else 255.0
        if mode == "I" and a.max(initial=0) > 65535:
            top = float(a.max())
        conversions.append(f"{mode} ({'16' if top == 65535.0 else '32'}-bit) -> 8-bit grey (value*255/{top:g})")
        return np.clip(np.rint(a * 255.0 / top), 0, 255).astype(np.uint8)
    if mode == "F":
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
        conversions.append(f"float grey -> 8-bit (min-max {lo:g}..{hi:g})")
        scale = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return np.rint(np.nan_to_num(scale) * 255).astype(np.uint8)
    if mode == "1":
        conversions.append("1-bit -> 8-bit grey")
        return np.asarray(img.convert("L"))
    if mode == "L":
        return np.asarray(img)
    if mode == "P":
        has_alpha = "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        conversions.append("palette -> RGB" + (" (with transparency)" if has_alpha else ""))
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Composite on white, as image viewers show it. Dropping alpha instead would expose whatever
        # colour the transparent pixels happen to store, which differs by tool and so by source.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        out = Image.alpha_composite(white, rgba).convert("L" if mode in ("LA", "La") else "RGB")
        conversions.append(f"{mode} -> {out.mode} (alpha composited on white)")
        return np.asarray(out)
    if mode == "CMYK":
        conversions.append("CMYK -> RGB")
        return np.asarray(img.convert("RGB"))
    if mode != "RGB":
        conversions.append(f"{mode} -> RGB")
        img = img.convert("RGB")
    return np.asarray(img)


def decode_bytes(data: bytes, path: str | Path) -> Decoded:
    """Decode image bytes fully. Raises :class:`ImageError` on anything unusable."""
    img = open_image(data, path)
    facts = FileFacts(
        format=str(img.format or "unknown"),
        mode=str(img.mode),
        width=int(img.width),
        height=int(img.height),
        bytes=len(data),
        n_frames=int(getattr(img, "n_frames", 1) or 1),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    conversions: list[str] = []
    try:
        if facts.n_frames > 1:
            img.seek(0)
            conversions.append(f"animated ({facts.n_frames} frames): first frame used")
        img.load()
        orientation = img.getexif().get(EXIF_ORIENTATION, 1)
        if orientation in range(2, 9):
            img = ImageOps.exif_transpose(img)
            conversions.append(f"EXIF orientation {orientation} applied")
        pixels = _to_uint8(img, conversions)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = "truncated image data" if "truncated" in str(exc).lower() else "corrupt image data"
        raise ImageError(path, reason, str(exc)) from None
    if pixels.ndim == 3 and pixels.shape[2] == 4:  # defensive: never hand RGBA to the pipeline
        pixels = pixels[..., :3]
    return Decoded(pixels=np.ascontiguousarray(pixels), facts=facts, conversions=conversions, encoded=data)


def decode_file(path: str | Path) -> Decoded:
    """Decode one file from disk.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> p = Path(tempfile.mkdtemp()) / "x.png"
    >>> Image.new("RGBA", (4, 3), (255, 0, 0, 0)).save(p)
    >>> d = decode_file(p)
    >>> d.pixels.shape, d.facts.mode, d.conversions
    ((3, 4, 3), 'RGBA', ['RGBA -> RGB (alpha composited on white)'])
    """
    return decode_bytes(read_file_bytes(Path(path)), path)
