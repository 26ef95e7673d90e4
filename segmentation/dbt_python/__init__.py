"""Glue between the dbt Python models and ``segmentation.methods``.

Each function takes and returns Arrow tables, reads its settings from the
model's ``config.meta`` (fed by the dbt vars) and reports problems with a
``[segmentation]`` log line and a fallback, never an exception.

The clustering models keep their state per as-of date: their table holds
one set of rows per as-of date built (``as_of_date`` column), and a build
replaces only the rows of its own date (:func:`replace_snapshot`). What a
build carries over comes from the previous snapshot, the rows of the latest
as-of date strictly before the build's (:func:`read_previous`), never from
whichever build ran last, so a date's result depends only on the data, the
date and the snapshots before it. Readers take the build's date only
(:func:`snapshot_rows`).
"""

from __future__ import annotations

import datetime as dt
import sys

import pyarrow as pa

AS_OF_DATE = "as_of_date"


def log(message: str) -> None:
    """One line in the dbt output."""
    print(f"[segmentation] {message}", file=sys.stdout, flush=True)


def as_of_date(calendar) -> dt.date:
    """The build's as-of date from the relation of ``int_as_of_date`` (the
    Python side of the SQL macro ``as_of_date()``). The model passes
    ``dbt.ref("int_as_of_date")`` itself, so that dbt sees the ref."""
    return calendar.select(AS_OF_DATE).fetchall()[0][0]


def stamped(table: pa.Table, day: dt.date) -> pa.Table:
    """table with the as-of date as its first column (a model's rows of one
    snapshot)."""
    return table.add_column(
        0,
        pa.field(AS_OF_DATE, pa.date32()),
        pa.array([day] * table.num_rows, pa.date32()),
    )


def snapshot_rows(state, day: dt.date) -> pa.Table:
    """The rows of ``state`` (the relation of a model kept per as-of date,
    ``dbt.ref(...)`` in the model) for ``day``, without the as_of_date
    column: what that model computed for the build."""
    rows = state.filter(f"{AS_OF_DATE} = date '{day.isoformat()}'")
    return rows.to_arrow_table().drop_columns([AS_OF_DATE])


def _state_columns(session, this) -> list[str]:
    """The columns of this model's table as it stands before the build
    (none on the first run)."""
    found = session.sql(
        "select column_name from information_schema.columns"
        " where table_schema = $1 and table_name = $2 order by ordinal_position",
        params=[this.schema, this.identifier],
    ).fetchall()
    return [column for (column,) in found]


class Sibling:
    """Another model's table in the schema of ``this`` (a relation with
    schema, identifier and its quoted name), for reading its previous
    snapshot where a ``dbt.ref`` would make a cycle: the k selection reads
    the previous snapshot of the user clusters, which ref the k
    selection. Only dates before the build's are read, all written by
    earlier builds, so the build order does not matter."""

    def __init__(self, this, identifier: str):
        self.database = this.database
        self.schema = this.schema
        self.identifier = identifier

    def __str__(self) -> str:
        return f'"{self.database}"."{self.schema}"."{self.identifier}"'


def read_previous(session, this, day: dt.date, *columns: str) -> pa.Table | None:
    """The given columns of this model's rows of the latest as-of date
    strictly before ``day`` (the previous snapshot), or None when there is
    none: no table yet, a table from before the state was kept per date, or
    no earlier date (first-run behaviour). Later dates never count, so
    rebuilding a date gives the rows it had."""
    if not {AS_OF_DATE, *columns} <= set(_state_columns(session, this)):
        return None
    previous = session.sql(
        f"select max({AS_OF_DATE}) from {this} where {AS_OF_DATE} < $1",
        params=[day],
    ).fetchall()[0][0]
    if previous is None:
        return None
    column_list = ", ".join(f'"{column}"' for column in columns)
    return session.sql(
        f"select {column_list} from {this} where {AS_OF_DATE} = $1",
        params=[previous],
    ).to_arrow_table()


def replace_snapshot(session, this, day: dt.date, rows: pa.Table):
    """The model's new table: its rows of every other as-of date as they
    were, and ``rows`` as the rows of ``day`` (stamped with it), so a date
    is kept once and rebuilding it replaces it, even with no rows. A table
    without every column of ``rows`` (first run, or from before the state
    was kept per date) starts afresh. Returns a DuckDB relation (the other
    dates never leave DuckDB) or, on a fresh start, the Arrow table."""
    current = stamped(rows, day)
    if not set(current.column_names) <= set(_state_columns(session, this)):
        return current
    column_list = ", ".join(f'"{column}"' for column in current.column_names)
    kept = session.sql(
        f"select {column_list} from {this} where {AS_OF_DATE} <> $1",
        params=[day],
    )
    return kept.union(session.from_arrow(current))
