"""Scans for personal data where it must never be: the marts and every
published file.

Personal data (e-mail, phone, exact birth date) stays in staging. The marts
carry a pseudonymous ``user_key`` and an age band; the published release
for BI carries no ``user_id`` at all. This module checks that by content,
not by trusting column names: every text column of every table is searched
for e-mail addresses and phone numbers, and every column named like a
personal attribute is reported. ``publish`` refuses a release with a
finding, so personal data cannot leak to BI by accident.

``python -m segmentation.privacy --db PATH [--schema marts]`` or
``--parquet FOLDER`` prints the findings and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import duckdb

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = r"\+?\d{1,3}[ .-]?\(?\d{2,4}\)?[ .-]\d{3,4}[ .-]?\d{3,4}"
PERSONAL_COLUMNS = ("email", "phone", "birth_date", "first_name", "last_name")
TEXT_TYPES = ("VARCHAR", "JSON")


@dataclass(frozen=True)
class Finding:
    """Personal data found: where, and what."""

    table: str
    column: str
    kind: str
    rows: int

    def __str__(self) -> str:
        detail = f"{self.rows:,} rows" if self.rows else "column name"
        return f"{self.table}.{self.column}: {self.kind} ({detail})"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def scan_relation(
    connection: duckdb.DuckDBPyConnection, label: str, relation: str
) -> list[Finding]:
    """Findings in one table, view or file expression (``read_parquet(...)``).

    Every text column is searched for both patterns in one pass over the
    relation (one count per column and pattern, all in one query), not one
    scan per column and pattern."""
    columns = connection.execute(f"describe select * from {relation}").fetchall()
    searched = [
        (name, kind, pattern)
        for name, column_type, *_ in columns
        if str(column_type).upper().startswith(TEXT_TYPES)
        for kind, pattern in (("e-mail", EMAIL_PATTERN), ("phone", PHONE_PATTERN))
    ]
    counts = []
    if searched:
        counts = connection.execute(
            "select "
            + ", ".join(
                # cast: a list of text (VARCHAR[]) is searched as its text.
                f"count(*) filter (where regexp_matches(cast({_quote(name)} as"
                f" varchar), ${number}))"
                for number, (name, _, _) in enumerate(searched, start=1)
            )
            + f" from {relation}",
            [pattern for _, _, pattern in searched],
        ).fetchall()[0]
    found = {
        (name, kind): count
        for (name, kind, _), count in zip(searched, counts, strict=True)
    }
    findings = []
    for name, *_ in columns:
        if name.lower() in PERSONAL_COLUMNS:
            findings.append(Finding(label, name, "personal column", 0))
        for kind in ("e-mail", "phone"):
            if found.get((name, kind)):
                findings.append(Finding(label, name, kind, found[(name, kind)]))
    return findings


def scan_database(path: Path, schemas: tuple[str, ...] = ("marts",)) -> list[Finding]:
    """Findings in every table of the given schemas of a DuckDB file."""
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "select table_schema, table_name from information_schema.tables"
            f" where table_schema in ({', '.join('?' for _ in schemas)})"
            " order by 1, 2",
            list(schemas),
        ).fetchall()
        findings = []
        for schema, table in tables:
            findings += scan_relation(
                connection, f"{schema}.{table}", f"{_quote(schema)}.{_quote(table)}"
            )
    return findings


def scan_parquet(folder: Path) -> list[Finding]:
    """Findings in every Parquet file of a folder."""
    findings = []
    with duckdb.connect() as connection:
        for path in sorted(folder.glob("*.parquet")):
            relation = f"read_parquet('{path}')"
            findings += scan_relation(connection, path.name, relation)
    return findings


def scan_csv(folder: Path) -> list[Finding]:
    """Findings in every CSV file of a folder (every column read as text)."""
    findings = []
    with duckdb.connect() as connection:
        for path in sorted(folder.glob("*.csv")):
            relation = f"read_csv('{path}', header = true, all_varchar = true)"
            findings += scan_relation(connection, path.name, relation)
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segmentation.privacy",
        description="Find e-mail addresses and phone numbers in marts or files.",
    )
    parser.add_argument("--db", type=Path, help="DuckDB file to scan")
    parser.add_argument("--schema", action="append", help="schema (default marts)")
    parser.add_argument("--parquet", type=Path, help="folder of Parquet files")
    args = parser.parse_args(argv)
    findings = []
    if args.db:
        findings += scan_database(args.db, tuple(args.schema or ["marts"]))
    if args.parquet:
        findings += scan_parquet(args.parquet)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} findings of personal data")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
