"""Charts as data (:class:`LineChart`) and as inline SVG, built here so that the console serves
every byte itself (no script library, no CDN) and the PDF draws the same chart (pdf.py).

Colours are SVG presentation attributes, not CSS, so a strict Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from greenchain.reports.labels import period, share
from greenchain.v1 import ledger_pb2

GREEN, LIGHT_GREEN, BLUE, GREY, RED = "#1b7f3b", "#9fd8ae", "#2b6cb0", "#6b7280", "#c0392b"


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per x label; None = no point
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Reference:
    """A horizontal line, e.g. the 40 % goal or a tier threshold."""

    value: float
    label: str
    color: str = RED
    id: str = ""


@dataclass(frozen=True)
class LineChart:
    title: str
    x_labels: Sequence[str]
    series: Sequence[Series]
    y_min: float
    y_max: float
    y_format: Callable[[float], str] = str
    references: Sequence[Reference] = field(default_factory=tuple)
    y_ticks: int = 5

    def ticks(self) -> list[float]:
        step = (self.y_max - self.y_min) / self.y_ticks
        return [self.y_min + i * step for i in range(self.y_ticks + 1)]


def trend_chart(progress: ledger_pb2.ChainProgress) -> LineChart:
    """The chain's designated and readiness shares by month, with the goal line."""
    months = list(progress.trend)
    top = max(
        [progress.target_share, progress.forecast_share]
        + [m.designated_share for m in months]
        + [m.readiness_share for m in months]
    )
    y_max = min(1.0, max(0.5, (int(top * 10) + 1) / 10))
    return LineChart(
        title="designated share by month, against the goal",
        x_labels=[period(m.period) for m in months],
        series=[
            Series("designated share", [m.designated_share for m in months], GREEN),
            Series("rated ready (score)", [m.readiness_share for m in months], BLUE, True),
        ],
        y_min=0.0,
        y_max=y_max,
        y_format=lambda v: f"{v:.0%}",
        references=[
            Reference(
                progress.target_share,
                f"goal {progress.target_share:.0%} by {progress.target_year}",
                RED,
                "goal-line",
            )
        ],
    )


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart_svg(chart: LineChart, width: int = 640, height: int = 260) -> str:
    left, right, top, bottom = 48, 16, 28, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(chart.x_labels)
    span = (chart.y_max - chart.y_min) or 1.0

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        clamped = min(max(v, chart.y_min), chart.y_max)
        return top + plot_h * (1 - (clamped - chart.y_min) / span)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(chart.title)}">',
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for tick in chart.ticks():
        ty = y(tick)
        out.append(
            f'<line x1="{left}" y1="{_fmt(ty)}" x2="{width - right}" y2="{_fmt(ty)}" '
            f'stroke="#e5e7eb"/><text x="{left - 6}" y="{_fmt(ty + 4)}" font-size="11" '
            f'text-anchor="end" fill="{GREY}">{escape(chart.y_format(tick))}</text>'
        )
    step = max(1, n // 8)
    for i, label in enumerate(chart.x_labels):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<text x="{_fmt(x(i))}" y="{height - bottom + 16}" font-size="11" '
                f'text-anchor="middle" fill="{GREY}">{escape(label)}</text>'
            )
    for ref in chart.references:
        ry = y(ref.value)
        ident = f' id="{escape(ref.id)}"' if ref.id else ""
        out.append(
            f'<g{ident} class="reference"><line x1="{left}" y1="{_fmt(ry)}" x2="{width - right}" '
            f'y2="{_fmt(ry)}" stroke="{ref.color}" stroke-width="1.5" stroke-dasharray="6 3"/>'
            f'<text x="{width - right}" y="{_fmt(ry - 5)}" font-size="11" text-anchor="end" '
            f'fill="{ref.color}">{escape(ref.label)}</text></g>'
        )
    legend_x = left
    for s in chart.series:
        points = [(x(i), y(v)) for i, v in enumerate(s.values) if v is not None]
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        if len(points) > 1:
            path = " ".join(f"{_fmt(px)},{_fmt(py)}" for px, py in points)
            out.append(
                f'<polyline fill="none" stroke="{s.color}" stroke-width="2.2"{dash} '
                f'points="{path}"><title>{escape(s.name)}</title></polyline>'
            )
        for px, py in points if len(points) <= 24 else points[-1:]:
            out.append(f'<circle cx="{_fmt(px)}" cy="{_fmt(py)}" r="2.6" fill="{s.color}"/>')
        out.append(
            f'<line x1="{legend_x}" y1="{height - 8}" x2="{legend_x + 18}" y2="{height - 8}" '
            f'stroke="{s.color}" stroke-width="2.2"{dash}/><text x="{legend_x + 22}" '
            f'y="{height - 4}" font-size="11">{escape(s.name)}</text>'
        )
        legend_x += 30 + 7 * len(s.name)
    out.append("</svg>")
    return "".join(out)


def goal_bar_svg(
    designated: float, forecast: float, target: float, target_year: int, width: int = 640
) -> str:
    """0..100 % bar: the designated share, the forecast behind it, the goal as a line."""
    height, left, bar_w = 46, 0, width - 2

    def x(v: float) -> float:
        return left + bar_w * min(max(v, 0.0), 1.0)

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="goal-bar" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="designated share {share(designated)} of the {target:.0%} goal">'
        f'<rect x="{left}" y="6" width="{bar_w}" height="22" fill="#eef2f0" stroke="#cbd5d0"/>'
        f'<rect id="forecast-bar" x="{left}" y="6" width="{_fmt(x(forecast) - left)}" '
        f'height="22" fill="{LIGHT_GREEN}"><title>forecast {share(forecast)}</title></rect>'
        f'<rect id="designated-bar" x="{left}" y="6" width="{_fmt(x(designated) - left)}" '
        f'height="22" fill="{GREEN}"><title>designated {share(designated)}</title></rect>'
        f'<g id="goal-marker"><line x1="{_fmt(x(target))}" y1="0" x2="{_fmt(x(target))}" '
        f'y2="34" stroke="{RED}" stroke-width="3"/>'
        f'<text x="{_fmt(x(target))}" y="44" font-size="11" text-anchor="middle" '
        f'fill="{RED}">goal {target:.0%} by {target_year}</text></g>'
        f"</svg>"
    )


def sparkline_svg(values: Sequence[float | None], width: int = 120, height: int = 28) -> str:
    """A small line of an indicator's values over the rating history."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    n = len(values)
    points = [
        f"{_fmt(2 + (width - 4) * i / (n - 1))},"
        f"{_fmt(height - 3 - (height - 6) * (v - low) / span)}"
        for i, v in enumerate(values)
        if v is not None
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="history">'
        f'<polyline fill="none" stroke="{BLUE}" stroke-width="1.6" points="{" ".join(points)}"/>'
        f"</svg>"
    )


def score_history_chart(
    labels: Sequence[str], totals: Sequence[float], thresholds: Sequence[tuple[str, float]]
) -> LineChart:
    """A supplier's total score by rating, with its tier thresholds as lines."""
    return LineChart(
        title="total score by rating (0..100), with the readiness tier thresholds",
        x_labels=labels,
        series=[Series("total score", list(totals), GREEN)],
        y_min=0.0,
        y_max=100.0,
        y_format=lambda v: f"{v:.0f}",
        references=[Reference(value, name, GREY) for name, value in thresholds],
    )
