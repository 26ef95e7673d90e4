"""Segment history: the as-of dates of a backfill, the backfill loop, and
clearing the history.

Every metric of the warehouse is computed as of a date from the orders,
events and sign-ups before it, so the history (``segment_history``, kept in
``int_user_snapshots_accumulated``, and the feature history the propensity
models train on, ``int_user_features_accumulated``) can start on the first
day of the data:
``make run HISTORY_FROM=YYYY-MM-DD [HISTORY_EVERY=month|week]`` builds the
snapshot of every date from HISTORY_FROM up to the build's as-of date, then
the build itself (``segmentation.cli``).

The loop (:func:`backfill`, run by ``make run`` in its own process, or
``python -m segmentation.history backfill --dates ...`` on a built
warehouse) reuses the staged data: it rebuilds, per date, only the models
that depend on the as-of date and lead to the history (dbt selector
:data:`BACKFILL_SELECTOR`), without their tests (the build that follows
runs every test once). dbt runs in the same process on the build's one
parse of the project (segmentation.dbt_runner): at size M that saves dbt's
parse, about 5 s, per date.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

import duckdb

from segmentation.dbt_runner import Dbt

# The models rebuilt per backfilled date: those that depend on the as-of
# date and lead to the history's states: the segment history, and the
# feature history the propensity models learn from (named too, so it is
# backfilled whether or not the segments read the propensity scores).
HISTORY_MODEL = "int_user_snapshots_accumulated"
FEATURE_HISTORY_MODEL = "int_user_features_accumulated"
BACKFILL_SELECTOR = (
    f"int_as_of_date+,+{HISTORY_MODEL} int_as_of_date+,+{FEATURE_HISTORY_MODEL}"
)
# The tables `clear-history` drops: the history's state and the marts made
# from it (the next build starts a new history), the feature history (the
# next build has no earlier snapshot: the propensity windows fall back to
# no_history until a backfill), and the clustering's state kept per as-of
# date (k and cluster ids carried from the previous snapshot; the next
# build clusters as a first run). Schema, table.
HISTORY_TABLES: tuple[tuple[str, str], ...] = (
    ("intermediate", HISTORY_MODEL),
    ("marts", "segment_history"),
    ("intermediate", FEATURE_HISTORY_MODEL),
    ("intermediate", "int_clustering_k_selected"),
    ("intermediate", "int_users_clustered"),
)
STEPS = ("month", "week")
# HISTORY_FROM=auto: this many steps before the as-of date (a year of
# monthly history, what `make run` on the demo shows).
AUTO_STEPS = {"month": 12, "week": 52}


class HistoryError(Exception):
    """A backfill that cannot be done as asked, as a one-line message."""


def add_months(day: dt.date, months: int) -> dt.date:
    """day moved by whole months, clipped to the month's last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def step_date(start: dt.date, every: str, count: int) -> dt.date:
    """The count-th as-of date after start, stepping by month or week."""
    if every == "month":
        return add_months(start, count)
    return start + dt.timedelta(weeks=count)


def backfill_dates(
    history_from: str,
    every: str,
    as_of_date: dt.date,
    first_order_date: dt.date,
) -> tuple[list[dt.date], list[str]]:
    """The as-of dates to backfill before as_of_date (which the build
    itself adds), and notes on what was left out.

    history_from is a date (YYYY-MM-DD) or ``auto`` (a year before
    as_of_date, :data:`AUTO_STEPS`). Dates step from it by month (same day
    of the month, clipped to the month's end) or week. Dates on or before
    the first valid order are left out: nothing happened before them."""
    if every not in STEPS:
        raise HistoryError(f"HISTORY_EVERY must be month or week, got {every!r}.")
    if history_from == "auto":
        start = step_date(as_of_date, every, -AUTO_STEPS[every])
    else:
        try:
            start = dt.date.fromisoformat(history_from)
        except ValueError:
            raise HistoryError(
                "HISTORY_FROM must be a date written YYYY-MM-DD (or auto, a"
                f" year before the as-of date), got {history_from!r}."
            ) from None
    if start >= as_of_date:
        raise HistoryError(
            f"HISTORY_FROM {start} is not before the as-of date {as_of_date}:"
            " nothing to backfill (choose an earlier date)."
        )
    dates, skipped = [], []
    count = 0
    while (day := step_date(start, every, count)) < as_of_date:
        (dates if day > first_order_date else skipped).append(day)
        count += 1
    notes = []
    if skipped:
        notes.append(
            f"left out {len(skipped)} date(s) from {skipped[0]} to {skipped[-1]}:"
            f" on or before the first valid order ({first_order_date})"
        )
    return dates, notes


def read_calendar(database: Path) -> tuple[dt.date, dt.date, dt.date | None]:
    """The as-of date of the last build, the day of the first valid order
    and the day of the first valid event (None without events)."""
    connection = duckdb.connect(str(database), read_only=True)
    try:
        as_of, first_ordered_at = connection.execute(
            "select as_of_date, first_ordered_at from intermediate.int_as_of_date"
        ).fetchone()
        first_event_at = connection.execute(
            "select min(occurred_at) from staging.stg_app__events"
        ).fetchone()[0]
    finally:
        connection.close()
    return (
        as_of,
        first_ordered_at.date(),
        first_event_at.date() if first_event_at is not None else None,
    )


def behaviour_coverage_note(
    dates: list[dt.date], first_event_date: dt.date | None, window_days: int
) -> str | None:
    """A note when the behaviour events start after the look-back window of
    the first backfilled dates: those snapshots have partial or no
    behaviour data, so segments built on behaviour (activity tiers, engaged
    prospects) can jump when the event log starts, a change of coverage
    rather than of behaviour."""
    if first_event_date is None or not dates:
        return None
    covered_from = first_event_date + dt.timedelta(days=window_days)
    partial = [day for day in dates if day < covered_from]
    if not partial:
        return None
    return (
        f"the behaviour events start on {first_event_date}, so the"
        f" {len(partial)} snapshot(s) before {covered_from} ({window_days} days"
        " later) have partial or no behaviour data: activity tiers and engaged"
        " prospects there reflect the event log's coverage, not behaviour"
    )


def clear(database: Path) -> list[str]:
    """Drop the history's tables; return those that existed."""
    if not database.exists():
        return []
    try:
        connection = duckdb.connect(str(database))
    except duckdb.Error as error:
        raise HistoryError(f"Cannot open {database}: {error}") from None
    dropped = []
    try:
        for schema, table in HISTORY_TABLES:
            found = connection.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()[0]
            if found:
                connection.execute(f'drop table "{schema}"."{table}"')
                dropped.append(f"{schema}.{table}")
    finally:
        connection.close()
    return dropped


def backfill(dbt: Dbt, dates: list[str], variables: dict) -> int:
    """Build the history's snapshot of every date, in order, on the staged
    data, with dbt (whose parse uses the build's own vars, variables; the
    as-of date of each run comes with its vars); print one progress line per
    date; return an exit code."""
    if dbt.parse() != 0:
        return 1
    for number, day in enumerate(dates, start=1):
        started = time.monotonic()
        print(f"  history {number}/{len(dates)}: as of {day} ...", end=" ", flush=True)
        code, output = dbt.invoke(
            [
                "run",
                "--quiet",
                # Each date's manifest.json and run_results.json would only
                # be overwritten by the next date's (and the build's).
                "--no-write-json",
                "--select",
                BACKFILL_SELECTOR,
                "--vars",
                json.dumps({**variables, "as_of_date": day}),
            ],
            quiet=True,
        )
        if code != 0:
            print("failed")
            print(output, end="")
            return 1
        print(f"done in {time.monotonic() - started:.1f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segmentation.history")
    commands = parser.add_subparsers(dest="command", required=True)
    loop = commands.add_parser("backfill", help="build the history of each date")
    loop.add_argument("--dates", required=True, help="YYYY-MM-DD,... in order")
    loop.add_argument("--vars", default="{}", help="dbt vars (JSON)")
    args = parser.parse_args(argv)
    variables = json.loads(args.vars)
    with Dbt(dict(os.environ), variables) as dbt:
        return backfill(dbt, args.dates.split(","), variables)


if __name__ == "__main__":
    sys.exit(main())
