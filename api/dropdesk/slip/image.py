"""Open a photo for OCR with Pillow: refuse what is not a sane image before decoding it.

check() reads only the header (cheap, safe on the request path); decode() decodes, and runs
in the OCR worker, under its memory limit, at a reduced scale where the format allows.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

FORMATS = frozenset({"JPEG", "PNG", "WEBP"})


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000  # a 48 MP phone photo; more is not a photo of a slip
    max_side: int = 16_384
    # OCR works on this longest side at most: slip text is still ~30 px high there.
    ocr_side: int = 1600


class ImageRefusedError(ValueError):
    """Not an image to read: wrong type, corrupt, or too large (the reason is the message)."""


def check(data: bytes, limits: ImageLimits) -> tuple[int, int]:
    """Return (width, height) from the header; refuse wrong types and absurd sizes."""
    if not data:
        raise ImageRefusedError("empty")
    if len(data) > limits.max_bytes:
        raise ImageRefusedError("too many bytes")
    with _open(data, limits) as image:
        return image.size


def decode(data: bytes, limits: ImageLimits) -> NDArray[np.uint8]:
    """Decode to a BGR array (OpenCV's order) no larger than ocr_side on its longest side."""
    with _open(data, limits) as image:
        # JPEG decodes straight to 1/2, 1/4 or 1/8 scale: a 48 MP photo never exists in full.
        image.draft("RGB", (limits.ocr_side, limits.ocr_side))
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
            raise ImageRefusedError(f"corrupt: {exc}") from exc
        upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((limits.ocr_side, limits.ocr_side), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(upright)[:, :, ::-1])


def _open(data: bytes, limits: ImageLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns between 1x and 2x its limit: refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefusedError("too many pixels") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageRefusedError(f"not an image: {exc}") from exc
    width, height = image.size
    if not (0 < width <= limits.max_side and 0 < height <= limits.max_side):
        image.close()
        raise ImageRefusedError("too large")
    if width * height > limits.max_pixels:
        image.close()
        raise ImageRefusedError("too many pixels")
    return image
