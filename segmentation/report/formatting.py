"""Number, label and text formatting shared by the report's layers."""

from __future__ import annotations

import html
import json
import math
from decimal import Decimal


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


def format_points(value: float | None, decimals: int = 1) -> str:
    """A difference of two rates in percentage points, signed:
    0.0412 -> '+4.1 pts'."""
    if value is None:
        return "n/a"
    return f"{value * 100:+.{decimals}f} pts"


def format_p_value(value: float | None) -> str:
    """A p-value for people: '< 0.001' below 0.001, else three decimals."""
    if value is None:
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def display_label(label: str | None) -> str:
    """A label for people: snake_case becomes words, null becomes 'missing'."""
    if label is None:
        return "missing"
    return str(label).replace("_", " ")


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def as_float(value: object) -> float | None:
    """A database number as a float (Decimal included), None kept."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def as_money(value: object) -> float | None:
    number = as_float(value)
    return None if number is None else round(number, 2)


def as_ratio(value: object, digits: int = 6) -> float | None:
    number = as_float(value)
    return None if number is None else round(number, digits)


def json_script(chart_id: str, data: object) -> str:
    """The chart's data as a JSON script block that is safe inside HTML."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    text = text.replace("&", "\\u0026").replace("<", "\\u003c")
    text = text.replace(">", "\\u003e")
    return (
        f'<script type="application/json" id="data-{escape(chart_id)}">{text}</script>'
    )
