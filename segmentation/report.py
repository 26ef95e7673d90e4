"""A self-contained HTML segment report read from a built warehouse.

``python -m segmentation.report [--db PATH] [--out PATH.html]``

The report is one HTML file with no external scripts, fonts, stylesheets or
images, so it opens offline and can be mailed as an attachment. Charts are
inline SVG drawn here; each chart's numbers are also embedded as JSON in
``<script type="application/json" id="data-CHARTNAME">`` so tests and users
can read the exact values behind the pictures.

The module has three layers:

* loaders (``load_*``) run read-only queries and return JSON-ready dicts;
* section renderers (``*_section``) turn one such dict into HTML, purely;
* SVG helpers (``bar_chart_svg``, ``heatmap_svg``, ``scatter_svg``,
  ``line_chart_svg``) draw a chart from plain values, purely.

Choices written down once:

* the report never reads the wall clock, so the same warehouse gives the same
  file byte for byte (the date shown is the warehouse's as-of date);
* the cluster scatter embeds coordinates and cluster ids only, never user
  ids, so the file can be shared without pseudonymous identifiers;
* a missing or unreadable warehouse ends with a one-line message on stderr
  and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sklearn.decomposition import PCA

from segmentation.project import resolve

DEFAULT_DB_PATH = "warehouse/segments.duckdb"
DEFAULT_OUT_PATH = "warehouse/segment_report.html"

NO_BEHAVIOUR_SENTENCE = (
    "No behaviour data: the data has no events, so activity tiers rest on "
    "purchases alone and CTR, browsing and sessions are empty."
)
NO_CLUSTERS_SENTENCE = (
    "No clusters: the warehouse has no purchasers to cluster, so there are no "
    "cluster profiles to show."
)
NO_SCATTER_SENTENCE = (
    "No purchasers with cluster assignments and features, so there is no "
    "scatter plot to draw."
)

SCATTER_SAMPLE_SIZE = 2_000
TIER_ORDER = ("high", "medium", "low", "none")
ACTIVITY_ORDER = ("high", "medium", "low")
SCORES = (1, 2, 3, 4, 5)

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


class ReportError(Exception):
    """The warehouse cannot be read or the report cannot be written."""


# ---------------------------------------------------------------------------
# Formatting


def format_count(value: float | None) -> str:
    """A count with thousands separators: 12345 -> '12,345'."""
    if value is None:
        return "n/a"
    return f"{round(value):,}"


def format_share(value: float | None) -> str:
    """A share as a percentage with one decimal: 0.4978 -> '49.8%'."""
    if value is None:
        return "n/a"
    return f"{value:.1%}"


def format_money(value: float | None) -> str:
    """Money with thousands separators and two decimals."""
    if value is None:
        return "n/a"
    return f"{value:,.2f}"


def format_number(value: float | None, decimals: int = 1) -> str:
    """A plain measure with thousands separators and fixed decimals."""
    if value is None:
        return "n/a"
    return f"{value:,.{decimals}f}"


def display_label(label: str | None) -> str:
    """A label for people: snake_case becomes words, null becomes 'missing'."""
    if label is None:
        return "missing"
    return str(label).replace("_", " ")


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: object) -> float | None:
    """A database number as a float (Decimal included), None kept."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _money(value: object) -> float | None:
    number = _num(value)
    return None if number is None else round(number, 2)


def _ratio(value: object, digits: int = 6) -> float | None:
    number = _num(value)
    return None if number is None else round(number, digits)


def json_script(chart_id: str, data: object) -> str:
    """The chart's data as a JSON script block that is safe inside HTML."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c")
    text = text.replace(">", "\\u003e")
    return f'<script type="application/json" id="data-{_esc(chart_id)}">{text}</script>'


# ---------------------------------------------------------------------------
# SVG helpers


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


def _percent_tick(value: float, step: float) -> str:
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
        f"{_esc(content)}</text>"
    )


def _svg_open(chart_id: str, width: float, height: float, title: str, desc: str) -> str:
    return (
        f'<svg id="chart-{_esc(chart_id)}" class="chart" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" '
        f'aria-labelledby="chart-{_esc(chart_id)}-title '
        f'chart-{_esc(chart_id)}-desc">'
        f'<title id="chart-{_esc(chart_id)}-title">{_esc(title)}</title>'
        f'<desc id="chart-{_esc(chart_id)}-desc">{_esc(desc)}</desc>'
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
    plot_width = max(120.0, width - left - right)
    plot_height = max(1, len(bars)) * (bar_height + gap) - gap
    height = top + plot_height + 56
    maximum = max((bar.value for bar in bars), default=0.0)
    ticks = nice_ticks(0.0, maximum if maximum > 0 else 1.0)
    scale_max = ticks[-1] if ticks[-1] > 0 else 1.0
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    def x_of(value: float) -> float:
        return left + plot_width * max(0.0, value) / scale_max

    desc = "; ".join(f"{bar.label}: {bar.note}" for bar in bars)
    parts = [_svg_open(chart_id, width, height, title, desc)]
    parts.append(_legend([(legend_label, colour, "bar")], left, 32))
    for tick in ticks:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" '
            f'y2="{top + plot_height}" stroke="{GRID}"/>'
        )
        parts.append(
            _text(
                x,
                top + plot_height + 16,
                tick_format(tick, step),
                size=11,
                anchor="middle",
                fill=MUTED,
            )
        )
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + gap)
        bar_width = x_of(bar.value) - left
        parts.append(
            f"<g><title>{_esc(bar.label)}: {_esc(bar.note)}</title>"
            f'<rect x="{left:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
            f'height="{bar_height}" rx="2" fill="{colour}"/></g>'
        )
        parts.append(_text(left - 8, y + bar_height / 2 + 4, bar.label, anchor="end"))
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
        f'y2="{top + plot_height}" stroke="{AXIS}"/>'
    )
    parts.append(
        _text(
            left + plot_width / 2,
            top + plot_height + 40,
            x_label,
            anchor="middle",
            fill=MUTED,
        )
    )
    parts.append(_y_axis_label(16, top + plot_height / 2, y_label))
    parts.append("</svg>")
    return "".join(parts)


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
    grid_width = cell_width * len(column_labels)
    grid_height = cell_height * len(row_labels)
    width = max(left + grid_width + 20, left + 260, text_width(title, 15) + 30)
    height = top + grid_height + 22 + 24 + 58
    desc = f"{title}: {len(row_labels)} rows by {len(column_labels)} columns."
    gradient_id = f"gradient-{chart_id}"
    parts = [_svg_open(chart_id, width, height, title, desc)]
    stops = "".join(
        f'<stop offset="{offset:.2f}" stop-color="{heat_colour(offset)}"/>'
        for offset in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    parts.append(
        f'<defs><linearGradient id="{_esc(gradient_id)}" x1="0" x2="1" '
        f'y1="0" y2="0">{stops}</linearGradient></defs>'
    )
    for row_index, row_label in enumerate(row_labels):
        y = top + row_index * cell_height
        parts.append(_text(left - 8, y + cell_height / 2 + 4, row_label, anchor="end"))
        for column_index, column_label in enumerate(column_labels):
            x = left + column_index * cell_width
            value = values[row_index][column_index]
            if value is None:
                fill, label = "#F0F2F4", "n/a"
            else:
                fill, label = heat_colour((value - low) / span), cell_format(value)
            tooltip = f"{y_label} {row_label}, {x_label} {column_label}: {label}"
            parts.append(
                f"<g><title>{_esc(tooltip)}</title>"
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
        parts.append(_text(x, top + grid_height + 16, column_label, anchor="middle"))
    parts.append(
        _text(
            left + grid_width / 2,
            top + grid_height + 38,
            x_label,
            anchor="middle",
            fill=MUTED,
        )
    )
    parts.append(_y_axis_label(16, top + grid_height / 2, y_label))
    key_top = top + grid_height + 54
    key_width = min(240.0, max(160.0, grid_width))
    parts.append(_text(left, key_top, legend_label, size=11, fill=MUTED))
    parts.append(
        f'<rect x="{left:.1f}" y="{key_top + 6:.1f}" width="{key_width:.1f}" '
        f'height="10" fill="url(#{_esc(gradient_id)})" stroke="{GRID}"/>'
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
    parts.append("</svg>")
    return "".join(parts)


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
    plot_width = width - left - right
    plot_height = height - top - bottom
    xs = [point[0] for point in points] or [0.0, 1.0]
    ys = [point[1] for point in points] or [0.0, 1.0]
    x_ticks = nice_ticks(min(xs), max(xs), 6)
    y_ticks = nice_ticks(min(ys), max(ys), 5)
    x_step = x_ticks[1] - x_ticks[0]
    y_step = y_ticks[1] - y_ticks[0]

    def x_of(value: float) -> float:
        return left + plot_width * (value - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])

    def y_of(value: float) -> float:
        return top + plot_height * (y_ticks[-1] - value) / (y_ticks[-1] - y_ticks[0])

    desc = f"{len(points)} points in {len(groups)} groups."
    parts = [_svg_open(chart_id, width, height, title, desc)]
    for tick in x_ticks:
        x = x_of(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
            f'y2="{top + plot_height}" stroke="{GRID}"/>'
        )
        parts.append(
            _text(
                x,
                top + plot_height + 16,
                format_tick(tick, x_step),
                size=11,
                anchor="middle",
                fill=MUTED,
            )
        )
    for tick in y_ticks:
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_width:.1f}" '
            f'y2="{y:.1f}" stroke="{GRID}"/>'
        )
        parts.append(
            _text(
                left - 6,
                y + 4,
                format_tick(tick, y_step),
                size=11,
                anchor="end",
                fill=MUTED,
            )
        )
    parts.append(
        f'<rect x="{left}" y="{top}" width="{plot_width:.1f}" '
        f'height="{plot_height:.1f}" fill="none" stroke="{AXIS}"/>'
    )
    parts.append('<g fill-opacity="0.55">')
    for x, y, group in points:
        colour = colours.get(group, PALETTE[-1])
        parts.append(
            f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="2.6" fill="{colour}"/>'
        )
    parts.append("</g>")
    parts.append(
        _legend(
            [(label, colours[group_id], "dot") for group_id, label in groups],
            left + plot_width + 20,
            top + 4,
        )
    )
    parts.append(
        _text(
            left + plot_width / 2,
            height - 14,
            x_label,
            anchor="middle",
            fill=MUTED,
        )
    )
    parts.append(_y_axis_label(16, top + plot_height / 2, y_label))
    parts.append("</svg>")
    return "".join(parts)


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
    plot_width = width - left - right
    plot_height = height - top - bottom
    values = [value for item in series for value in item.values if value is not None]
    y_ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]), 5)
    y_step = y_ticks[1] - y_ticks[0]
    count = max(1, len(x_labels))

    def x_of(index: int) -> float:
        if count == 1:
            return left + plot_width / 2
        return left + plot_width * index / (count - 1)

    def y_of(value: float) -> float:
        return top + plot_height * (y_ticks[-1] - value) / (y_ticks[-1] - y_ticks[0])

    desc = f"{len(series)} series over {len(x_labels)} periods: " + ", ".join(
        item.name for item in series
    )
    parts = [_svg_open(chart_id, width, height, title, desc)]
    for tick in y_ticks:
        y = y_of(tick)
        stroke = AXIS if tick == 0 else GRID
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_width:.1f}" '
            f'y2="{y:.1f}" stroke="{stroke}"/>'
        )
        parts.append(
            _text(
                left - 6,
                y + 4,
                format_tick(tick, y_step),
                size=11,
                anchor="end",
                fill=MUTED,
            )
        )
    label_width = max((text_width(label, 11) for label in x_labels), default=0) + 10
    every = max(1, math.ceil(label_width / (plot_width / count)))
    for index, label in enumerate(x_labels):
        x = x_of(index)
        if index % every:
            continue
        parts.append(
            f'<line x1="{x:.1f}" y1="{top + plot_height}" x2="{x:.1f}" '
            f'y2="{top + plot_height + 4}" stroke="{AXIS}"/>'
        )
        parts.append(
            _text(
                x,
                top + plot_height + 18,
                label,
                size=11,
                anchor="middle",
                fill=MUTED,
            )
        )
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
                f"<g><title>{_esc(item.name)}, {_esc(label)}: "
                f"{_esc(value_format(value))}</title>"
                f'<circle cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" '
                f'fill="{item.colour}"/></g>'
            )
    parts.append(
        _legend(
            [
                (item.name, item.colour, "dash" if item.dashed else "line")
                for item in series
            ],
            left + plot_width + 20,
            top + 4,
        )
    )
    parts.append(
        _text(
            left + plot_width / 2,
            height - 14,
            x_label,
            anchor="middle",
            fill=MUTED,
        )
    )
    parts.append(_y_axis_label(16, top + plot_height / 2, y_label))
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------
# Loaders: read-only queries returning JSON-ready dicts


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return connection.execute(sql).fetchall()


def load_header(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """As-of date, its source, population and purchaser counts."""
    as_of = _rows(
        connection,
        "select as_of_date, as_of_date_source from intermediate.int_as_of_date",
    )
    as_of_date, source = as_of[0] if as_of else (None, None)
    population = _rows(connection, "select count(*) from marts.user_segments")[0][0]
    purchasers = _rows(
        connection,
        "select count(*) from marts.user_profiles where order_count > 0",
    )[0][0]
    return {
        "as_of_date": None if as_of_date is None else str(as_of_date),
        "as_of_date_source": source,
        "population": int(population),
        "purchasers": int(purchasers),
    }


def load_segment_sizes(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Primary segment sizes from segment_profiles, largest first."""
    rows = _rows(
        connection,
        "select segment, user_count, user_share from marts.segment_profiles"
        " where segment_dimension = 'primary_segment'"
        " order by user_count desc, segment",
    )
    segments = [
        {"segment": segment, "user_count": int(count), "user_share": _ratio(share)}
        for segment, count, share in rows
    ]
    return {
        "segments": segments,
        "total_users": sum(item["user_count"] for item in segments),
    }


def load_rfm_grid(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Purchasers and their net revenue per recency x frequency score cell.

    Matrices run rows R 5..1 and columns F 1..5; empty cells hold 0.
    """
    rows = _rows(
        connection,
        "select recency_score, frequency_score, count(*), sum(net_revenue)"
        " from marts.user_profiles where order_count > 0 group by all",
    )
    cells: dict[tuple[int, int], tuple[int, float]] = {}
    unscored = 0
    for recency, frequency, count, revenue in rows:
        if recency in SCORES and frequency in SCORES:
            cells[(recency, frequency)] = (int(count), _money(revenue) or 0.0)
        else:
            unscored += int(count)
    recency_scores = list(reversed(SCORES))
    users = [[cells.get((r, f), (0, 0.0))[0] for f in SCORES] for r in recency_scores]
    revenue = [[cells.get((r, f), (0, 0.0))[1] for f in SCORES] for r in recency_scores]
    return {
        "recency_scores": recency_scores,
        "frequency_scores": list(SCORES),
        "users": users,
        "net_revenue": revenue,
        "purchasers": sum(map(sum, users)),
        "total_net_revenue": round(sum(map(sum, revenue)), 2),
        "unscored_purchasers": unscored,
    }


def _ordered(found: set[str | None], canonical: Sequence[str]) -> list[str | None]:
    extras = sorted((item for item in found if item not in canonical), key=str)
    return [*canonical, *extras]


def load_value_activity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """User counts per value tier x activity tier (all users)."""
    rows = _rows(
        connection,
        "select value_tier, activity_tier, count(*) from marts.user_segments"
        " group by all",
    )
    counts = {(value, activity): int(count) for value, activity, count in rows}
    value_tiers = _ordered({value for value, _ in counts}, TIER_ORDER)
    activity_tiers = _ordered({activity for _, activity in counts}, ACTIVITY_ORDER)
    matrix = [
        [counts.get((value, activity), 0) for activity in activity_tiers]
        for value in value_tiers
    ]
    return {
        "value_tiers": [display_label(tier) for tier in value_tiers],
        "activity_tiers": [display_label(tier) for tier in activity_tiers],
        "users": matrix,
        "total_users": sum(map(sum, matrix)),
    }


def project_to_2d(matrix: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Project feature rows to 2-D: median-fill, log1p, standardise, PCA.

    Columns with no values at all are dropped; negatives are clipped to 0
    before log1p. Returns the (rows, 2) coordinates and the explained
    variance ratio of each component (0 where a component cannot exist).
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        return np.zeros((0, 2)), [0.0, 0.0]
    kept = ~np.all(np.isnan(matrix), axis=0)
    values = matrix[:, kept]
    if values.shape[1] == 0:
        return np.zeros((matrix.shape[0], 2)), [0.0, 0.0]
    medians = np.nanmedian(values, axis=0)
    values = np.where(np.isnan(values), medians, values)
    values = np.log1p(np.clip(values, 0.0, None))
    spread = values.std(axis=0)
    values = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    components = min(2, values.shape[0], values.shape[1])
    coordinates = np.zeros((values.shape[0], 2))
    ratios = [0.0, 0.0]
    if components >= 1 and np.any(values):
        pca = PCA(n_components=components, random_state=0)
        coordinates[:, :components] = pca.fit_transform(values)
        ratios[:components] = [float(ratio) for ratio in pca.explained_variance_ratio_]
    return coordinates, ratios


def load_cluster_profiles(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Cluster sizes and feature means, plus a 2-D sample of purchasers.

    The sample is deterministic (ordered by hash of user id, at most
    SCATTER_SAMPLE_SIZE rows) and carries no user ids.
    """
    clusters = [
        {
            "cluster_id": int(cluster_id),
            "cluster_label": label,
            "user_count": int(count),
            "mean_monetary": _ratio(monetary, 4),
            "mean_frequency": _ratio(frequency, 4),
            "mean_recency_days": _ratio(recency, 4),
        }
        for cluster_id, label, count, monetary, frequency, recency in _rows(
            connection,
            "select cluster_id, cluster_label, user_count,"
            " max(mean_value) filter (where feature = 'monetary'),"
            " max(mean_value) filter (where feature = 'frequency'),"
            " max(mean_value) filter (where feature = 'recency_days')"
            " from marts.cluster_centroids group by all order by cluster_id",
        )
    ]
    cursor = connection.execute(
        "select featurized.*, clusters.cluster_id as report_cluster_id"
        " from intermediate.int_users_featurized as featurized"
        " inner join marts.user_clusters as clusters"
        " on featurized.user_id = clusters.user_id"
        " order by hash(featurized.user_id), featurized.user_id"
        f" limit {SCATTER_SAMPLE_SIZE}"
    )
    names = [column[0] for column in cursor.description]
    rows = cursor.fetchall()
    skip = {"user_id", "report_cluster_id", "cluster_id", "cluster_label"}
    features: list[str] = []
    columns: list[list[float]] = []
    for position, name in enumerate(names):
        if name in skip:
            continue
        try:
            column = [
                math.nan if row[position] is None else float(row[position])
                for row in rows
            ]
        except (TypeError, ValueError):
            continue
        if rows and not all(math.isnan(value) for value in column):
            features.append(name)
            columns.append(column)
    scatter: dict[str, Any] | None = None
    if rows and features:
        matrix = np.array(columns, dtype=float).T
        coordinates, ratios = project_to_2d(matrix)
        cluster_ids = [int(row[names.index("report_cluster_id")]) for row in rows]
        scatter = {
            "sample_size": len(rows),
            "features": features,
            "explained_variance_ratio": [round(ratio, 4) for ratio in ratios],
            "points": [
                [round(float(x), 4), round(float(y), 4), cluster_id]
                for (x, y), cluster_id in zip(coordinates, cluster_ids, strict=True)
            ],
        }
    return {"clusters": clusters, "scatter": scatter}


def load_lifecycle_trend(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Monthly growth accounting: new, retained, resurrected, dormant users."""
    rows = _rows(
        connection,
        "select date_month, new_users, retained_users, resurrected_users,"
        " dormant_users from marts.monthly_lifecycle order by date_month",
    )
    names = ("new_users", "retained_users", "resurrected_users", "dormant_users")
    return {
        "months": [str(row[0]) for row in rows],
        **{
            name: [None if row[i + 1] is None else int(row[i + 1]) for row in rows]
            for i, name in enumerate(names)
        },
    }


def load_arpu_trend(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Monthly ARPU (active and registered users) and ARPPU."""
    rows = _rows(
        connection,
        "select date_month, arpu_active, arpu_registered, arppu,"
        " is_complete_month from marts.monthly_arpu order by date_month",
    )
    return {
        "months": [str(row[0]) for row in rows],
        "arpu_active": [_money(row[1]) for row in rows],
        "arpu_registered": [_money(row[2]) for row in rows],
        "arppu": [_money(row[3]) for row in rows],
        "is_complete_month": [bool(row[4]) for row in rows],
    }


def load_activity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Activity tier sizes and, when events exist, behaviour per tier."""
    flag = _rows(
        connection, "select bool_or(has_behaviour_data) from marts.user_profiles"
    )
    has_behaviour = bool(flag[0][0])
    counts = dict(
        _rows(
            connection,
            "select activity_tier, count(*) from marts.user_segments group by 1",
        )
    )
    total = sum(counts.values())
    tiers = [
        {
            "activity_tier": display_label(tier),
            "user_count": int(counts.get(tier, 0)),
            "user_share": round(counts.get(tier, 0) / total, 6) if total else None,
        }
        for tier in _ordered(set(counts), ACTIVITY_ORDER)
    ]
    behaviour: list[dict[str, Any]] = []
    if has_behaviour:
        means = {
            tier: (sessions, minutes, ctr)
            for tier, sessions, minutes, ctr in _rows(
                connection,
                "select activity_tier, avg(sessions_90d), avg(browse_minutes_90d),"
                " avg(ctr_90d) from marts.user_profiles group by 1",
            )
        }
        for tier in _ordered(set(means), ACTIVITY_ORDER):
            if tier not in means:
                continue
            sessions, minutes, ctr = means[tier]
            behaviour.append(
                {
                    "activity_tier": display_label(tier),
                    "mean_sessions_90d": _ratio(sessions, 4),
                    "mean_browse_minutes_90d": _ratio(minutes, 4),
                    "mean_ctr_90d": _ratio(ctr, 6),
                }
            )
    return {
        "has_behaviour_data": has_behaviour,
        "tiers": tiers,
        "total_users": total,
        "behaviour": behaviour,
    }


def load_playbook(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Each primary segment's size and its recommended use."""
    rows = _rows(
        connection,
        "select profiles.segment, profiles.user_count, profiles.user_share,"
        " playbook.description, playbook.marketing, playbook.service,"
        " playbook.product"
        " from marts.segment_profiles as profiles"
        " left join lookups.segment_playbook as playbook"
        " on profiles.segment = playbook.primary_segment"
        " where profiles.segment_dimension = 'primary_segment'"
        " order by profiles.user_count desc, profiles.segment",
    )
    keys = ("description", "marketing", "service", "product")
    return {
        "segments": [
            {
                "segment": segment,
                "user_count": int(count),
                "user_share": _ratio(share),
                **dict(zip(keys, uses, strict=True)),
            }
            for segment, count, share, *uses in rows
        ]
    }


# ---------------------------------------------------------------------------
# Section renderers: data dict -> HTML


def _figure(chart: str, caption: str = "") -> str:
    if not caption:
        return f"<figure>{chart}</figure>"
    return f"<figure>{chart}<figcaption>{_esc(caption)}</figcaption></figure>"


def _notice(sentence: str) -> str:
    return f'<p class="notice">{_esc(sentence)}</p>'


def _section(section_id: str, heading: str, lead: str, body: str) -> str:
    return (
        f'<section id="{_esc(section_id)}"><h2>{_esc(heading)}</h2>'
        f'<p class="lead">{_esc(lead)}</p>{body}</section>'
    )


def _table(headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]]) -> str:
    """A table; headers are (text, is_numeric) and cells are plain text."""
    head = "".join(
        f'<th scope="col"{" class=num" if numeric else ""}>{_esc(text)}</th>'
        for text, numeric in headers
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if numeric else ''}>{_esc(cell)}</td>"
            for cell, (_, numeric) in zip(row, headers, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def header_section(data: dict[str, Any]) -> str:
    """Title, as-of date and population figures."""
    as_of = data["as_of_date"] or "unknown"
    source = data["as_of_date_source"]
    population = data["population"]
    purchasers = data["purchasers"]
    share = purchasers / population if population else None
    kpis = (
        ("As of", as_of, source or ""),
        ("Population", format_count(population), "users in marts.user_segments"),
        (
            "Purchasers",
            format_count(purchasers),
            f"{format_share(share)} of the population",
        ),
    )
    cards = "".join(
        f'<div class="kpi"><div class="kpi-label">{_esc(label)}</div>'
        f'<div class="kpi-value">{_esc(value)}</div>'
        f'<div class="kpi-note">{_esc(note)}</div></div>'
        for label, value, note in kpis
    )
    return (
        f'<header><h1>Segment report</h1><p class="lead">As of {_esc(as_of)}'
        f"{f' ({_esc(source)})' if source else ''}: "
        f"{_esc(format_count(population))} users.</p>"
        f'<div class="kpis">{cards}</div></header>' + json_script("header", data)
    )


def segment_sizes_section(data: dict[str, Any]) -> str:
    """Bar chart of primary segment sizes."""
    bars = [
        Bar(
            display_label(item["segment"]),
            item["user_count"],
            f"{format_count(item['user_count'])} ({format_share(item['user_share'])})",
        )
        for item in data["segments"]
    ]
    chart = bar_chart_svg(
        "segment-sizes",
        bars,
        title="Users per primary segment",
        x_label="Users",
        y_label="Primary segment",
        legend_label="Users (share of population)",
    )
    body = _figure(
        chart,
        f"Every user is in exactly one primary segment; "
        f"{format_count(data['total_users'])} users in all.",
    )
    return _section(
        "segment-sizes",
        "Primary segments",
        "How the population splits into the segments the playbook acts on.",
        body + json_script("segment-sizes", data),
    )


def rfm_section(data: dict[str, Any]) -> str:
    """Two R x F heatmaps: purchasers per cell and net revenue per cell."""
    rows = [f"R{score}" for score in data["recency_scores"]]
    columns = [f"F{score}" for score in data["frequency_scores"]]
    users = heatmap_svg(
        "rfm-users",
        rows,
        columns,
        data["users"],
        title="Purchasers per R x F cell",
        x_label="Frequency score",
        y_label="Recency score",
        legend_label="Purchasers",
        cell_format=format_count,
        cell_width=78,
    )
    revenue = heatmap_svg(
        "rfm-revenue",
        rows,
        columns,
        data["net_revenue"],
        title="Net revenue per R x F cell",
        x_label="Frequency score",
        y_label="Recency score",
        legend_label="Net revenue",
        cell_format=format_money,
        cell_width=78,
    )
    note = (
        f"{format_count(data['purchasers'])} purchasers, net revenue "
        f"{format_money(data['total_net_revenue'])}. Score 5 is the most recent "
        "or most frequent fifth."
    )
    empty = [
        f"R{score}"
        for score, row in zip(data["recency_scores"], data["users"], strict=True)
        if not any(row)
    ] + [
        f"F{score}"
        for index, score in enumerate(data["frequency_scores"])
        if not any(row[index] for row in data["users"])
    ]
    if empty and data["purchasers"]:
        note += (
            " Scores are rank-based fifths in which tied users share a score, "
            f"so a score can be empty (here {', '.join(empty)})."
        )
    if data["unscored_purchasers"]:
        note += (
            f" {format_count(data['unscored_purchasers'])} purchasers without "
            "scores are left out."
        )
    body = (
        f'<div class="row">{_figure(users)}{_figure(revenue)}</div>'
        f'<p class="note">{_esc(note)}</p>'
    )
    return _section(
        "rfm-heatmap",
        "Recency x frequency",
        "Purchasers on the RFM grid: recent, frequent buyers sit top right.",
        body + json_script("rfm-heatmap", data),
    )


def value_activity_section(data: dict[str, Any]) -> str:
    """Heatmap of users per value tier x activity tier."""
    chart = heatmap_svg(
        "value-activity",
        data["value_tiers"],
        data["activity_tiers"],
        data["users"],
        title="Users per value tier x activity tier",
        x_label="Activity tier",
        y_label="Value tier",
        legend_label="Users",
        cell_format=format_count,
        cell_width=110,
    )
    body = _figure(
        chart,
        f"All {format_count(data['total_users'])} users; value tier none means "
        "no purchases yet.",
    )
    return _section(
        "value-activity",
        "Value x activity",
        "Where spend and engagement meet: high value with low activity is a "
        "retention risk, low value with high activity a conversion opportunity.",
        body + json_script("value-activity", data),
    )


def cluster_section(data: dict[str, Any]) -> str:
    """Cluster profile table and the PCA scatter of a purchaser sample."""
    clusters = data["clusters"]
    if not clusters:
        return _section(
            "cluster-profiles",
            "Cluster profiles",
            "K-Means clusters of purchasers.",
            _notice(NO_CLUSTERS_SENTENCE) + json_script("cluster-profiles", data),
        )
    table = _table(
        (
            ("Cluster", False),
            ("Label", False),
            ("Users", True),
            ("Mean monetary", True),
            ("Mean frequency", True),
            ("Mean recency (days)", True),
        ),
        [
            (
                str(item["cluster_id"]),
                display_label(item["cluster_label"]),
                format_count(item["user_count"]),
                format_money(item["mean_monetary"]),
                format_number(item["mean_frequency"], 2),
                format_number(item["mean_recency_days"], 1),
            )
            for item in clusters
        ],
    )
    scatter = data["scatter"]
    if scatter is None:
        figure = _notice(NO_SCATTER_SENTENCE)
    else:
        groups = [
            (item["cluster_id"], f"{item['cluster_id']}: {item['cluster_label']}")
            for item in clusters
        ]
        known = {group_id for group_id, _ in groups}
        groups += [
            (group_id, f"{group_id}: unlabelled")
            for group_id in sorted({point[2] for point in scatter["points"]} - known)
        ]
        first, second = scatter["explained_variance_ratio"]
        chart = scatter_svg(
            "cluster-profiles",
            [tuple(point) for point in scatter["points"]],
            groups,
            title="Purchasers on the first two principal components",
            x_label=f"Principal component 1 ({format_share(first)} of variance)",
            y_label=f"Principal component 2 ({format_share(second)} of variance)",
        )
        figure = _figure(
            chart,
            f"A deterministic sample of {format_count(scatter['sample_size'])} "
            f"purchasers; features ({', '.join(scatter['features'])}) are "
            "median-filled, log1p-transformed and standardised before PCA.",
        )
    return _section(
        "cluster-profiles",
        "Cluster profiles",
        "K-Means clusters of purchasers: size and average recency, frequency "
        "and monetary value.",
        table + figure + json_script("cluster-profiles", data),
    )


def lifecycle_section(lifecycle: dict[str, Any], arpu: dict[str, Any]) -> str:
    """Monthly growth accounting and ARPU line charts."""
    months = [month[:7] for month in lifecycle["months"]]
    lifecycle_chart = line_chart_svg(
        "lifecycle-trend",
        months,
        [
            Series("new", lifecycle["new_users"], PALETTE[2]),
            Series("retained", lifecycle["retained_users"], PALETTE[0]),
            Series("resurrected", lifecycle["resurrected_users"], PALETTE[1]),
            Series(
                "dormant (negative)",
                [
                    None if value is None else -value
                    for value in lifecycle["dormant_users"]
                ],
                PALETTE[5],
                dashed=True,
            ),
        ],
        title="Purchasing users by lifecycle movement per month",
        x_label="Month",
        y_label="Users",
        value_format=lambda value: format_count(abs(value)),
    )
    arpu_months = [month[:7] for month in arpu["months"]]
    arpu_chart = line_chart_svg(
        "arpu-trend",
        arpu_months,
        [
            Series("ARPU, active users", arpu["arpu_active"], PALETTE[0]),
            Series("ARPU, registered users", arpu["arpu_registered"], PALETTE[2]),
            Series("ARPPU", arpu["arppu"], PALETTE[1], dashed=True),
        ],
        title="Average revenue per user per month",
        x_label="Month",
        y_label="Net revenue per user",
        value_format=format_money,
    )
    incomplete = [
        month
        for month, complete in zip(arpu_months, arpu["is_complete_month"], strict=True)
        if not complete
    ]
    arpu_caption = (
        "ARPU over active users (a purchase or any event that month), over "
        "registered users, and ARPPU over paying users."
    )
    if incomplete:
        arpu_caption += f" Incomplete months: {', '.join(incomplete)}."
    body = (
        _figure(
            lifecycle_chart,
            "Growth accounting of purchasers: new, retained and resurrected "
            "users add up to the month's purchasing users; dormant users "
            "(purchased the month before, not this month) are drawn below zero.",
        )
        + json_script("lifecycle-trend", lifecycle)
        + _figure(arpu_chart, arpu_caption)
        + json_script("arpu-trend", arpu)
    )
    return _section(
        "trends",
        "Trends",
        "How the active base and revenue per user move month by month.",
        body,
    )


def activity_section(data: dict[str, Any]) -> str:
    """Activity tier sizes and, when events exist, behaviour per tier."""
    bars = [
        Bar(
            item["activity_tier"],
            item["user_count"],
            f"{format_count(item['user_count'])} ({format_share(item['user_share'])})",
        )
        for item in data["tiers"]
    ]
    body = _figure(
        bar_chart_svg(
            "activity",
            bars,
            title="Users per activity tier",
            x_label="Users",
            y_label="Activity tier",
            legend_label="Users (share of population)",
        ),
        "Tiers over the last 30 days, on the published thresholds for CTR, "
        "browsing minutes and purchases.",
    )
    if not data["has_behaviour_data"]:
        body += _notice(NO_BEHAVIOUR_SENTENCE)
    else:
        measures = (
            ("mean_sessions_90d", "Sessions, last 90 days", "Sessions", format_tick),
            (
                "mean_browse_minutes_90d",
                "Browsing, last 90 days",
                "Minutes",
                format_tick,
            ),
            ("mean_ctr_90d", "CTR, last 90 days", "CTR", _percent_tick),
        )
        charts = []
        for key, title, x_label, tick_format in measures:
            bars = [
                Bar(
                    item["activity_tier"],
                    item[key] or 0.0,
                    format_share(item[key])
                    if key == "mean_ctr_90d"
                    else format_number(item[key], 1),
                )
                for item in data["behaviour"]
            ]
            charts.append(
                bar_chart_svg(
                    f"activity-{key}",
                    bars,
                    title=title,
                    x_label=f"{x_label}, mean per user",
                    y_label="Activity tier",
                    legend_label="Mean per user",
                    tick_format=tick_format,
                    width=310,
                    colour=PALETTE[2],
                )
            )
        figures = "".join(_figure(chart) for chart in charts)
        body += f'<div class="row">{figures}</div>'
    return _section(
        "activity",
        "Behaviour and activity",
        "How engaged users are, from sessions, browsing, clicks and purchases.",
        body + json_script("activity", data),
    )


def playbook_section(data: dict[str, Any]) -> str:
    """Each primary segment's size and recommended use."""
    rows = [
        (
            display_label(item["segment"]),
            format_count(item["user_count"]),
            format_share(item["user_share"]),
            item["description"] or "No playbook entry.",
            item["marketing"] or "",
            item["service"] or "",
            item["product"] or "",
        )
        for item in data["segments"]
    ]
    table = _table(
        (
            ("Segment", False),
            ("Users", True),
            ("Share", True),
            ("Who", False),
            ("Marketing", False),
            ("Service", False),
            ("Product", False),
        ),
        rows,
    )
    return _section(
        "playbook",
        "Segment playbook",
        "What each primary segment is for, from lookups.segment_playbook.",
        f'<div class="table-wrap">{table}</div>' + json_script("playbook", data),
    )


# ---------------------------------------------------------------------------
# Page

STYLE = f"""
:root {{ color-scheme: light; }}
* {{ box-sizing: border-box; }}
body {{
  margin: 0; background: #F5F7FA; color: {INK};
  font-family: {FONT_FAMILY}; font-size: 15px; line-height: 1.5;
}}
main {{ max-width: 1120px; margin: 0 auto; padding: 32px 24px 64px; }}
h1 {{ font-size: 30px; margin: 0 0 4px; }}
h2 {{ font-size: 21px; margin: 0 0 4px; }}
nav {{ margin: 16px 0 0; font-size: 14px; }}
nav a {{ color: #2F6DA3; margin-right: 14px; text-decoration: none; }}
nav a:hover {{ text-decoration: underline; }}
.lead, .note, figcaption {{ color: {MUTED}; }}
figcaption {{ font-size: 13px; margin-top: 6px; max-width: 900px; }}
section {{
  background: #FFFFFF; border: 1px solid #D9E2EC; border-radius: 8px;
  padding: 20px 24px; margin: 24px 0;
}}
figure {{ margin: 16px 0; }}
svg.chart {{ display: block; max-width: 100%; height: auto; }}
svg.chart text {{ font-family: {FONT_FAMILY}; }}
.row {{ display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: flex-start; }}
.row figure {{ margin: 8px 0; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 16px; margin-top: 16px; }}
.kpi {{
  background: #FFFFFF; border: 1px solid #D9E2EC; border-radius: 8px;
  padding: 12px 18px; min-width: 200px;
}}
.kpi-label {{ color: {MUTED}; font-size: 13px; }}
.kpi-value {{ font-size: 26px; font-weight: 600; }}
.kpi-note {{ color: {MUTED}; font-size: 12px; }}
.notice {{
  background: #FFF8E1; border-left: 4px solid #F0B429; padding: 10px 14px;
  color: {INK};
}}
.table-wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }}
th, td {{
  text-align: left; padding: 7px 10px; border-bottom: 1px solid #E4E7EB;
  vertical-align: top;
}}
th {{ background: #F5F7FA; font-weight: 600; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
"""

NAVIGATION = (
    ("segment-sizes", "Segments"),
    ("rfm-heatmap", "RFM"),
    ("value-activity", "Value x activity"),
    ("cluster-profiles", "Clusters"),
    ("trends", "Trends"),
    ("activity", "Behaviour"),
    ("playbook", "Playbook"),
)


def render_report(connection: duckdb.DuckDBPyConnection) -> str:
    """The whole report as one self-contained HTML document."""
    header = load_header(connection)
    sections = [
        segment_sizes_section(load_segment_sizes(connection)),
        rfm_section(load_rfm_grid(connection)),
        value_activity_section(load_value_activity(connection)),
        cluster_section(load_cluster_profiles(connection)),
        lifecycle_section(
            load_lifecycle_trend(connection), load_arpu_trend(connection)
        ),
        activity_section(load_activity(connection)),
        playbook_section(load_playbook(connection)),
    ]
    navigation = "".join(
        f'<a href="#{_esc(anchor)}">{_esc(label)}</a>' for anchor, label in NAVIGATION
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Segment report, as of {_esc(header['as_of_date'] or 'unknown')}"
        f"</title><style>{STYLE}</style></head><body><main>"
        + header_section(header)
        + f'<nav aria-label="Sections">{navigation}</nav>'
        + "".join(sections)
        + "</main></body></html>\n"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def write_report(db_path: str | Path, out_path: str | Path) -> Path:
    """Render the warehouse at ``db_path`` into the HTML file ``out_path``.

    Raises ReportError, with a one-line message, when the warehouse is
    missing or unreadable or the file cannot be written.
    """
    database = Path(db_path)
    if not database.is_file():
        raise ReportError(f"No warehouse at {database}: run `make run` first.")
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as error:
        raise ReportError(f"Cannot open {database}: {_first_line(error)}") from None
    try:
        document = render_report(connection)
    except duckdb.Error as error:
        raise ReportError(
            f"Cannot read the segment marts in {database}: {_first_line(error)}"
        ) from None
    finally:
        connection.close()
    target = Path(out_path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"Cannot write {target}: {_first_line(error)}") from None
    return target


def _default_path(variable: str | None, default: str) -> str:
    value = os.environ.get(variable, default) if variable else default
    return str(resolve(value))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m segmentation.report``: write the report, return 0 or 1."""
    parser = argparse.ArgumentParser(
        prog="python -m segmentation.report",
        description="Write a self-contained HTML report of a built warehouse.",
    )
    parser.add_argument(
        "--db",
        default=_default_path("SEGMENTS_DB_PATH", DEFAULT_DB_PATH),
        help="the DuckDB warehouse (default: $SEGMENTS_DB_PATH or %(default)s)",
    )
    parser.add_argument(
        "--out",
        default=_default_path(None, DEFAULT_OUT_PATH),
        help="the HTML file to write (default: %(default)s)",
    )
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    try:
        path = write_report(arguments.db, arguments.out)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Segment report written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
