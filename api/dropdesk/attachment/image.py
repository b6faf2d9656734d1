"""Recognise JPEG, PNG and WebP by their bytes and read their pixel size cheaply."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAX_SIDE = 16_384
MAX_PIXELS = 60_000_000


class ImageRejectedError(ValueError):
    """The bytes are not an image we accept (wrong type, corrupt or absurd size)."""


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int


def inspect(data: bytes) -> ImageInfo:
    """Identify an image by its magic bytes; raise ImageRejectedError for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        info = ImageInfo("image/png", "png", *_png_size(data))
    elif data.startswith(b"\xff\xd8\xff"):
        info = ImageInfo("image/jpeg", "jpg", *_jpeg_size(data))
    elif len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        info = ImageInfo("image/webp", "webp", *_webp_size(data))
    else:
        raise ImageRejectedError("type")
    if not (0 < info.width <= MAX_SIDE and 0 < info.height <= MAX_SIDE):
        raise ImageRejectedError("dimensions")
    if info.width * info.height > MAX_PIXELS:
        raise ImageRejectedError("dimensions")
    return info


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRejectedError("corrupt")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    # Walk the marker segments up to the first start-of-frame, which holds the size.
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        if length < 2:
            break
        pos += 2 + length
    raise ImageRejectedError("corrupt")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    raise ImageRejectedError("corrupt")
