"""Inline SVG charts drawn from plain values, purely.

The five charts (``bar_chart_svg``, ``heatmap_svg``, ``scatter_svg``,
``line_chart_svg``, ``interval_chart_svg``) share one frame (``_svg``: the
svg element, title, description and background), one set of axis helpers
(``_x_ticks``, ``_y_gridlines``, ``_axis_titles``) and one legend
(``_legend``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from segmentation.report.formatting import escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#999999",
)
BAR_COLOUR = "#2F6DA3"
INK = "#1F2933"
MUTED = "#52606D"
GRID = "#E4E7EB"
AXIS = "#9AA5B1"
# Sequential scale for heatmaps: stops from light to dark blue.
HEAT_STOPS = (
    (0.0, (239, 246, 255)),
    (0.35, (158, 202, 225)),
    (0.7, (49, 130, 189)),
    (1.0, (8, 48, 107)),
)

FONT_FAMILY = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
)


def text_width(text: str, font_size: float = 12) -> float:
    """Rough rendered width of text in a sans-serif font, in pixels."""
    return len(text) * font_size * 0.6


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high], about ``count`` intervals."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high < low:
        low, high = high, low
    if high == low:
        if high == 0:
            return [0.0, 1.0]
        pad = abs(high) * 0.5
        low, high = low - pad, high + pad
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude
    for multiple in (1, 2, 2.5, 5, 10):
        step = multiple * magnitude
        if step >= raw:
            break
    start = math.floor(low / step + 1e-9) * step
    stop = math.ceil(high / step - 1e-9) * step
    ticks = []
    value = start
    while value <= stop + step * 1e-6:
        ticks.append(round(value, 10))
        value += step
    return ticks


def format_tick(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick step needs (2.5 -> 1)."""
    decimals = 0
    while decimals < 6 and abs(round(step, decimals) - step) > 1e-9 * max(1.0, step):
        decimals += 1
    text = f"{value:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" else text


def percent_tick(value: float, step: float) -> str:
    decimals = 0 if step >= 0.01 else 1
    return f"{value:.{decimals}%}"


def heat_colour(fraction: float) -> str:
    """The sequential heatmap colour at ``fraction`` (0..1) as #rrggbb."""
    fraction = min(1.0, max(0.0, fraction))
    for (left, left_rgb), (right, right_rgb) in itertools.pairwise(HEAT_STOPS):
        if fraction <= right:
            weight = (fraction - left) / (right - left)
            rgb = [
                round(a + (b - a) * weight)
                for a, b in zip(left_rgb, right_rgb, strict=True)
            ]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*HEAT_STOPS[-1][1])


def readable_ink(background: str) -> str:
    """Black or white text, whichever reads better on the background."""
    red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    luminance = (0.299 * red + 0.587 * green + 0.114 * blue) / 255
    return INK if luminance > 0.55 else "#FFFFFF"


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = 12,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
    extra: str = "",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
        f'text-anchor="{anchor}" fill="{fill}" font-weight="{weight}"{extra}>'
        f"{escape(content)}</text>"
    )


def _svg_open(chart_id: str, width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg id="chart-{escape(chart_id)}" class="chart" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="chart-{escape(chart_id)}-title '
        f'chart-{escape(chart_id)}-desc">'
        f'<title id="chart-{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="chart-{escape(chart_id)}-desc">{escape(desc)}</desc>'
        f'<rect width="100%" height="100%" fill="#FFFFFF"/>'
        + _text(12, 22, title, size=15, weight="600")
    )


def _y_axis_label(x: float, y: float, label: str) -> str:
    return _text(
        x,
        y,
        label,
        size=12,
        anchor="middle",
        fill=MUTED,
        extra=f' transform="rotate(-90 {x:.1f} {y:.1f})"',
    )


def _legend(items: Sequence[tuple[str, str, str]], x: float, y: float) -> str:
    """A vertical legend: (label, colour, marker kind: bar, line, dot, dash)."""
    parts = [f'<g class="legend" transform="translate({x:.1f} {y:.1f})">']
    for index, (label, colour, kind) in enumerate(items):
        top = index * 20
        if kind == "bar":
            parts.append(
                f'<rect x="0" y="{top}" width="14" height="12" fill="{colour}"/>'
            )
        elif kind in ("line", "dash"):
            dash = ' stroke-dasharray="5 3"' if kind == "dash" else ""
            parts.append(
                f'<line x1="0" y1="{top + 6}" x2="16" y2="{top + 6}" '
                f'stroke="{colour}" stroke-width="2.5"{dash}/>'
            )
        else:
            parts.append(f'<circle cx="7" cy="{top + 6}" r="5" fill="{colour}"/>')
        parts.append(_text(22, top + 10.5, label, size=12))
    parts.append("</g>")
    return "".join(parts)


def _legend_width(labels: Sequence[str]) -> float:
    return 30 + max((text_width(label) for label in labels), default=0)


@dataclass(frozen=True)
class PlotArea:
    """Where a chart draws its data inside the SVG, in pixels."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width


def _svg(
    chart_id: str,
    width: float,
    height: float,
    title: str,
    desc: str,
    parts: Sequence[str],
) -> str:
    """The chart frame: the svg element, title, description and background
    around the drawn ``parts``."""
    return _svg_open(chart_id, width, height, title, desc) + "".join(parts) + "</svg>"


def _axis_titles(area: PlotArea, x_label: str, x_label_y: float, y_label: str) -> str:
    """The x axis title centred under the plot, the y axis title beside it."""
    return _text(
        area.left + area.width / 2,
        x_label_y,
        x_label,
        anchor="middle",
        fill=MUTED,
    ) + _y_axis_label(16, area.top + area.height / 2, y_label)


def _tick_label(x: float, y: float, label: str, anchor: str) -> str:
    return _text(x, y, label, size=11, anchor=anchor, fill=MUTED)


def _x_ticks(
    ticks: Sequence[tuple[float, str]],
    y1: float,
    y2: float,
    label_y: float,
    stroke: str = GRID,
) -> str:
    """Vertical lines from ``y1`` to ``y2`` at each (x, label), the label
    centred under them: gridlines, or tick marks when the span is short."""
    return "".join(
        f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y2}" stroke="{stroke}"/>'
        + _tick_label(x, label_y, label, "middle")
        for x, label in ticks
    )


def _y_gridlines(ticks: Sequence[tuple[float, str, str]], area: PlotArea) -> str:
    """Horizontal gridlines across the plot at each (y, label, stroke), the
    label right-aligned left of the plot."""
    return "".join(
        f'<line x1="{area.left}" y1="{y:.1f}" x2="{area.right:.1f}" '
        f'y2="{y:.1f}" stroke="{stroke}"/>'
        + _tick_label(area.left - 6, y + 4, label, "end")
        for y, label, stroke in ticks
    )


def _side_legend(items: Sequence[tuple[str, str, str]], area: PlotArea) -> str:
    """The legend right of the plot, level with its top."""
    return _legend(items, area.right + 20, area.top + 4)


def _category_label(x: float, y: float, label: str) -> str:
    """A row's category label, right-aligned before the plot."""
    return _text(x, y, label, anchor="end")


@dataclass(frozen=True)
class Bar:
    """One bar: its category label, value, and the note drawn at its end."""

    label: str
    value: float
    note: str


def bar_chart_svg(
    chart_id: str,
    bars: Sequence[Bar],
    *,
    title: str,
    x_label: str,
    y_label: str,
    legend_label: str,
    tick_format: Callable[[float, float], str] = format_tick,
    width: float = 720,
    colour: str = BAR_COLOUR,
) -> str:
    """A horizontal bar chart, one bar per category, largest values as given.

    Bars start at zero; each carries its ``note`` at its end (for example
    "2,489 (49.8%)") and a tooltip with the same text.
    """
    label_width = max((text_width(bar.label) for bar in bars), default=40)
    note_width = max((text_width(bar.note, 11) for bar in bars), default=0)
    left = 34 + label_width + 10
    right = max(24.0, note_width + 14)
    top, bar_height, gap = 56, 24, 8
    area = PlotArea(
        left,
        top,
        max(120.0, width - left - right),
        max(1, len(bars)) * (bar_height + gap) - gap,
    )
    height = top + area.height + 56
    maximum = max((bar.value for bar in bars), default=0.0)
    ticks = nice_ticks(0.0, maximum if maximum > 0 else 1.0)
    scale_max = ticks[-1] if ticks[-1] > 0 else 1.0
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    def x_of(value: float) -> float:
        return left + area.width * max(0.0, value) / scale_max

    desc = "; ".join(f"{bar.label}: {bar.note}" for bar in bars)
    parts = [
        _legend([(legend_label, colour, "bar")], left, 32),
        _x_ticks(
            [(x_of(tick), tick_format(tick, step)) for tick in ticks],
            top - 4,
            area.bottom,
            area.bottom + 16,
        ),
    ]
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + gap)
        bar_width = x_of(bar.value) - left
        parts.append(
            f"<g><title>{escape(bar.label)}: {escape(bar.note)}</title>"
            f'<rect x="{left:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
            f'height="{bar_height}" rx="2" fill="{colour}"/></g>'
        )
        parts.append(_category_label(left - 8, y + bar_height / 2 + 4, bar.label))
        parts.append(
            _text(
                left + bar_width + 6,
                y + bar_height / 2 + 4,
                bar.note,
                size=11,
                fill=MUTED,
            )
        )
    parts.append(
        f'<line x1="{left:.1f}" y1="{top - 4}" x2="{left:.1f}" '
        f'y2="{area.bottom}" stroke="{AXIS}"/>'
    )
    parts.append(_axis_titles(area, x_label, area.bottom + 40, y_label))
    return _svg(chart_id, width, height, title, desc, parts)


def heatmap_svg(
    chart_id: str,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    legend_label: str,
    cell_format: Callable[[float], str],
    cell_width: float = 88,
    cell_height: float = 44,
) -> str:
    """A grid of labelled cells shaded on a sequential scale, with its key.

    ``values[row][column]``; a None cell is drawn grey and labelled "n/a".
    The colour key below the grid runs from the smallest to the largest value.
    """
    flat = [value for row in values for value in row if value is not None]
    low = min(flat, default=0.0)
    high = max(flat, default=0.0)
    low = min(low, 0.0)
    span = high - low if high > low else 1.0
    row_label_width = max((text_width(label) for label in row_labels), default=20)
    left = 34 + row_label_width + 10
    top = 40
    area = PlotArea(
        left, top, cell_width * len(column_labels), cell_height * len(row_labels)
    )
    width = max(left + area.width + 20, left + 260, text_width(title, 15) + 30)
    height = top + area.height + 22 + 24 + 58
    desc = f"{title}: {len(row_labels)} rows by {len(column_labels)} columns."
    gradient_id = f"gradient-{chart_id}"
    stops = "".join(
        f'<stop offset="{offset:.2f}" stop-color="{heat_colour(offset)}"/>'
        for offset in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    parts = [
        f'<defs><linearGradient id="{escape(gradient_id)}" x1="0" x2="1" '
        f'y1="0" y2="0">{stops}</linearGradient></defs>'
    ]
    for row_index, row_label in enumerate(row_labels):
        y = top + row_index * cell_height
        parts.append(_category_label(left - 8, y + cell_height / 2 + 4, row_label))
        for column_index, column_label in enumerate(column_labels):
            x = left + column_index * cell_width
            value = values[row_index][column_index]
            if value is None:
                fill, label = "#F0F2F4", "n/a"
            else:
                fill, label = heat_colour((value - low) / span), cell_format(value)
            tooltip = f"{y_label} {row_label}, {x_label} {column_label}: {label}"
            parts.append(
                f"<g><title>{escape(tooltip)}</title>"
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_width}" '
                f'height="{cell_height}" fill="{fill}" stroke="#FFFFFF" '
                f'stroke-width="2"/>'
                + _text(
                    x + cell_width / 2,
                    y + cell_height / 2 + 4,
                    label,
                    size=11,
                    anchor="middle",
                    fill=readable_ink(fill),
                )
                + "</g>"
            )
    for column_index, column_label in enumerate(column_labels):
        x = left + column_index * cell_width + cell_width / 2
        parts.append(_text(x, area.bottom + 16, column_label, anchor="middle"))
    parts.append(_axis_titles(area, x_label, area.bottom + 38, y_label))
    key_top = area.bottom + 54
    key_width = min(240.0, max(160.0, area.width))
    parts.append(_text(left, key_top, legend_label, size=11, fill=MUTED))
    parts.append(
        f'<rect x="{left:.1f}" y="{key_top + 6:.1f}" width="{key_width:.1f}" '
        f'height="10" fill="url(#{escape(gradient_id)})" stroke="{GRID}"/>'
    )
    parts.append(_text(left, key_top + 30, cell_format(low), size=11, fill=MUTED))
    parts.append(
        _text(
            left + key_width,
            key_top + 30,
            cell_format(high),
            size=11,
            anchor="end",
            fill=MUTED,
        )
    )
    return _svg(chart_id, width, height, title, desc, parts)


def scatter_svg(
    chart_id: str,
    points: Sequence[tuple[float, float, int]],
    groups: Sequence[tuple[int, str]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: float = 900,
    height: float = 480,
) -> str:
    """A scatter plot of (x, y, group id) points, coloured by group.

    ``groups`` lists (group id, legend label) in legend order; each group
    takes the next palette colour.
    """
    colours = {
        group_id: PALETTE[index % len(PALETTE)]
        for index, (group_id, _) in enumerate(groups)
    }
    legend_labels = [label for _, label in groups]
    left, top, bottom = 64, 40, 52
    right = _legend_width(legend_labels) + 24
    area = PlotArea(left, top, width - left - right, height - top - bottom)
    xs = [point[0] for point in points] or [0.0, 1.0]
    ys = [point[1] for point in points] or [0.0, 1.0]
    x_ticks = nice_ticks(min(xs), max(xs), 6)
    y_ticks = nice_ticks(min(ys), max(ys), 5)
    x_step = x_ticks[1] - x_ticks[0]
    y_step = y_ticks[1] - y_ticks[0]

    def x_of(value: float) -> float:
        return left + area.width * (value - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])

    def y_of(value: float) -> float:
        return top + area.height * (y_ticks[-1] - value) / (y_ticks[-1] - y_ticks[0])

    desc = f"{len(points)} points in {len(groups)} groups."
    parts = [
        _x_ticks(
            [(x_of(tick), format_tick(tick, x_step)) for tick in x_ticks],
            top,
            area.bottom,
            area.bottom + 16,
        ),
        _y_gridlines(
            [(y_of(tick), format_tick(tick, y_step), GRID) for tick in y_ticks], area
        ),
        f'<rect x="{left}" y="{top}" width="{area.width:.1f}" '
        f'height="{area.height:.1f}" fill="none" stroke="{AXIS}"/>',
        '<g fill-opacity="0.55">',
    ]
    for x, y, group in points:
        colour = colours.get(group, PALETTE[-1])
        parts.append(
            f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="2.6" fill="{colour}"/>'
        )
    parts.append("</g>")
    parts.append(
        _side_legend(
            [(label, colours[group_id], "dot") for group_id, label in groups], area
        )
    )
    parts.append(_axis_titles(area, x_label, height - 14, y_label))
    return _svg(chart_id, width, height, title, desc, parts)


@dataclass(frozen=True)
class Series:
    """One line of a line chart: legend name, values (None = gap), style."""

    name: str
    values: Sequence[float | None]
    colour: str
    dashed: bool = False


def line_chart_svg(
    chart_id: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    value_format: Callable[[float], str],
    width: float = 1000,
    height: float = 380,
) -> str:
    """A line chart of several series over the same categorical x axis.

    The y axis always includes zero (drawn darker), so negative series read
    as below the line. Every point has a tooltip; x labels are thinned so
    they never overlap.
    """
    left, top, bottom = 72, 40, 60
    right = _legend_width([item.name for item in series]) + 24
    area = PlotArea(left, top, width - left - right, height - top - bottom)
    values = [value for item in series for value in item.values if value is not None]
    y_ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]), 5)
    y_step = y_ticks[1] - y_ticks[0]
    count = max(1, len(x_labels))

    def x_of(index: int) -> float:
        if count == 1:
            return left + area.width / 2
        return left + area.width * index / (count - 1)

    def y_of(value: float) -> float:
        return top + area.height * (y_ticks[-1] - value) / (y_ticks[-1] - y_ticks[0])

    desc = f"{len(series)} series over {len(x_labels)} periods: " + ", ".join(
        item.name for item in series
    )
    label_width = max((text_width(label, 11) for label in x_labels), default=0) + 10
    every = max(1, math.ceil(label_width / (area.width / count)))
    parts = [
        _y_gridlines(
            [
                (y_of(tick), format_tick(tick, y_step), AXIS if tick == 0 else GRID)
                for tick in y_ticks
            ],
            area,
        ),
        _x_ticks(
            [
                (x_of(index), label)
                for index, label in enumerate(x_labels)
                if not index % every
            ],
            area.bottom,
            area.bottom + 4,
            area.bottom + 18,
            stroke=AXIS,
        ),
    ]
    for item in series:
        dash = ' stroke-dasharray="6 4"' if item.dashed else ""
        runs: list[list[str]] = [[]]
        for index, value in enumerate(item.values):
            if value is None:
                runs.append([])
                continue
            runs[-1].append(f"{x_of(index):.1f},{y_of(value):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" '
                    f'stroke="{item.colour}" stroke-width="2.2"{dash}/>'
                )
        for index, value in enumerate(item.values):
            if value is None:
                continue
            label = x_labels[index] if index < len(x_labels) else str(index)
            parts.append(
                f"<g><title>{escape(item.name)}, {escape(label)}: "
                f"{escape(value_format(value))}</title>"
                f'<circle cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" '
                f'fill="{item.colour}"/></g>'
            )
    parts.append(
        _side_legend(
            [
                (item.name, item.colour, "dash" if item.dashed else "line")
                for item in series
            ],
            area,
        )
    )
    parts.append(_axis_titles(area, x_label, height - 14, y_label))
    return _svg(chart_id, width, height, title, desc, parts)


@dataclass(frozen=True)
class Estimate:
    """A point estimate and, when known, its interval (lower, upper)."""

    value: float | None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class EstimateSeries:
    """One kind of dot of an interval chart: legend name, colour and one
    estimate per row (None = nothing drawn)."""

    name: str
    estimates: Sequence[Estimate | None]
    colour: str


def interval_chart_svg(
    chart_id: str,
    row_labels: Sequence[str],
    series: Sequence[EstimateSeries],
    *,
    title: str,
    x_label: str,
    y_label: str,
    value_format: Callable[[float], str],
    tick_format: Callable[[float, float], str] = format_tick,
    reference: float | None = None,
    reference_label: str = "",
    width: float = 760,
) -> str:
    """A dot plot with error bars: one row per category, one dot per series
    in it, and a horizontal bar from lower to upper (with end caps) where
    the estimate has an interval.

    ``reference`` draws a dashed vertical line (for example zero for a
    lift: an interval crossing it shows no clear difference). Every dot has
    a tooltip with its value and interval.
    """
    label_width = max((text_width(label) for label in row_labels), default=40)
    left = 34 + label_width + 10
    right = _legend_width([item.name for item in series]) + 24
    lane = 16
    row_height = max(1, len(series)) * lane + 14
    top = 44
    area = PlotArea(
        left,
        top,
        max(160.0, width - left - right),
        max(1, len(row_labels)) * row_height,
    )
    height = top + area.height + 56
    values = [
        number
        for item in series
        for estimate in item.estimates
        if estimate is not None
        for number in (estimate.value, estimate.lower, estimate.upper)
        if number is not None and math.isfinite(number)
    ]
    if reference is not None:
        values.append(reference)
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0), 6)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    span = ticks[-1] - ticks[0] or 1.0

    def x_of(value: float) -> float:
        return left + area.width * (value - ticks[0]) / span

    desc = f"{title}: {len(row_labels)} rows, {len(series)} series."
    parts = [
        _x_ticks(
            [(x_of(tick), tick_format(tick, step)) for tick in ticks],
            top,
            area.bottom,
            area.bottom + 16,
        ),
        f'<rect x="{left}" y="{top}" width="{area.width:.1f}" '
        f'height="{area.height:.1f}" fill="none" stroke="{AXIS}"/>',
    ]
    if reference is not None:
        x = x_of(reference)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{area.bottom:.1f}" '
            f'stroke="{INK}" stroke-dasharray="4 3"/>'
        )
        if reference_label:
            parts.append(
                _text(x, top - 6, reference_label, size=11, anchor="middle", fill=MUTED)
            )
    for row_index, row_label in enumerate(row_labels):
        row_top = top + row_index * row_height
        if row_index:
            parts.append(
                f'<line x1="{left}" y1="{row_top:.1f}" x2="{area.right:.1f}" '
                f'y2="{row_top:.1f}" stroke="{GRID}"/>'
            )
        parts.append(_category_label(left - 8, row_top + row_height / 2 + 4, row_label))
        for series_index, item in enumerate(series):
            estimate = (
                item.estimates[row_index] if row_index < len(item.estimates) else None
            )
            if estimate is None or estimate.value is None:
                continue
            y = row_top + 7 + series_index * lane + lane / 2
            tooltip = f"{item.name}, {row_label}: {value_format(estimate.value)}"
            bar = ""
            if estimate.lower is not None and estimate.upper is not None:
                tooltip += (
                    f" (95% interval {value_format(estimate.lower)} to "
                    f"{value_format(estimate.upper)})"
                )
                low, high = x_of(estimate.lower), x_of(estimate.upper)
                bar = (
                    f'<line x1="{low:.1f}" y1="{y:.1f}" x2="{high:.1f}" '
                    f'y2="{y:.1f}" stroke="{item.colour}" stroke-width="2"/>'
                    + "".join(
                        f'<line x1="{end:.1f}" y1="{y - 4:.1f}" x2="{end:.1f}" '
                        f'y2="{y + 4:.1f}" stroke="{item.colour}" stroke-width="2"/>'
                        for end in (low, high)
                    )
                )
            parts.append(
                f"<g><title>{escape(tooltip)}</title>{bar}"
                f'<circle cx="{x_of(estimate.value):.1f}" cy="{y:.1f}" r="4.5" '
                f'fill="{item.colour}"/></g>'
            )
    parts.append(
        _side_legend([(item.name, item.colour, "dot") for item in series], area)
    )
    parts.append(_axis_titles(area, x_label, area.bottom + 40, y_label))
    return _svg(chart_id, width, height, title, desc, parts)
