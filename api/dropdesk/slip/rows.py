"""Put OCR lines back into reading order: rows top to bottom, left to right within a row.

A photo is rarely level, and on a tilted slip a label and its value at the far end of the
same printed line differ in height by more than a line; so the boxes are first turned level
by their median slant.
"""

from __future__ import annotations

import math
import statistics
import unicodedata

from dropdesk.slip.models import OcrLine


def normalise(text: str) -> str:
    """Full-width to half-width (（）：￥ and digits), then no spaces; upper case for labels."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def _slant(line: OcrLine) -> float:
    (x0, y0), (x1, y1) = line.box[0], line.box[1]
    return math.atan2(y1 - y0, x1 - x0)


def _height(line: OcrLine) -> float:
    (x0, y0), (x3, y3) = line.box[0], line.box[3]
    return math.hypot(x3 - x0, y3 - y0)


def rows(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Group lines into printed rows, in reading order."""
    usable = [line for line in lines if len(line.box) == 4 and line.text.strip()]
    if not usable:
        return []
    # Only wide boxes tell the slant reliably; short ones ("06") are noisy.
    wide = [line for line in usable if _width(line) > 2 * _height(line)] or usable
    angle = statistics.median(_slant(line) for line in wide)
    cos, sin = math.cos(-angle), math.sin(-angle)

    def centre(line: OcrLine) -> tuple[float, float]:
        x = sum(p[0] for p in line.box) / 4
        y = sum(p[1] for p in line.box) / 4
        return x * cos - y * sin, x * sin + y * cos

    placed = sorted(((centre(line), line) for line in usable), key=lambda item: item[0][1])
    tolerance = 0.5 * statistics.median(_height(line) for line in usable)
    grouped: list[list[tuple[tuple[float, float], OcrLine]]] = []
    for item in placed:
        if grouped and abs(item[0][1] - grouped[-1][-1][0][1]) <= tolerance:
            grouped[-1].append(item)
        else:
            grouped.append([item])
    return [[line for _, line in sorted(row, key=lambda item: item[0][0])] for row in grouped]


def _width(line: OcrLine) -> float:
    (x0, y0), (x1, y1) = line.box[0], line.box[1]
    return math.hypot(x1 - x0, y1 - y0)


def row_texts(lines: list[OcrLine]) -> list[str]:
    """Each row's text, normalised, its lines joined without spaces."""
    return [normalise("".join(line.text for line in row)) for row in rows(lines)]
