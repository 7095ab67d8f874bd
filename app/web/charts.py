"""Charts drawn on the server as SVG (no JavaScript, no chart library in the browser).

Values come in as plain numbers; labels are escaped. Each function returns markup that a
template includes with `|safe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

GOOD, BAD, NEUTRAL, PEERS = "#22c55e", "#ef4444", "#64748b", "#94a3b8"
TEXT, GRID = "#e2e8f0", "#334155"


@dataclass(frozen=True)
class EffectBar:
    """One course or group: its relative effect and interval."""

    label: str
    did: float | None
    low: float | None
    high: float | None


def _pct(value: float) -> str:
    return f"{value * 100:+.0f}%"


def effect_bars(bars: list[EffectBar], higher_is_better: bool, width: int = 640) -> str:
    """Horizontal bars around zero with the 95% interval as a whisker. Green: the interval
    is wholly on the good side; red: wholly on the bad side; grey: it holds zero."""
    row, left, right = 30, 170, 60
    height = row * max(len(bars), 1) + 30
    values = [abs(v) for b in bars for v in (b.did, b.low, b.high) if v is not None]
    span = max([0.05, *values]) * 1.1
    plot = width - left - right
    zero = left + plot / 2

    def x(value: float) -> float:
        return zero + value / span * plot / 2

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" class="chart">',
        f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height - 20}" stroke="{GRID}"/>',
    ]
    for tick in (-span / 1.1, span / 1.1):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{height - 5}" fill="{PEERS}" font-size="11" '
            f'text-anchor="middle">{_pct(tick)}</text>'
        )
    for i, bar in enumerate(bars):
        y = 10 + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" fill="{TEXT}" font-size="13" '
            f'text-anchor="end">{escape(bar.label[:18])}</text>'
        )
        if bar.did is None:
            continue
        colour = NEUTRAL
        if bar.low is not None and bar.high is not None and (bar.low > 0 or bar.high < 0):
            good = (bar.low > 0) == higher_is_better
            colour = GOOD if good else BAD
        start, end = sorted((zero, x(bar.did)))
        parts.append(
            f'<rect x="{start:.1f}" y="{y + 4}" width="{max(end - start, 1):.1f}" height="16" '
            f'fill="{colour}" rx="2"/>'
        )
        if bar.low is not None and bar.high is not None:
            lo, hi = x(bar.low), x(bar.high)
            parts.append(
                f'<path d="M{lo:.1f} {y + 12}H{hi:.1f}M{lo:.1f} {y + 7}V{y + 17}'
                f'M{hi:.1f} {y + 7}V{y + 17}" stroke="{TEXT}" stroke-width="1.5"/>'
            )
        parts.append(
            f'<text x="{width - right + 6}" y="{y + 16}" fill="{TEXT}" font-size="12">'
            f"{_pct(bar.did)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def rate_bars(rows: list[tuple[str, float | None]], width: int = 640) -> str:
    """Horizontal bars of shares (0–1), e.g. participation or attention per department."""
    row, left = 28, 170
    height = row * max(len(rows), 1) + 10
    plot = width - left - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" class="chart">'
    ]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" fill="{TEXT}" font-size="13" '
            f'text-anchor="end">{escape(label[:18])}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{plot}" height="16" fill="{GRID}" rx="2"/>'
        )
        if value is None:
            continue
        colour = GOOD if value >= 0.8 else "#f59e0b" if value >= 0.6 else BAD
        parts.append(
            f'<rect x="{left}" y="{y + 4}" width="{plot * min(value, 1.0):.1f}" height="16" '
            f'fill="{colour}" rx="2"/><text x="{left + plot + 6}" y="{y + 16}" fill="{TEXT}" '
            f'font-size="12">{value * 100:.0f}%</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def before_after(
    trained: tuple[float, float],
    peers: tuple[float, float],
    labels: tuple[str, str, str, str],
    width: int = 420,
) -> str:
    """Two lines from 'before' to 'after': the trained and their untrained peers.
    `labels` = (before, after, trained, peers)."""
    height, pad = 200, 40
    values = [*trained, *peers]
    low, high = min(values), max(values)
    margin = (high - low) * 0.2 or abs(high) * 0.1 or 1.0
    low, high = low - margin, high + margin

    def y(value: float) -> float:
        return pad / 2 + (high - value) / (high - low) * (height - pad)

    x0, x1 = 70.0, width - 170.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" class="chart">',
        f'<text x="{x0}" y="{height - 4}" fill="{PEERS}" font-size="12" '
        f'text-anchor="middle">{escape(labels[0])}</text>',
        f'<text x="{x1}" y="{height - 4}" fill="{PEERS}" font-size="12" '
        f'text-anchor="middle">{escape(labels[1])}</text>',
    ]
    for (b, a), colour, name in ((peers, PEERS, labels[3]), (trained, GOOD, labels[2])):
        parts.append(
            f'<line x1="{x0}" y1="{y(b):.1f}" x2="{x1}" y2="{y(a):.1f}" stroke="{colour}" '
            f'stroke-width="3"/><circle cx="{x0}" cy="{y(b):.1f}" r="4" fill="{colour}"/>'
            f'<circle cx="{x1}" cy="{y(a):.1f}" r="4" fill="{colour}"/>'
            f'<text x="{x0 - 8}" y="{y(b) + 4:.1f}" fill="{colour}" font-size="11" '
            f'text-anchor="end">{b:.3g}</text>'
            f'<text x="{x1 + 8}" y="{y(a) + 4:.1f}" fill="{colour}" font-size="12">'
            f"{escape(name)} {a:.3g}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def daily_curve(values: list[float | None], marker: int, label: str, width: int = 360) -> str:
    """A person's daily figures as a line, with the training day (`marker`) drawn across."""
    height, pad = 140, 16
    seen = [v for v in values if v is not None]
    if not seen:
        return ""
    low, high = min(seen), max(seen)
    margin = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    low, high = low - margin, high + margin
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = " ".join(
        f"{pad + i * step:.1f},{pad + (high - v) / (high - low) * (height - 2 * pad):.1f}"
        for i, v in enumerate(values)
        if v is not None
    )
    x = pad + marker * step
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" role="img" class="chart">'
        f'<line x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{height - 4}" stroke="{GRID}" '
        f'stroke-dasharray="4 3"/><text x="{x + 4:.1f}" y="14" fill="{PEERS}" '
        f'font-size="11">{escape(label)}</text>'
        f'<polyline points="{points}" fill="none" stroke="{GOOD}" stroke-width="2"/></svg>'
    )
