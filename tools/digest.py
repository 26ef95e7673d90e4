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


def _tables(
    connection: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]
) -> list[tuple[str, str]]:
    """The (schema, table) of every table and view of the schemas, sorted."""
    return connection.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_schema in "
        f"({', '.join('?' for _ in schemas)}) order by 1, 2",
        list(schemas),
    ).fetchall()


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
        for schema, table in _tables(connection, schemas):
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


# Doubles of two builds on different machines may differ in their last bits
# (the optimisers of the fits and the vectorised exp/log of numpy take other
# paths on CPUs with AVX-512), enough to move a value across a rounding
# boundary: recorded results are compared by fingerprints that tolerate
# that, not by hashes. A double column counts as changed when one of its
# sums moves by more than this share of its scale.
# Measured: the same build with numpy's AVX-512 paths on and off gives fit
# parameters up to 1.3e-6 apart (the likelihood is flat along some
# directions) and predictions 1e-7 apart.
FINGERPRINT_TOLERANCE = 1e-4
DOUBLE_TYPES = ("DOUBLE", "FLOAT", "REAL")
# Optimiser metadata: the number of iterations may differ with those bits.
FINGERPRINT_LEAVE_OUT = ("iterations",)


def table_fingerprints(
    database: Path, schemas: tuple[str, ...] = OUTPUT_SCHEMAS
) -> dict[str, dict]:
    """One fingerprint per table or view of the schemas, keyed
    ``schema.table``, independent of row order and of the last bits of
    doubles.

    ``exact``: a hash of the column names and types, the row count and the
    sum of one 64-bit hash per row over every column but the doubles (and
    whether each double is null), as :func:`table_hashes` does. ``doubles``:
    per double column its sum, its sum of squares and its sum weighted by a
    pseudo-random weight of each row's exact columns (so a value moved to
    another row changes it). ``*_seconds`` columns and the optimisers'
    ``iterations``, run metadata, are left out. Compare two with
    :func:`changed_fingerprints`.
    """
    fingerprints = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        for schema, table in _tables(connection, schemas):
            columns, _ = comparable_values(
                connection, schema, table, leave_out=FINGERPRINT_LEAVE_OUT
            )
            doubles = [name for name, kind in columns if kind in DOUBLE_TYPES]
            exact = [
                f"cast({_quote(name)} is null as varchar)"
                if kind in DOUBLE_TYPES
                else f"cast({_quote(name)} as varchar)"
                for name, kind in columns
            ]
            row_hash = f"hash([{', '.join(exact)}])"
            weight = f"(({row_hash} % 1000003) / 1000003.0)"
            sums = "".join(
                f", sum({_quote(name)}), sum({_quote(name)} * {_quote(name)}),"
                f" sum({_quote(name)} * {weight})"
                for name in doubles
            )
            found = connection.execute(
                f"select count(*), coalesce(sum({row_hash}), 0){sums}"
                f" from {_quote(schema)}.{_quote(table)}"
            ).fetchall()[0]
            layout = ",".join(f"{name} {kind}" for name, kind in columns)
            fingerprints[f"{schema}.{table}"] = {
                "exact": hashlib.md5(
                    f"{layout}|{found[0]}|{found[1]}".encode()
                ).hexdigest(),
                "doubles": {
                    name: [
                        None if value is None else float(value)
                        for value in found[2 + 3 * index : 5 + 3 * index]
                    ]
                    for index, name in enumerate(doubles)
                },
            }
    return fingerprints


def _sums_agree(left: list, right: list) -> bool:
    """Two [sum, sum of squares, weighted sum] of a double column agree
    within FINGERPRINT_TOLERANCE of the column's scale (the square root of
    its sum of squares, at least 1)."""
    if (left[1] is None) != (right[1] is None):
        return False
    if left[1] is None:
        return True
    scale = max(1.0, abs(left[1]) ** 0.5, abs(right[1]) ** 0.5)
    return all(
        abs(a - b) <= FINGERPRINT_TOLERANCE * max(scale, abs(a), abs(b))
        for a, b in zip(left, right, strict=True)
    )


def changed_fingerprints(
    expected: dict[str, dict], found: dict[str, dict]
) -> list[str]:
    """Tables of expected that found lacks or whose content differs: another
    exact part, another set of double columns, or a double column's sums
    apart by more than FINGERPRINT_TOLERANCE."""
    changed = []
    for name, want in expected.items():
        have = found.get(name)
        if (
            have is None
            or have["exact"] != want["exact"]
            or have["doubles"].keys() != want["doubles"].keys()
            or not all(
                _sums_agree(want["doubles"][column], have["doubles"][column])
                for column in want["doubles"]
            )
        ):
            changed.append(name)
    return sorted(changed)
