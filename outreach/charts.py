"""Server-rendered SVG charts: pure, no ORM, no JavaScript, no CDN.

Labels come from WHOIS and feeds, so every piece of text is escaped here;
the result is safe to put in a page as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

ROW = 22
BAR = 16
LABEL_WIDTH = 170
LEGEND = 26


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: list[float]


def bar_chart_svg(*, title: str, labels: list[str], series: list[Series], width: int = 760) -> str:
    """Grouped horizontal bars: one group per label, one bar per series."""
    peak = max([v for s in series for v in s.values] + [1])
    plot = width - LABEL_WIDTH - 60
    group = ROW * len(series) + 10
    height = LEGEND + 20 + group * len(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        *_legend(series),
    ]
    for index, label in enumerate(labels):
        top = LEGEND + 20 + index * group
        parts.append(_label(label, top + group / 2 - 5))
        for offset, one in enumerate(series):
            value = one.values[index]
            parts.append(_bar(one, value, top + offset * ROW, plot * value / peak))
    parts.append("</svg>")
    return "\n".join(parts)


def _legend(series: list[Series]) -> list[str]:
    items = []
    for index, one in enumerate(series):
        x = LABEL_WIDTH + index * 120
        items.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{escape(one.color)}"/>')
        items.append(f'<text x="{x + 16}" y="16">{escape(one.name)}</text>')
    return items


def _label(text: str, y: float) -> str:
    short = text if len(text) <= 24 else text[:23] + "…"
    return f'<text x="{LABEL_WIDTH - 8}" y="{y:.0f}" text-anchor="end">{escape(short)}</text>'


def _bar(one: Series, value: float, y: float, length: float) -> str:
    shown = f"{value:g}"
    return (
        f'<rect x="{LABEL_WIDTH}" y="{y:.0f}" width="{max(length, 0):.1f}" height="{BAR}" '
        f'fill="{escape(one.color)}"><title>{escape(one.name)}: {shown}</title></rect>'
        f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 12:.0f}">{shown}</text>'
    )
