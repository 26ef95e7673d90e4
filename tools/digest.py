"""Content hashes of warehouse tables: the one way the benchmark and the
pytest suite decide that two builds gave the same result."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

# The public interface of the warehouse: the BI tables and their lookups.
OUTPUT_SCHEMAS = ("marts", "lookups")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def comparable_values(
    connection: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    catalog: str | None = None,
    leave_out: tuple[str, ...] = (),
) -> tuple[list[tuple[str, str]], list[str]]:
    """The columns of a table that make its result, as (name, type), and one
    SQL expression per column to compare them by: doubles rounded to 6
    decimals (parallel sums may differ in the last bits between runs, which
    is not a different result); ``*_seconds`` columns, run metadata, and the
    columns named in leave_out are left out. catalog: an attached database
    (default: the connection's own)."""
    catalog_filter = "" if catalog is None else " and table_catalog = ?"
    columns = [
        (name, kind)
        for name, kind in connection.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ?"
            f"{catalog_filter} order by ordinal_position",
            [schema, table] + ([] if catalog is None else [catalog]),
        ).fetchall()
        if not name.endswith("_seconds") and name not in leave_out
    ]
    values = [
        f"round({_quote(name)}, 6)"
        if kind in ("DOUBLE", "FLOAT", "REAL")
        else _quote(name)
        for name, kind in columns
    ]
    return columns, values


def table_hashes(
    database: Path, schemas: tuple[str, ...] = OUTPUT_SCHEMAS
) -> dict[str, str]:
    """One content hash per table or view of the schemas, keyed
    ``schema.table``, independent of row order.

    The hash covers the column names and types, the row count and the sum of
    one 64-bit hash per row (so duplicates count and NULLs differ from empty
    strings). Doubles are rounded to 6 decimals (parallel sums may differ in
    the last bits between runs, which is not a different result) and
    ``*_seconds`` columns, run metadata, are left out.
    """
    hashes = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in "
            f"({', '.join('?' for _ in schemas)}) order by 1, 2",
            list(schemas),
        ).fetchall()
        for schema, table in tables:
            columns, values = comparable_values(connection, schema, table)
            row = ", ".join(f"cast({value} as varchar)" for value in values)
            rows, total = connection.execute(
                f"select count(*), coalesce(sum(hash([{row}])), 0)"
                f" from {_quote(schema)}.{_quote(table)}"
            ).fetchall()[0]
            layout = ",".join(f"{name} {kind}" for name, kind in columns)
            digest = hashlib.md5(f"{layout}|{rows}|{total}".encode()).hexdigest()
            hashes[f"{schema}.{table}"] = digest
    return hashes


def differing_tables(left: dict[str, str], right: dict[str, str]) -> list[str]:
    """Tables whose hash differs or that only one side has."""
    return sorted(
        name for name in left.keys() | right.keys() if left.get(name) != right.get(name)
    )
