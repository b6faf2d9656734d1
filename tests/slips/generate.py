"""Photos of POS slips, terminal result screens and bank SMS, with the fields they show.

Used by the slip reader's tests and by bench/slip_bench.py. It needs only Pillow and a CJK
font (Debian's fonts-wqy-microhei); it does not import the service, so the expected fields are
the generator's own and never the reader's. The same seed always gives the same picture.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import random
import subprocess
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
# "Now" for every generated picture: an SMS shows no year, so the reader needs the same now.
NOW = dt.datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)
LAYOUTS = ("slip", "screen", "sms")
DISTORTIONS = ("thermal", "rotate", "blur", "jpeg", "perspective")

BANKS = ("招商银行", "工商银行", "建设银行", "农业银行", "中国银行", "交通银行", "浦发银行")
MERCHANT_NAMES = ("老王便利店", "小李面馆", "好又多超市", "阳光水果行", "东方药房", "川味小厨")
# Terminal failures worth showing: code, what the screen says.
FAILURES = (
    ("51", "余额不足"),
    ("55", "密码错误"),
    ("05", "不予承兑"),
    ("54", "卡片已过期"),
    ("61", "超出金额限制"),
    ("98", "交易超时"),
    ("96", "系统故障"),
    ("91", "发卡行无法连接"),
)


@dataclass(frozen=True)
class Expected:
    """What a picture shows, named like the reader's SlipFields; None where it shows nothing."""

    merchant_no: str | None = None
    terminal_no: str | None = None
    reference_no: str | None = None
    trace_no: str | None = None
    batch_no: str | None = None
    amount: Decimal | None = None
    txn_time: dt.datetime | None = None
    card_last4: str | None = None
    response_code: str | None = None
    response_text: str | None = None


@dataclass(frozen=True)
class Generated:
    layout: str
    image: bytes
    expected: Expected
    # The full card number drawn on the picture (only when a test asks for it), to prove it
    # never comes back out of the reader.
    full_card_no: str | None = None
    copy: str | None = None  # a slip's 商户存根 or 持卡人存根
    distortions: tuple[str, ...] = field(default_factory=tuple)


@functools.cache
def cjk_font_path() -> Path | None:
    """The installed Chinese font (fc-list :lang=zh), or None when there is none."""
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    preferred = [f for f in files if "microhei" in f.lower()]
    chosen = (preferred or files or [None])[0]
    return Path(chosen) if chosen else None


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = cjk_font_path()
    if path is None:
        raise RuntimeError("no CJK font: apt-get install fonts-wqy-microhei")
    return ImageFont.truetype(str(path), size)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _card_no(rng: random.Random) -> str:
    body = rng.choice(("622588", "621700", "622202", "625807", "436742")) + _digits(rng, 9)
    return body + _luhn_digit(body)


def _amount(rng: random.Random) -> Decimal:
    cents = rng.choice((rng.randint(100, 9_999), rng.randint(1_000, 99_999),
                        rng.randint(10_000, 999_999)))  # fmt: skip
    if rng.random() < 0.4:
        cents -= cents % 100
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def _time(rng: random.Random, *, seconds: bool = True) -> dt.datetime:
    moment = NOW - dt.timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1439))
    return moment.replace(second=rng.randint(0, 59) if seconds else 0, microsecond=0)


# --- drawing -----------------------------------------------------------------------------


Line = tuple[str, int, str]  # text, font size, "left" | "center"


def _draw_lines(lines: list[Line], *, width: int, ink: int, paper: int, gap: int) -> Image.Image:
    margin = 24
    height = margin * 2 + sum(size + gap for _, size, _ in lines)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    y = margin
    for text, size, align in lines:
        font = _font(size)
        x = margin
        if align == "center":
            x = max(margin, (width - int(draw.textlength(text, font=font))) // 2)
        draw.text((x, y), text, fill=ink, font=font)
        y += size + gap
    return image


def _labelled(label_zh: str, label_en: str, value: str, rng: random.Random, size: int,
              english: bool, split: bool) -> list[Line]:  # fmt: skip
    label = f"{label_zh}({label_en})" if english else label_zh
    if split:
        return [(f"{label}:", size, "left"), (value, size + 2, "left")]
    return [(f"{label}:{value}" if rng.random() < 0.5 else f"{label}: {value}", size, "left")]


def render_slip(
    rng: random.Random, *, full_card: bool = False, given: Expected | None = None
) -> tuple[Image.Image, Expected, str, str]:
    """A UnionPay 签购单 (merchant or cardholder copy); returns the picture, fields, card no.

    ``given``: the fields to show instead of random ones (None fields stay random).
    """
    card = _card_no(rng)
    amount, when = _amount(rng), _time(rng)
    expected = Expected(
        merchant_no="8" + _digits(rng, 14),
        terminal_no=_digits(rng, 8),
        reference_no=_digits(rng, 12),
        trace_no=_digits(rng, 6),
        batch_no=_digits(rng, 6),
        amount=amount,
        txn_time=when,
        card_last4=card[-4:],
    )
    if given is not None:
        chosen = {k: v for k, v in dataclasses.asdict(given).items() if v is not None}
        expected = dataclasses.replace(expected, **chosen)
        card = card[:-4] + (expected.card_last4 or card[-4:])
        amount, when = expected.amount or amount, expected.txn_time or when
    shown_card = card if full_card else f"{card[:6]}******{card[-4:]}"
    copy = rng.choice((("商户存根", "MERCHANT COPY"), ("持卡人存根", "CARDHOLDER COPY")))
    english = rng.random() < 0.6
    size = rng.choice((20, 22, 24))
    rule = "-" * 40

    def pair(zh: str, en: str, value: str, split: bool | None = None) -> list[Line]:
        return _labelled(zh, en, value, rng, size, english,
                         rng.random() < 0.35 if split is None else split)  # fmt: skip

    amount_text = rng.choice(("RMB ", "RMB", "￥")) + f"{amount:.2f}"
    lines: list[Line] = [
        ("银联POS签购单", size + 8, "center"),
        (f"{copy[0]}  {copy[1]}" if english else copy[0], size, "center"),
        (rule, size, "left"),
        *pair("商户名称", "MERCHANT NAME", rng.choice(MERCHANT_NAMES)),
        *pair("商户编号", "MERCHANT NO.", expected.merchant_no or "", split=english),
        *pair("终端编号", "TERMINAL NO.", expected.terminal_no or ""),
        *pair("操作员号", "OPERATOR NO.", f"{rng.randint(1, 9):02d}"),
        (rule, size, "left"),
        *pair("卡号", "CARD NO.", f"{shown_card} {rng.choice('SICS')}".strip(), split=english),
        *pair("发卡行", "ISSUER", rng.choice(BANKS)),
        *pair("交易类型", "TRANS TYPE", "消费/SALE" if english else "消费"),
        *pair("批次号", "BATCH NO.", expected.batch_no or ""),
        *pair("凭证号", "VOUCHER NO.", expected.trace_no or ""),
        *pair("授权码", "AUTH NO.", _digits(rng, 6)),
        *pair("参考号", "REFER NO.", expected.reference_no or ""),
        *pair(
            "日期/时间",
            "DATE/TIME",
            when.strftime(rng.choice(("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"))),
        ),
        *pair("金额", "AMOUNT", amount_text, split=english or None),
        (rule, size, "left"),
        ("备注(REFERENCE):" if english else "备注:", size, "left"),
        ("持卡人签名(CARDHOLDER SIGNATURE):" if english else "持卡人签名:", size, "left"),
        ("", size, "left"),
        ("本人确认以上交易,同意将其记入本卡账户", size - 4, "left"),
        (f"{copy[0]} {copy[1]}" if english else copy[0], size, "center"),
    ]
    paper = rng.randint(236, 252)
    image = _draw_lines(lines, width=rng.choice((576, 600, 640)), ink=rng.randint(20, 70),
                        paper=paper, gap=rng.randint(8, 14))  # fmt: skip
    return image, expected, card, copy[0]


def render_screen(rng: random.Random) -> tuple[Image.Image, Expected]:
    """A POS terminal's result screen after a failed sale (交易失败 and its response code)."""
    code, text = rng.choice(FAILURES)
    amount, when = _amount(rng), _time(rng)
    trace, ref = _digits(rng, 6), _digits(rng, 12)
    show_ref = rng.random() < 0.5
    expected = Expected(
        reference_no=ref if show_ref else None,
        trace_no=trace,
        amount=amount,
        txn_time=when,
        response_code=code,
        response_text="交易失败",
    )
    size = 30
    lines: list[Line] = [
        ("消费", size, "center"),
        ("交易失败", size + 12, "center"),
        (rng.choice((f"响应码:{code}", f"应答码:{code}", f"错误码:{code}")), size, "center"),
        (text, size, "center"),
        (f"金额:{amount:.2f}", size, "left"),
        (f"凭证号:{trace}", size, "left"),
    ]
    if show_ref:
        lines.append((f"参考号:{ref}", size, "left"))
    lines += [
        (when.strftime("%Y-%m-%d %H:%M:%S"), size, "left"),
        ("请按确认键返回", size - 4, "center"),
    ]
    bright = rng.random() < 0.5
    image = _draw_lines(lines, width=480, ink=20 if bright else 235, paper=220 if bright else 40,
                        gap=14)  # fmt: skip
    # The screen sits in the terminal's dark bezel.
    framed = Image.new("L", (image.width + 80, image.height + 120), 25)
    framed.paste(image, (40, 50))
    return framed, expected


def render_sms(rng: random.Random) -> tuple[Image.Image, Expected]:
    """A screenshot of the cardholder's bank SMS about the debit."""
    bank, last4 = rng.choice(BANKS), _digits(rng, 4)
    amount, when = _amount(rng), _time(rng, seconds=False)
    money = f"{amount:,.2f}"
    day = rng.choice((f"{when.month:02d}月{when.day:02d}日", f"{when.month}月{when.day}日"))
    clock = rng.choice((f"{when:%H:%M}", f"{when.hour:02d}时{when.minute:02d}分"))
    balance = f"{_amount(rng) * 7:,.2f}"
    body = rng.choice((
        f"【{bank}】您尾号{last4}的卡于{day}{clock}消费人民币{money}元，余额{balance}元。",
        f"【{bank}】您账户{last4}于{day}{clock}在{rng.choice(MERCHANT_NAMES)}消费支出人民币"
        f"{money}元，可用余额{balance}元。",
        f"【{bank}】您尾号为{last4}的储蓄卡{day}{clock}POS消费{money}元，活期余额{balance}元。",
    ))  # fmt: skip
    per_line = rng.choice((14, 15, 16))
    size = 28
    lines: list[Line] = [(f"{when.month}月{when.day}日 {when:%H:%M}", 22, "center")]
    lines += [(body[i : i + per_line], size, "left") for i in range(0, len(body), per_line)]
    image = _draw_lines(lines, width=size * per_line + 60, ink=15, paper=232, gap=12)
    expected = Expected(amount=amount, txn_time=when, card_last4=last4)
    phone = Image.new("L", (image.width + 60, image.height + 200), 250)
    phone.paste(image, (30, 120))
    ImageDraw.Draw(phone).text((30, 40), "95555" if "招商" in bank else "95588", fill=30,
                               font=_font(30))  # fmt: skip
    return phone, expected


# --- distortions ---------------------------------------------------------------------------


def _thermal(image: Image.Image, rng: random.Random) -> Image.Image:
    # Thermal print: dotty strokes, faded bands across the paper.
    w, h = image.size
    dots = image.resize((w // 2, h // 2), Image.Resampling.BILINEAR)
    image = dots.resize((w, h), Image.Resampling.NEAREST)
    fade = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(fade)
    for _ in range(rng.randint(1, 3)):
        y = rng.randint(0, h)
        draw.rectangle((0, y, w, y + rng.randint(20, 80)), fill=rng.randint(30, 70))
    return Image.composite(Image.new("L", (w, h), 245), image, fade)


def _on_table(image: Image.Image, rng: random.Random, pad: int = 60) -> Image.Image:
    table = Image.new("L", (image.width + 2 * pad, image.height + 2 * pad), rng.randint(60, 140))
    table.paste(image, (pad, pad))
    return table


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]],
                        ) -> tuple[float, ...]:  # fmt: skip
    # Solve the 8 PIL perspective coefficients mapping output points (dst) to input (src).
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    n = 8
    a = [[*row, b] for row, b in zip(rows, rhs, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return tuple(a[i][n] / a[i][i] for i in range(n))


def _perspective(image: Image.Image, rng: random.Random) -> Image.Image:
    w, h = image.size
    j = 0.06
    dst = [(rng.uniform(0, j) * w, rng.uniform(0, j) * h),
           (w - rng.uniform(0, j) * w, rng.uniform(0, j) * h),
           (w - rng.uniform(0, j) * w, h - rng.uniform(0, j) * h),
           (rng.uniform(0, j) * w, h - rng.uniform(0, j) * h)]  # fmt: skip
    src = [(0.0, 0.0), (float(w), 0.0), (float(w), float(h)), (0.0, float(h))]
    coeffs = _perspective_coeffs(src, dst)
    return image.transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                           Image.Resampling.BICUBIC, fillcolor=90)  # fmt: skip


def distort(image: Image.Image, rng: random.Random, kinds: tuple[str, ...]) -> bytes:
    """Apply the named distortions in a fixed order; return JPEG (or PNG when no 'jpeg')."""
    if "thermal" in kinds:
        image = _thermal(image, rng)
    image = _on_table(image, rng)
    if "perspective" in kinds:
        image = _perspective(image, rng)
    if "rotate" in kinds:
        angle = rng.uniform(2, 5) * rng.choice((-1, 1))
        image = image.rotate(angle, Image.Resampling.BICUBIC, expand=True, fillcolor=90)
    if "blur" in kinds:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    out = io.BytesIO()
    if "jpeg" in kinds:
        image.convert("RGB").save(out, "JPEG", quality=rng.randint(30, 60))
    else:
        image.save(out, "PNG")
    return out.getvalue()


def generate(seed: int, layout: str | None = None, distortions: tuple[str, ...] | None = None,
             *, full_card: bool = False) -> Generated:  # fmt: skip
    """One picture: layout and distortions drawn from the seed unless given."""
    rng = random.Random(seed)
    layout = layout or rng.choices(LAYOUTS, weights=(6, 2, 2))[0]
    if distortions is None:
        distortions = tuple(k for k in DISTORTIONS if rng.random() < 0.4)
    card: str | None = None
    copy: str | None = None
    if layout == "slip":
        image, expected, card, copy = render_slip(rng, full_card=full_card)
        if "thermal" not in distortions and rng.random() < 0.5:
            distortions = ("thermal", *distortions)
    elif layout == "screen":
        image, expected = render_screen(rng)
    else:
        image, expected = render_sms(rng)
    data = distort(image, rng, distortions)
    return Generated(layout=layout, image=data, expected=expected,
                     full_card_no=card if full_card else None, copy=copy,
                     distortions=distortions)  # fmt: skip


def slip_showing(seed: int, given: Expected, distortions: tuple[str, ...] = ()) -> Generated:
    """A slip showing the given fields (a real transaction's, say); the rest drawn from the seed."""
    rng = random.Random(seed)
    image, expected, _, copy = render_slip(rng, given=given)
    data = distort(image, rng, distortions)
    return Generated(layout="slip", image=data, expected=expected, copy=copy,
                     distortions=distortions)  # fmt: skip


def corpus(count: int, seed: int = 2026) -> list[Generated]:
    """count pictures of mixed layouts and distortions, the same for the same seed."""
    return [generate(seed * 1000 + i) for i in range(count)]
