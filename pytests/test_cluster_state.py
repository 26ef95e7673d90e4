"""The clustering state is kept per as-of date: what a date's build carries
over (the k, the cluster ids) comes from the previous snapshot, the latest
as-of date before it, never from whichever build ran last, so rebuilding a
date gives the rows it had."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pytest

from segmentation.dbt_python import (
    read_previous,
    replace_snapshot,
    snapshot_rows,
    stamped,
)
from segmentation.history import HISTORY_TABLES


@dataclass(frozen=True)
class Relation:
    """What dbt.this gives a Python model: schema, identifier, and the
    relation as SQL text."""

    schema: str
    identifier: str

    def __str__(self) -> str:
        return f'"{self.schema}"."{self.identifier}"'


STATE = Relation("intermediate", "state")
DAYS = (dt.date(2026, 1, 1), dt.date(2026, 3, 1), dt.date(2026, 5, 1))


@pytest.fixture
def session() -> duckdb.DuckDBPyConnection:
    """A real DuckDB with a state of three snapshots; the users of each
    date say which date they belong to (u1 has cluster 1 in January, ...)."""
    connection = duckdb.connect()
    connection.execute("create schema intermediate")
    connection.execute(
        "create table intermediate.state as select * from (values"
        " (date '2026-05-01', 'u3', 3), (date '2026-01-01', 'u1', 1),"
        " (date '2026-03-01', 'u2', 2), (date '2026-03-01', 'u2b', 2))"
        " as t(as_of_date, user_id, cluster_id)"
    )
    return connection


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # The latest date strictly before: never the date itself, never later.
        (dt.date(2026, 4, 15), [("u2", 2), ("u2b", 2)]),
        (dt.date(2026, 3, 1), [("u1", 1)]),
        (dt.date(2026, 3, 2), [("u2", 2), ("u2b", 2)]),
        (dt.date(2026, 12, 1), [("u3", 3)]),
    ],
)
def test_the_previous_snapshot_is_the_latest_earlier_date(
    session: duckdb.DuckDBPyConnection, day: dt.date, expected: list
) -> None:
    previous = read_previous(session, STATE, day, "user_id", "cluster_id")
    assert previous is not None
    assert previous.column_names == ["user_id", "cluster_id"]
    assert sorted(zip(*previous.to_pydict().values(), strict=True)) == expected


def test_no_earlier_snapshot_is_a_first_run(
    session: duckdb.DuckDBPyConnection,
) -> None:
    # The earliest date, a date before it, no table, a table of undated rows
    # (from before the state was kept per date).
    assert read_previous(session, STATE, DAYS[0], "user_id") is None
    assert read_previous(session, STATE, dt.date(2025, 1, 1), "user_id") is None
    missing = Relation("intermediate", "missing")
    assert read_previous(session, missing, DAYS[2], "user_id") is None
    session.execute("create table intermediate.legacy as select 'u1' as user_id")
    legacy = Relation("intermediate", "legacy")
    assert read_previous(session, legacy, DAYS[2], "user_id") is None


def _replaced(session, relation: Relation, day: dt.date, rows: pa.Table) -> list:
    """The model's table after a build of day: what replace_snapshot
    returns, written as dbt writes a Python model's result."""
    result = replace_snapshot(session, relation, day, rows)
    session.register("result", result)
    session.execute(f"create or replace table {relation} as select * from result")
    session.unregister("result")
    return session.sql(f"select * from {relation} order by all").fetchall()


ROWS = pa.table({"user_id": ["a", "b"], "cluster_id": pa.array([7, 8], pa.int32())})


def test_a_build_replaces_only_its_own_date(
    session: duckdb.DuckDBPyConnection,
) -> None:
    stamped_rows = stamped(ROWS, DAYS[1])
    assert stamped_rows.column_names == ["as_of_date", "user_id", "cluster_id"]
    assert stamped_rows.schema.field("as_of_date").type == pa.date32()
    assert stamped_rows["as_of_date"].to_pylist() == [DAYS[1], DAYS[1]]
    # Rebuilding March: January and May stay, March is replaced (one copy).
    assert _replaced(session, STATE, DAYS[1], ROWS) == [
        (DAYS[0], "u1", 1),
        (DAYS[1], "a", 7),
        (DAYS[1], "b", 8),
        (DAYS[2], "u3", 3),
    ]
    # A new date slots in; an empty result leaves its date with no rows.
    assert len(_replaced(session, STATE, dt.date(2026, 7, 1), ROWS)) == 6
    assert _replaced(session, STATE, DAYS[1], ROWS.slice(0, 0)) == [
        (DAYS[0], "u1", 1),
        (DAYS[2], "u3", 3),
        (dt.date(2026, 7, 1), "a", 7),
        (dt.date(2026, 7, 1), "b", 8),
    ]


def test_a_first_or_undated_table_starts_afresh(
    session: duckdb.DuckDBPyConnection,
) -> None:
    missing = Relation("intermediate", "missing")
    assert _replaced(session, missing, DAYS[0], ROWS) == [
        (DAYS[0], "a", 7),
        (DAYS[0], "b", 8),
    ]
    session.execute(
        "create table intermediate.legacy as select 'u1' as user_id, 1 as cluster_id"
    )
    legacy = Relation("intermediate", "legacy")
    assert _replaced(session, legacy, DAYS[0], ROWS.slice(0, 1)) == [(DAYS[0], "a", 7)]


def test_readers_take_the_rows_of_one_date(
    session: duckdb.DuckDBPyConnection,
) -> None:
    state = session.sql(f"select * from {STATE}")
    assert snapshot_rows(state, DAYS[1]).to_pydict() == {
        "user_id": ["u2", "u2b"],
        "cluster_id": [2, 2],
    }
    assert snapshot_rows(state, dt.date(2026, 2, 1)).num_rows == 0
    assert snapshot_rows(state, DAYS[0]).column_names == ["user_id", "cluster_id"]


def test_clear_history_drops_the_clustering_state() -> None:
    assert ("intermediate", "int_users_clustered") in HISTORY_TABLES
    assert ("intermediate", "int_clustering_k_selected") in HISTORY_TABLES
