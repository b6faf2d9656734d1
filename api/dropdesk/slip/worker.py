"""The OCR worker process: limits its own memory, loads the engine once, then reads photos.

Protocol on its pipe: it sends ("ready", None) once warm (or ("failed", reason) and exits);
then for each photo's bytes it receives, it answers ("ok", lines), ("rejected", reason) or
("failed", reason). A line is (box corners, text, score) in plain Python types.
"""

from __future__ import annotations

import resource
from multiprocessing.connection import Connection
from typing import Any

from dropdesk.slip.image import ImageLimits, ImageRefusedError, decode

RawLine = tuple[list[tuple[float, float]], str, float]


def serve(conn: Connection, limits: ImageLimits, memory_bytes: int, threads: int) -> None:
    """Run in the child: answer photos on conn until the parent closes it."""
    try:
        # Address space, so a decoder or the engine hitting it raises MemoryError, not the
        # kernel's OOM killer taking the whole service.
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        engine = _load(threads)
    except Exception as exc:  # the parent replaces a worker that never got ready
        conn.send(("failed", f"start: {exc!r}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", recognise(engine, data, limits)))
        except ImageRefusedError as exc:
            conn.send(("rejected", str(exc)))
        except MemoryError:
            conn.send(("failed", "memory limit"))
            return  # a fresh process rather than one whose heap is in an unknown state
        except Exception as exc:
            conn.send(("failed", repr(exc)))


def _load(threads: int) -> Any:
    import cv2
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    cv2.setNumThreads(threads)
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
    _warm(engine)
    return engine


def _warm(engine: Any) -> None:
    # The first inference is several times slower (graph optimisation, allocations).
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 64), "white")
    ImageDraw.Draw(image).text((10, 20), "2026-12-05 10:00 RMB 268.00", fill="black")
    engine(image_to_array(image))


def image_to_array(image: Any) -> Any:
    import numpy as np

    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def recognise(engine: Any, data: bytes, limits: ImageLimits) -> list[RawLine]:
    """Decode one photo and return its text lines."""
    result, _ = engine(decode(data, limits))
    lines: list[RawLine] = []
    for box, text, score in result or []:
        corners = [(float(x), float(y)) for x, y in box]
        lines.append((corners, str(text), float(score)))
    return lines
