"""Inline SVG charts for the HTML reports: pure functions from numbers to markup, no script, no fonts.

Every chart is a fixed-size ``<svg>`` with a ``viewBox`` (it scales with the page), coordinates rounded to
0.1 px to keep a 100-feature report small, and a ``<title>`` on each mark so a hover shows the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BASELINE = "#9aa5b1"
CURRENT = "#2f6fdf"
VIOLATION = "#d6336c"
THRESHOLD = "#e8590c"
GRID = "#e3e7ec"
INK = "#4a5562"


def num(x: float) -> str:
    """A short human number: 4 significant digits, no exponent for ordinary magnitudes."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if x == 0:
        return "0"
    ax = abs(x)
    if 1e-4 <= ax < 1e7:
        text = f"{x:.4g}" if ax < 1e4 else f"{x:,.0f}"
        return text
    return f"{x:.3g}"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.4g}%"


def _c(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(label)}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "start", cls: str = "ax") -> str:
    return f'<text x="{_c(x)}" y="{_c(y)}" text-anchor="{anchor}" class="{cls}">{escape(s)}</text>'


@dataclass(frozen=True)
class Frame:
    """The plotting area of a chart and the linear maps of its two axes."""

    width: int
    height: int
    x0: float
    x1: float
    y0: float
    y1: float
    left: int = 44
    right: int = 10
    top: int = 10
    bottom: int = 22

    def x(self, v: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (v - self.x0) / span * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.height - self.bottom - (v - self.y0) / span * (self.height - self.top - self.bottom)

    def axes(self, y_ticks: Sequence[float], y_label=num) -> list[str]:
        out = []
        for t in y_ticks:
            out.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{_c(self.y(t))}" '
                       f'y2="{_c(self.y(t))}" stroke="{GRID}"/>')
            out.append(_text(self.left - 4, self.y(t) + 3, y_label(t), "end"))
        return out


def ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def histogram(edges: Sequence[float], baseline: Sequence[float] | None, current: Sequence[float] | None,
              width: int = 460, height: int = 150, x_ticks: Sequence[float] | None = None) -> str:
    """Shares per bin: the baseline as grey bars, the current data as blue bars in front of them."""
    series = [s for s in (baseline, current) if s is not None]
    top = max((max(s) for s in series if len(s)), default=0.0) or 1.0
    f = Frame(width, height, edges[0], edges[-1], 0.0, top * 1.08)
    body = f.axes(ticks(0.0, top, 3), pct)
    for shares, color, inset, who in ((baseline, BASELINE, 0.0, "baseline"), (current, CURRENT, 0.22, "current")):
        if shares is None:
            continue
        for i, share in enumerate(shares):
            lo, hi = f.x(edges[i]), f.x(edges[i + 1])
            pad = (hi - lo) * inset
            y = f.y(share)
            body.append(f'<rect x="{_c(lo + pad + 0.5)}" y="{_c(y)}" width="{_c(max(hi - lo - 2 * pad - 1, 0.5))}" '
                        f'height="{_c(f.y(0) - y)}" fill="{color}"><title>{who} [{num(edges[i])}, '
                        f'{num(edges[i + 1])}): {pct(share)}</title></rect>')
    for t in ticks(edges[0], edges[-1], 5) if x_ticks is None else x_ticks:
        body.append(_text(f.x(t), height - 6, num(t), "middle"))
    return _svg(width, height, body, "histogram of the baseline and the current values")


def category_bars(labels: Sequence[str], baseline: Sequence[float] | None, current: Sequence[float] | None,
                  width: int = 460) -> str:
    """One row per category: a grey baseline bar above a blue current bar (shares of the non-null values)."""
    row, label_w = 22, 150
    height = row * len(labels) + 8
    top = max([*(baseline or []), *(current or []), 1e-12])
    scale = (width - label_w - 60) / top
    body = []
    for i, name in enumerate(labels):
        y = 4 + i * row
        short = name if len(name) <= 22 else name[:21] + "…"
        body.append(_text(label_w - 6, y + 14, short, "end"))
        for k, (shares, color, who) in enumerate(((baseline, BASELINE, "baseline"), (current, CURRENT, "current"))):
            if shares is None:
                continue
            w = shares[i] * scale
            body.append(f'<rect x="{label_w}" y="{y + 2 + k * 9}" width="{_c(max(w, 0.5))}" height="8" fill="{color}">'
                        f'<title>{who} {escape(name)}: {pct(shares[i])}</title></rect>')
        shown = [s[i] for s in (baseline, current) if s is not None]
        text = " → ".join(pct(v) for v in shown)
        body.append(_text(label_w + max(shown) * scale + 4, y + 14, text))
    return _svg(width, height, body, "category shares of the baseline and the current values")


def curve(xs: Sequence[float], ys: Sequence[float], x_name: str, y_name: str, diagonal: bool = False,
          size: int = 260) -> str:
    """A curve on the unit square (ROC, precision-recall)."""
    f = Frame(size, size, 0.0, 1.0, 0.0, 1.0, left=34, bottom=30)
    body = f.axes([0.0, 0.5, 1.0])
    for t in (0.0, 0.5, 1.0):
        body.append(_text(f.x(t), size - 16, num(t), "middle"))
    body.append(_text(f.x(0.5), size - 3, x_name, "middle"))
    if diagonal:
        body.append(f'<line x1="{_c(f.x(0))}" y1="{_c(f.y(0))}" x2="{_c(f.x(1))}" y2="{_c(f.y(1))}" '
                    f'stroke="{BASELINE}" stroke-dasharray="4 3"/>')
    points = " ".join(f"{_c(f.x(x))},{_c(f.y(y))}" for x, y in _thin(list(zip(xs, ys, strict=True))))
    body.append(f'<polyline points="{points}" fill="none" stroke="{CURRENT}" stroke-width="2">'
                f'<title>{escape(y_name)} against {escape(x_name)}</title></polyline>')
    body.append(f'<text x="10" y="{_c(f.y(0.5))}" class="ax" transform="rotate(-90 10 {_c(f.y(0.5))})" '
                f'text-anchor="middle">{escape(y_name)}</text>')
    return _svg(size, size, body, f"{y_name} against {x_name}")


def _thin(points: list[tuple[float, float]], limit: int = 400) -> list[tuple[float, float]]:
    """At most ``limit`` points, always the first and last (a 1,000-point curve drawn at 260 px loses nothing)."""
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


@dataclass(frozen=True)
class TrendPoint:
    x: float  # seconds since the epoch
    label: str  # the run's time as text
    value: float | None
    threshold: float | None
    violated: bool
    link: str | None = None


def trend(points: Sequence[TrendPoint], title: str, y_format=num, width: int = 460, height: int = 150) -> str:
    """A value over runs: the line, the threshold as a dashed orange step line, violations as red dots."""
    values = [p.value for p in points if p.value is not None and math.isfinite(p.value)]
    limits = [p.threshold for p in points if p.threshold is not None and math.isfinite(p.threshold)]
    if not values:
        return '<p class="muted">no value in any run</p>'
    lo, hi = min(values + limits), max(values + limits)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 0.1
    xs = [p.x for p in points]
    f = Frame(width, height, min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1, lo - pad, hi + pad)
    body = f.axes(ticks(lo - pad, hi + pad, 3), y_format)
    segments, current = [], []
    for p in points:
        if p.value is None or not math.isfinite(p.value):
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{_c(f.x(p.x))},{_c(f.y(p.value))}")
    if current:
        segments.append(current)
    for seg in segments:
        body.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{CURRENT}" stroke-width="1.6"/>')
    step = []
    for i, p in enumerate(points):
        if p.threshold is None or not math.isfinite(p.threshold):
            continue
        x_end = f.x(points[i + 1].x) if i + 1 < len(points) else f.x(p.x)
        step.append(f"{_c(f.x(p.x))},{_c(f.y(p.threshold))} {_c(x_end)},{_c(f.y(p.threshold))}")
    if step:
        body.append(f'<polyline points="{" ".join(step)}" fill="none" stroke="{THRESHOLD}" '
                    f'stroke-dasharray="5 3" stroke-width="1.4"><title>threshold</title></polyline>')
    for p in points:
        if p.value is None or not math.isfinite(p.value):
            continue
        color, r = (VIOLATION, 4) if p.violated else (CURRENT, 2.2)
        tip = f"{p.label}: {y_format(p.value)}" + (f" (threshold {y_format(p.threshold)})" if p.threshold is not None
                                                    else "") + (" — violation" if p.violated else "")
        dot = (f'<circle cx="{_c(f.x(p.x))}" cy="{_c(f.y(p.value))}" r="{r}" fill="{color}" '
               f'class="{"viol" if p.violated else "pt"}"><title>{escape(tip)}</title></circle>')
        body.append(f'<a href="{escape(p.link)}">{dot}</a>' if p.link else dot)
    body.append(_text(f.left, height - 6, points[0].label))
    if len(points) > 1:
        body.append(_text(width - f.right, height - 6, points[-1].label, "end"))
    return _svg(width, height, body, title)
