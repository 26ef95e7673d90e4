"""Publish the BI-facing tables after a successful build.

A DuckDB file has one writer or many readers, so a BI tool holding the
warehouse open would make the next ``dbt build`` fail on the lock, and a
reader during a build could see it half-written. Instead, BI reads a
*release*: after each successful build the marts (and lookups) are copied
into a new folder ``warehouse/published/releases/<id>/`` holding

* ``<warehouse name>.duckdb``: a read-only copy with schemas ``marts`` and
  ``lookups`` (same database name as the warehouse, so compiled analyses
  run on it unchanged);
* ``parquet/<table>.parquet``: one Parquet file per table;
* ``manifest.json``: tables, row counts, as-of date.

No ``user_id`` is published (BI uses the pseudonymous ``user_key``), and a
release in which ``segmentation.privacy`` finds an e-mail address, a phone
number or a personal column is refused before it becomes current.

The release is written beside the others and only then made current by
atomically replacing the symlink ``warehouse/published/current``. Readers
that opened the previous release keep reading it undisturbed (its files
are never modified); new readers get the new one; nobody ever sees a
partial release. Older releases beyond ``keep`` are removed (a reader that
still has one open keeps its file handle on Linux and macOS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import duckdb

from segmentation import privacy

PUBLISHED_SCHEMAS = ("marts", "lookups")
# Columns never published: BI identifies users by the pseudonymous user_key.
WITHHELD_COLUMNS = ("user_id",)


class PublishError(Exception):
    """The warehouse cannot be published (missing or locked)."""


def _release_id(releases: Path) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    candidate = stamp
    counter = 1
    while (releases / candidate).exists():
        candidate = f"{stamp}-{counter}"
        counter += 1
    return candidate


def _tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    return connection.execute(
        "select table_schema, table_name from information_schema.tables"
        f" where table_schema in ({placeholders})"
        " and table_catalog = 'warehouse' and table_type = 'BASE TABLE'"
        " order by 1, 2",
        list(PUBLISHED_SCHEMAS),
    ).fetchall()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _write_release(warehouse: Path, folder: Path) -> dict:
    (folder / "parquet").mkdir(parents=True)
    published = folder / warehouse.name
    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{warehouse}' as warehouse (read_only)")
    except duckdb.Error as error:
        connection.close()
        raise PublishError(f"Cannot open {warehouse}: {error}") from None
    manifest: dict = {"warehouse": str(warehouse), "tables": {}}
    try:
        tables = _tables(connection)
        if not tables:
            raise PublishError(f"{warehouse} has no marts to publish: build first.")
        connection.execute(f"attach '{published}' as release")
        for schema in PUBLISHED_SCHEMAS:
            connection.execute(f"create schema if not exists release.{_quote(schema)}")
        for schema, table in tables:
            name = f"{_quote(schema)}.{_quote(table)}"
            columns = [
                row[0]
                for row in connection.execute(f"describe warehouse.{name}").fetchall()
            ]
            withheld = [column for column in columns if column in WITHHELD_COLUMNS]
            if len(withheld) == len(columns):
                continue
            exclude = (
                f" exclude ({', '.join(_quote(c) for c in withheld)})"
                if withheld
                else ""
            )
            source = f"(select *{exclude} from warehouse.{name})"
            connection.execute(f"create table release.{name} as {source}")
            parquet = folder / "parquet" / f"{table}.parquet"
            connection.execute(f"copy {source} to '{parquet}' (format parquet)")
            rows = connection.execute(f"select count(*) from {source}").fetchall()
            manifest["tables"][f"{schema}.{table}"] = rows[0][0]
        as_of = connection.execute(
            "select max(as_of_date) from warehouse.marts.user_profiles"
        ).fetchall()
        manifest["as_of_date"] = str(as_of[0][0]) if as_of[0][0] else None
        connection.execute("detach release")
    finally:
        connection.close()
    findings = privacy.scan_database(published, PUBLISHED_SCHEMAS)
    findings += privacy.scan_parquet(folder / "parquet")
    if findings:
        raise PublishError(
            "Refusing to publish: personal data found in the release: "
            + "; ".join(str(finding) for finding in findings)
        )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def publish(warehouse: Path, root: Path, keep: int = 3) -> Path:
    """Publish the warehouse's marts as a new release and make it current.

    Returns the folder of the new release. ``root/current`` always points at
    a complete release.
    """
    warehouse = warehouse.resolve()
    if not warehouse.exists():
        raise PublishError(f"No warehouse at {warehouse}: run `make run` first.")
    releases = root / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    release_id = _release_id(releases)
    staging = releases / f".{release_id}.partial"
    try:
        _write_release(warehouse, staging)
        final = releases / release_id
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    link = root / f".current.{release_id}"
    link.symlink_to(Path("releases") / release_id, target_is_directory=True)
    os.replace(link, root / "current")
    _prune(releases, keep, current=final)
    return final


def _prune(releases: Path, keep: int, current: Path) -> None:
    finished = sorted(
        path
        for path in releases.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )
    for old in finished[: max(0, len(finished) - keep)]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
    for partial in releases.glob(".*.partial"):
        shutil.rmtree(partial, ignore_errors=True)


def current_database(root: Path) -> Path | None:
    """The DuckDB file of the current release, if any."""
    current = root / "current"
    if not current.exists():
        return None
    files = sorted(current.glob("*.duckdb"))
    return files[0] if files else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segmentation.publish",
        description="Publish the built marts for BI (read-only release).",
    )
    parser.add_argument("--db", type=Path, required=True, help="warehouse file")
    parser.add_argument("--out", type=Path, required=True, help="published folder")
    parser.add_argument("--keep", type=int, default=3, help="releases to keep")
    args = parser.parse_args(argv)
    try:
        release = publish(args.db, args.out, args.keep)
    except PublishError as error:
        print(f"error: {error}")
        return 1
    print(f"published {release}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
