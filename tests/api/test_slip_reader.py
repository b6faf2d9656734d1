"""The slip reader on generated photos: fields per layout, nothing readable, hostile files.

One reader (one warmed OCR worker) serves the whole module; each photo takes a second or two
on 2 cores, so the photos are few and small.
"""

from __future__ import annotations

import asyncio
import io
import random
import struct
import time
import zlib
from collections.abc import Iterator

import pytest
from PIL import Image

from dropdesk.slip import messages
from dropdesk.slip.models import PhotoKind, ReadStatus, SlipFields, SlipReading
from dropdesk.slip.reader import ReaderLimits, SlipReader
from tests.slips.generate import NOW, Expected, cjk_font_path, generate

pytestmark = pytest.mark.skipif(
    cjk_font_path() is None, reason="no CJK font to draw slips: apt-get install fonts-wqy-microhei"
)


@pytest.fixture(scope="module")
def reader() -> Iterator[SlipReader]:
    slip_reader = SlipReader(limits=ReaderLimits(threads=2, timeout_seconds=30))
    slip_reader.start()
    yield slip_reader
    slip_reader.close()


def read(reader: SlipReader, data: bytes, **kwargs: float) -> SlipReading:
    return asyncio.run(reader.read(data, now=NOW, **kwargs))


def assert_fields(fields: SlipFields, expected: Expected) -> None:
    got = {name: getattr(fields, name) for name in expected.__dataclass_fields__}
    assert got == vars(expected)


@pytest.mark.parametrize(
    ("seed", "layout", "distortions", "kind"),
    [
        (11, "slip", (), PhotoKind.SLIP),
        (12, "slip", ("thermal", "rotate", "blur", "jpeg"), PhotoKind.SLIP),
        (13, "slip", ("perspective", "jpeg"), PhotoKind.SLIP),
        (14, "screen", ("rotate", "jpeg"), PhotoKind.SCREEN),
        (15, "sms", ("perspective", "jpeg"), PhotoKind.SMS),
    ],
)
def test_reads_every_field_the_photo_shows(
    reader: SlipReader, seed: int, layout: str, distortions: tuple[str, ...], kind: PhotoKind
) -> None:
    photo = generate(seed, layout, distortions)
    reading = read(reader, photo.image)
    assert reading.status == ReadStatus.READ
    assert reading.kind == kind
    assert_fields(reading.fields, photo.expected)
    assert reading.message.startswith("我从照片上看到：") and reading.message.endswith("对吗？")


def test_merchant_and_cardholder_copies_both_read(reader: SlipReader) -> None:
    photos = [generate(seed, "slip", ("jpeg",)) for seed in range(21, 40)]
    for copy in ("商户存根", "持卡人存根"):
        photo = next(p for p in photos if p.copy == copy)
        assert_fields(read(reader, photo.image).fields, photo.expected)


def test_a_full_card_number_on_the_photo_is_never_kept(reader: SlipReader) -> None:
    photo = generate(31, "slip", (), full_card=True)
    assert photo.full_card_no is not None
    reading = read(reader, photo.image)
    assert reading.fields.card_last4 == photo.full_card_no[-4:]
    dumped = reading.model_dump_json()
    assert photo.full_card_no not in dumped
    assert photo.full_card_no[:6] + "******" + photo.full_card_no[-4:] in "".join(reading.lines)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_blank_photo_asks_for_the_details(reader: SlipReader) -> None:
    reading = read(reader, _png(Image.new("RGB", (800, 1000), (250, 250, 248))))
    assert reading.status == ReadStatus.NOTHING_READ
    assert reading.fields.is_empty()
    assert reading.message == messages.NOTHING_READ
    assert "请直接打字告诉我" in reading.message


def test_a_photo_of_noise_asks_for_the_details(reader: SlipReader) -> None:
    rng = random.Random(5)
    noise = Image.frombytes("L", (640, 640), bytes(rng.getrandbits(8) for _ in range(640 * 640)))
    reading = read(reader, _png(noise))
    assert reading.status == ReadStatus.NOTHING_READ
    assert reading.message == messages.NOTHING_READ


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_bomb(side: int) -> bytes:
    """A real 1-bit PNG of side x side white pixels: a few KB that decode to gigabytes."""
    row = b"\x00" + b"\xff" * (side // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))  # fmt: skip


def _jpeg_header(width: int, height: int) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\x00" * 64


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_png_bomb(24_000), id="decompression-bomb-png"),
        pytest.param(_jpeg_header(20_000, 20_000), id="20000x20000-header"),
        pytest.param(b"%PDF-1.7 not a photo", id="not-an-image"),
        pytest.param(b"", id="empty"),
    ],
)
def test_hostile_files_are_refused_at_once(reader: SlipReader, data: bytes) -> None:
    started = time.monotonic()
    reading = read(reader, data)
    assert time.monotonic() - started < 1.0
    assert reading.status == ReadStatus.REJECTED
    assert reading.message == messages.REJECTED


def test_a_truncated_jpeg_is_refused_quickly(reader: SlipReader) -> None:
    whole = generate(41, "slip", ("jpeg",)).image
    started = time.monotonic()
    reading = read(reader, whole[: len(whole) // 2])
    assert time.monotonic() - started < 5.0
    assert reading.status == ReadStatus.REJECTED
    assert reading.fields.is_empty()


def test_ocr_over_the_timeout_gives_up_and_the_next_photo_is_read(reader: SlipReader) -> None:
    photo = generate(51, "screen", ())
    started = time.monotonic()
    slow = read(reader, photo.image, timeout_seconds=0.05)
    assert time.monotonic() - started < 2.0
    assert slow.status == ReadStatus.TIMEOUT
    assert slow.message == messages.TIMEOUT
    # The stuck worker was killed; its replacement warms up and reads the next photo.
    assert read(reader, photo.image).status == ReadStatus.READ


def test_the_event_loop_keeps_running_while_a_photo_is_read(reader: SlipReader) -> None:
    photo = generate(61, "sms", ())

    async def scenario() -> tuple[SlipReading, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        reading = await reader.read(photo.image, now=NOW)
        ticker.cancel()
        return reading, ticks

    reading, ticks = asyncio.run(scenario())
    assert reading.status == ReadStatus.READ
    assert ticks >= reading.seconds / 0.01 * 0.5


def test_a_worker_that_cannot_start_fails_plainly() -> None:
    # 256 MiB of address space is too little to load the engine: the worker dies starting.
    starved = SlipReader(limits=ReaderLimits(memory_bytes=256 * 1024**2, start_seconds=30))
    try:
        reading = starved.read_blocking(generate(71, "sms", ()).image, now=NOW)
    finally:
        starved.close()
    assert reading.status == ReadStatus.FAILED
    assert reading.message == messages.FAILED
