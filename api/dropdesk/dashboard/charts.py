"""Server-rendered SVG charts: bars, stacked bars and a line; every mark a link with its number.

Colours come from dashboard.css classes (the console's CSP allows no inline style); each chart
scales with its container through its viewBox.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the number as shown
    href: str


@dataclass(frozen=True)
class Stack:
    label: str
    parts: tuple[tuple[str, int, str], ...]  # (series, value, href)
    total_href: str


def _svg(kind: str, width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def hbars(title: str, bars: list[Bar], *, width: int = 520, row: int = 26) -> Markup:
    """One horizontal bar per item, its label on the left and its number on the right."""
    label_w, number_w = 150, 110
    room = width - label_w - number_w
    top = max((b.value for b in bars), default=0) or 1
    body = []
    for i, bar in enumerate(bars):
        y = i * row
        length = max(1.0, room * bar.value / top) if bar.value else 0
        body.append(
            f'<a href="{escape(bar.href)}" class="mark" data-label="{escape(bar.label)}">'
            f'<text x="{label_w - 8}" y="{y + row * 0.62:.1f}" class="axis" text-anchor="end">'
            f"{escape(bar.label)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'class="s0"><title>{escape(bar.label)}：{escape(bar.text)}</title></rect>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + row * 0.62:.1f}" class="num">'
            f"{escape(bar.text)}</text></a>"
        )
    return _svg("hbars", width, max(row, row * len(bars)), title, body)


def stacked(title: str, stacks: list[Stack], series: list[tuple[str, str]], *,
            width: int = 720, height: int = 220) -> Markup:  # fmt: skip
    """Vertical bars stacked by series (name, label), the total above each bar."""
    left, bottom, top_pad = 8, 34, 18
    plot_h = height - bottom - top_pad
    step = (width - left) / max(1, len(stacks))
    bar_w = max(4.0, step * 0.7)
    top = max((sum(p[1] for p in s.parts) for s in stacks), default=0) or 1
    every = max(1, round(len(stacks) / 12))  # x labels that fit a phone
    body = []
    for i, stack in enumerate(stacks):
        x = left + i * step + (step - bar_w) / 2
        y: float = top_pad + plot_h
        total = 0
        for series_name, value, href in stack.parts:
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            total += value
            index = [s for s, _ in series].index(series_name)
            name = dict(series)[series_name]
            body.append(
                f'<a href="{escape(href)}" class="mark"><rect x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" class="s{index}">'
                f"<title>{escape(stack.label)} {escape(name)}：{value}</title></rect></a>"
            )
        if total:
            body.append(
                f'<a href="{escape(stack.total_href)}" class="mark total" '
                f'data-label="{escape(stack.label)}"><text x="{x + bar_w / 2:.1f}" '
                f'y="{y - 4:.1f}" class="num" text-anchor="middle">{total}</text></a>'
            )
        if i % every == 0:
            body.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" class="axis" '
                f'text-anchor="middle">{escape(stack.label)}</text>'
            )
    body.append(f'<line x1="{left}" x2="{width}" y1="{top_pad + plot_h}" '
                f'y2="{top_pad + plot_h}" class="base"/>')  # fmt: skip
    return _svg("stacked", width, height, title, body)


def line(title: str, points: list[Bar], *, width: int = 720, height: int = 200) -> Markup:
    """A percentage per day (None: nothing ended that day), 0-100 on the y axis."""
    left, bottom, top_pad = 8, 34, 20
    plot_h = height - bottom - top_pad
    step = (width - left) / max(1, len(points))
    every = max(1, round(len(points) / 12))
    body, path = [], []
    for i, point in enumerate(points):
        x = left + i * step + step / 2
        if i % every == 0:
            body.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" class="axis" '
                        f'text-anchor="middle">{escape(point.label)}</text>')  # fmt: skip
        if point.value < 0:
            continue
        y = top_pad + plot_h * (1 - point.value / 100)
        path.append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<a href="{escape(point.href)}" class="mark" data-label="{escape(point.label)}">'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="dot">'
            f"<title>{escape(point.label)}：{escape(point.text)}</title></circle>"
            + (f'<text x="{x:.1f}" y="{y - 8:.1f}" class="num" text-anchor="middle">'
               f"{escape(point.text)}</text>" if i % every == 0 else "")
            + "</a>"
        )
    if len(path) > 1:
        body.insert(0, f'<polyline points="{" ".join(path)}" class="trend"/>')
    body.append(f'<line x1="{left}" x2="{width}" y1="{top_pad + plot_h}" '
                f'y2="{top_pad + plot_h}" class="base"/>')  # fmt: skip
    return _svg("line", width, height, title, body)
