"""Slip reader accuracy and speed on 100 generated photos (slips, screens, SMS; mixed distortions).

Per field: exact matches over the photos that show the field, and false readings (a value
where the photo shows none, or a wrong one). Whole photo: every field exact. Time: OCR per
photo through SlipReader (one warmed worker, 2 onnxruntime threads), p50/p95.
With --tesseract, the same photos through Debian's tesseract (chi_sim) and the same extraction.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dropdesk.slip.fields import extract
from dropdesk.slip.models import OcrLine, SlipFields
from dropdesk.slip.reader import ReaderLimits, SlipReader
from tests.slips.generate import NOW, Expected, Generated, cjk_font_path, corpus

FIELDS = list(Expected.__dataclass_fields__)


def score(results: list[tuple[Generated, SlipFields]]) -> None:
    shown: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    whole = 0
    for photo, fields in results:
        ok = True
        for name in FIELDS:
            want, got = getattr(photo.expected, name), getattr(fields, name)
            shown[name] += want is not None
            exact[name] += want is not None and got == want
            if got is not None and got != want:
                wrong[name] += 1
            ok = ok and got == want
        whole += ok
    print(f"{'field':<15}{'shown':>7}{'exact':>8}{'accuracy':>10}{'wrong':>7}")
    for name in FIELDS:
        rate = exact[name] / shown[name] if shown[name] else float("nan")
        print(f"{name:<15}{shown[name]:>7}{exact[name]:>8}{rate:>10.1%}{wrong[name]:>7}")
    print(f"whole photo exact: {whole}/{len(results)} ({whole / len(results):.0%})")
    by_layout: Counter[str] = Counter(p.layout for p, _ in results)
    ok_layout: Counter[str] = Counter(
        p.layout for p, f in results if all(getattr(f, n) == getattr(p.expected, n) for n in FIELDS)
    )
    print(
        "by layout: " + ", ".join(f"{k} {ok_layout[k]}/{v}" for k, v in sorted(by_layout.items()))
    )


def times(label: str, seconds: list[float]) -> None:
    q = statistics.quantiles(seconds, n=20)
    print(f"{label} per photo: p50 {statistics.median(seconds):.2f} s, p95 {q[18]:.2f} s, "
          f"max {max(seconds):.2f} s")  # fmt: skip


def run_rapidocr(photos: list[Generated]) -> None:
    reader = SlipReader(limits=ReaderLimits(threads=2, timeout_seconds=60))
    reader.start()
    reader.read_blocking(photos[0].image, now=NOW)  # wait for the warm-up
    results, seconds = [], []
    for photo in photos:
        reading = reader.read_blocking(photo.image, now=NOW)
        results.append((photo, reading.fields))
        seconds.append(reading.seconds)
    reader.close()
    print("== rapidocr-onnxruntime (PP-OCRv4), SlipReader, 1 worker x 2 threads")
    score(results)
    times("OCR + extraction", seconds)


def run_tesseract(photos: list[Generated]) -> None:
    results, seconds = [], []
    for photo in photos:
        started = time.monotonic()
        tsv = subprocess.run(
            ["tesseract", "stdin", "stdout", "-l", "chi_sim+eng", "--psm", "6", "tsv"],
            input=photo.image, capture_output=True, check=True, timeout=120,
            env={"OMP_THREAD_LIMIT": "2"},
        ).stdout.decode()  # fmt: skip
        fields, _ = extract(_tesseract_lines(tsv), now=NOW)
        seconds.append(time.monotonic() - started)
        results.append((photo, fields))
    print("== tesseract 5 (Debian chi_sim+eng, --psm 6), same extraction")
    score(results)
    times("tesseract + extraction", seconds)


def _tesseract_lines(tsv: str) -> list[OcrLine]:
    # Words grouped by (block, paragraph, line) into one box per line.
    words: dict[tuple[str, str, str], list[list[str]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) == 12 and cols[0] == "5" and cols[11].strip():
            words.setdefault((cols[2], cols[3], cols[4]), []).append(cols)
    lines = []
    for group in words.values():
        x0 = min(int(c[6]) for c in group)
        y0 = min(int(c[7]) for c in group)
        x1 = max(int(c[6]) + int(c[8]) for c in group)
        y1 = max(int(c[7]) + int(c[9]) for c in group)
        box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        lines.append(OcrLine(box=box, text="".join(c[11] for c in group)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tesseract", action="store_true", help="compare with tesseract")
    args = parser.parse_args()
    if cjk_font_path() is None:
        sys.exit("no CJK font to draw slips: apt-get install fonts-wqy-microhei")
    photos = corpus(args.count, seed=args.seed)
    layouts = Counter(p.layout for p in photos)
    distortions = Counter(d for p in photos for d in p.distortions)
    print(f"{len(photos)} photos: {dict(layouts)}; distortions {dict(distortions)}")
    run_rapidocr(photos)
    if args.tesseract:
        run_tesseract(photos)


if __name__ == "__main__":
    main()
