"""A self-contained HTML segment report read from a built warehouse.

``python -m segmentation.report [--db PATH] [--out PATH.html]``

The report is one HTML file with no external scripts, fonts, stylesheets or
images, so it opens offline and can be mailed as an attachment. Charts are
inline SVG drawn here; each chart's numbers are also embedded as JSON in
``<script type="application/json" id="data-CHARTNAME">`` so tests and users
can read the exact values behind the pictures.

The package has three layers, one module each:

* ``loaders``: read-only queries on the marts (the roll-ups of
  ``models/marts/reporting`` and a few final marts, every table named once
  in ``TABLES``) returning JSON-ready dicts; no analysis is re-derived here
  (the migration matrices are the rows of ``segment_migrations``; sizes
  over time and CLV per segment are counts and means of final marts);
* ``sections``: section renderers (``*_section``) turn one such dict into
  HTML, purely, and ``render_report`` puts the page together;
* ``charts``: SVG charts (``bar_chart_svg``, ``heatmap_svg``,
  ``scatter_svg``, ``line_chart_svg``, ``interval_chart_svg``) drawn from
  plain values, purely, on one shared frame, axis and legend helper set;

plus ``formatting`` (numbers and labels for people, JSON blocks).

Choices written down once:

* the report never reads the wall clock, so the same warehouse gives the same
  file byte for byte (the date shown is the warehouse's as-of date);
* the cluster scatter embeds coordinates and cluster ids only, never user
  ids, so the file can be shared without pseudonymous identifiers;
* a missing or unreadable warehouse ends with a one-line message on stderr
  and exit code 1, never a traceback;
* a history of one as-of date, or a warehouse built before the history
  marts, gives a sentence in the history and migration sections, never an
  error; so does calibration and holdout mode being off in the CLV section,
  and a warehouse without campaigns (or built before the campaign marts)
  in the campaigns and conversion-by-segment sections; a propensity window
  with no model shows its fallback reason and note (what to do), and a
  warehouse built before the propensity marts a sentence; so do the
  behaviour and affinity sections: one product category only (no affinity
  to compare), no events (no funnels, paths or CTR), lookalikes whose
  scoring or evaluation fell back (the mart's note), and a warehouse built
  before those marts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb

from segmentation.project import resolve
from segmentation.report.charts import (
    Bar,
    Estimate,
    EstimateSeries,
    Series,
    bar_chart_svg,
    format_tick,
    heatmap_svg,
    interval_chart_svg,
    line_chart_svg,
    nice_ticks,
    scatter_svg,
)
from segmentation.report.formatting import (
    display_label,
    format_count,
    format_money,
    format_number,
    format_share,
    json_script,
)
from segmentation.report.loaders import (
    PROJECTION_FEATURES,
    TABLES,
    project_to_2d,
)
from segmentation.report.sections import (
    HOLDOUT_OFF_SENTENCE,
    NO_BEHAVIOUR_SENTENCE,
    NO_CLUSTERS_SENTENCE,
    NO_HISTORY_SENTENCE,
    NO_MIGRATION_SENTENCE,
    NO_SCATTER_SENTENCE,
    ONE_SNAPSHOT_SENTENCE,
    cluster_section,
    render_report,
)

__all__ = [
    "DEFAULT_DB_PATH",
    "DEFAULT_OUT_PATH",
    "HOLDOUT_OFF_SENTENCE",
    "NO_BEHAVIOUR_SENTENCE",
    "NO_CLUSTERS_SENTENCE",
    "NO_HISTORY_SENTENCE",
    "NO_MIGRATION_SENTENCE",
    "NO_SCATTER_SENTENCE",
    "ONE_SNAPSHOT_SENTENCE",
    "PROJECTION_FEATURES",
    "TABLES",
    "Bar",
    "Estimate",
    "EstimateSeries",
    "ReportError",
    "Series",
    "bar_chart_svg",
    "cluster_section",
    "display_label",
    "format_count",
    "format_money",
    "format_number",
    "format_share",
    "format_tick",
    "heatmap_svg",
    "interval_chart_svg",
    "json_script",
    "line_chart_svg",
    "main",
    "nice_ticks",
    "project_to_2d",
    "render_report",
    "scatter_svg",
    "write_report",
]

DEFAULT_DB_PATH = "warehouse/segments.duckdb"
DEFAULT_OUT_PATH = "warehouse/segment_report.html"


class ReportError(Exception):
    """The warehouse cannot be read or the report cannot be written."""


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
