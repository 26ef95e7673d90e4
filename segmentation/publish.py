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
* ``campaigns/<campaign_id>.csv`` and ``.parquet``: per running campaign,
  its audience to hand to the marketing tool (``marts.campaign_audiences``:
  treatment users who consent to marketing now, keyed by ``user_key``);
* ``manifest.json``: tables, row counts, as-of date, campaign exports.

Contact fields (e-mail, phone) are never in a release. Only when var
``campaign_export_contacts`` is true (dbt_project.yml or VARS), they are
written per running campaign to ``<warehouse folder>/exports/contacts/
<release id>/<campaign_id>.csv`` (user_key, email, phone), outside the
published folder, in folders only the owner can enter (0700) and files
only the owner can read (0600); they are pruned with their release.

No ``user_id`` is published (BI uses the pseudonymous ``user_key``), and a
release in which ``segmentation.privacy`` finds an e-mail address, a phone
number or a personal column is refused before it becomes current. The
search reads the release's tables and the campaign files; the Parquet
copies of the tables are checked to be their copies (columns and row
counts) instead of being searched again.

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
import re
import shutil
from pathlib import Path

import duckdb

from segmentation import privacy

PUBLISHED_SCHEMAS = ("marts", "lookups")
# Columns never published: BI identifies users by the pseudonymous user_key.
WITHHELD_COLUMNS = ("user_id",)
# The audience of each running campaign, exported per campaign.
AUDIENCES_TABLE = "marts.campaign_audiences"
CAMPAIGNS_TABLE = "marts.campaigns"
CAMPAIGNS_FOLDER = "campaigns"
# Contact exports live beside the warehouse, never in the published folder.
CONTACTS_FOLDER = Path("exports") / "contacts"
OWNER_ONLY_FOLDER = 0o700
OWNER_ONLY_FILE = 0o600
SAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]")


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


def _has_table(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables"
            " where table_catalog = 'warehouse' and table_schema = ?"
            " and table_name = ?",
            [schema, name],
        ).fetchall()[0][0]
    )


def running_campaigns(connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The running campaigns of the attached warehouse, each with the file
    name (without extension) of its exports: the campaign id, with any
    character other than letters, digits, '.', '_' and '-' written as '_'.
    Two ids that would share a file name are refused."""
    if not (
        _has_table(connection, CAMPAIGNS_TABLE)
        and _has_table(connection, AUDIENCES_TABLE)
    ):
        return {}
    rows = connection.execute(
        f"select campaign_id from warehouse.{CAMPAIGNS_TABLE}"
        " where campaign_status = 'running' order by campaign_id"
    ).fetchall()
    names: dict[str, str] = {}
    for (campaign_id,) in rows:
        name = SAFE_FILE_NAME.sub("_", campaign_id)
        if name.startswith("."):
            name = "_" + name[1:]
        if name in names.values():
            raise PublishError(
                f"Campaign ids {campaign_id!r} and"
                f" {next(k for k, v in names.items() if v == name)!r} would"
                f" both be exported as {name}: rename one of them."
            )
        names[campaign_id] = name
    return names


def _write_campaign_audiences(
    connection: duckdb.DuckDBPyConnection, folder: Path
) -> dict[str, dict]:
    """Per running campaign, its audience (without user_id) as CSV and
    Parquet in folder/campaigns; returns the manifest entries."""
    campaigns = running_campaigns(connection)
    if not campaigns:
        return {}
    (folder / CAMPAIGNS_FOLDER).mkdir()
    columns = [
        row[0]
        for row in connection.execute(
            f"describe warehouse.{AUDIENCES_TABLE}"
        ).fetchall()
        if row[0] not in WITHHELD_COLUMNS
    ]
    selected = ", ".join(_quote(column) for column in columns)
    exports = {}
    for campaign_id, name in campaigns.items():
        literal = campaign_id.replace("'", "''")
        source = (
            f"(select {selected} from warehouse.{AUDIENCES_TABLE}"
            f" where campaign_id = '{literal}' order by user_key)"
        )
        base = folder / CAMPAIGNS_FOLDER / name
        connection.execute(f"copy {source} to '{base}.csv' (format csv, header)")
        connection.execute(f"copy {source} to '{base}.parquet' (format parquet)")
        rows = connection.execute(f"select count(*) from {source}").fetchall()
        exports[campaign_id] = {
            "csv": f"{CAMPAIGNS_FOLDER}/{name}.csv",
            "parquet": f"{CAMPAIGNS_FOLDER}/{name}.parquet",
            "users": rows[0][0],
        }
    return exports


def contacts_folder(warehouse: Path) -> Path:
    """Where contact exports go: ``<warehouse folder>/exports/contacts``."""
    return warehouse.resolve().parent / CONTACTS_FOLDER


def _owner_only_folder(path: Path) -> None:
    path.mkdir(mode=OWNER_ONLY_FOLDER, parents=True, exist_ok=True)
    path.chmod(OWNER_ONLY_FOLDER)


def _write_contacts(warehouse: Path, root: Path, release_id: str) -> Path:
    """The contact fields of each running campaign's audience in
    ``exports/contacts/<release_id>/<campaign>.csv`` (owner-only), never
    under the published folder root."""
    base = contacts_folder(warehouse)
    published = root.resolve()
    if base == published or published in base.parents:
        raise PublishError(
            f"Contact exports ({base}) must not be inside the published"
            f" folder ({published})."
        )
    _owner_only_folder(base.parent)
    _owner_only_folder(base)
    folder = base / release_id
    _owner_only_folder(folder)
    connection = duckdb.connect()
    try:
        connection.execute(f"attach '{warehouse}' as warehouse (read_only)")
        for campaign_id, name in running_campaigns(connection).items():
            literal = campaign_id.replace("'", "''")
            path = folder / f"{name}.csv"
            # Created owner-only before DuckDB writes into it.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, OWNER_ONLY_FILE))
            path.chmod(OWNER_ONLY_FILE)
            connection.execute(
                "copy (select audiences.user_key, users.email, users.phone"
                f" from warehouse.{AUDIENCES_TABLE} as audiences"
                " inner join warehouse.staging.stg_app__users as users"
                " on audiences.user_id = users.user_id"
                f" where audiences.campaign_id = '{literal}'"
                f" order by audiences.user_key) to '{path}' (format csv, header)"
            )
            path.chmod(OWNER_ONLY_FILE)
    finally:
        connection.close()
    return folder


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
            connection.execute(
                f"create table release.{name} as"
                f" select *{exclude} from warehouse.{name}"
            )
            # The Parquet file and the row count come from the release's
            # table just written (the same rows, in the same order), so the
            # warehouse's table is read once, not three times.
            parquet = folder / "parquet" / f"{table}.parquet"
            connection.execute(f"copy release.{name} to '{parquet}' (format parquet)")
            rows = connection.execute(f"select count(*) from release.{name}").fetchall()
            manifest["tables"][f"{schema}.{table}"] = rows[0][0]
        as_of = connection.execute(
            "select max(as_of_date) from warehouse.marts.user_profiles"
        ).fetchall()
        manifest["as_of_date"] = str(as_of[0][0]) if as_of[0][0] else None
        manifest["campaign_exports"] = _write_campaign_audiences(connection, folder)
        connection.execute("detach release")
    finally:
        connection.close()
    findings = privacy.scan_database(published, PUBLISHED_SCHEMAS)
    # The Parquet files are the release tables just scanned, copied by
    # DuckDB in this function: their content is not searched a second time
    # (half of publishing's time at a million users), only checked to be
    # those tables' copies (the same columns and row counts, from the
    # files' metadata).
    _check_parquet_copies(published, folder / "parquet", manifest["tables"])
    findings += privacy.scan_parquet(folder / CAMPAIGNS_FOLDER)
    findings += privacy.scan_csv(folder / CAMPAIGNS_FOLDER)
    if findings:
        raise PublishError(
            "Refusing to publish: personal data found in the release: "
            + "; ".join(str(finding) for finding in findings)
        )
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _check_parquet_copies(published: Path, folder: Path, tables: dict) -> None:
    """Each Parquet file of the release is its release table's copy: the
    same columns in the same order and the same row count (read from the
    files' metadata, not their data); PublishError otherwise."""
    with duckdb.connect(str(published), read_only=True) as connection:
        for qualified, rows in tables.items():
            schema, table = qualified.split(".", 1)
            path = folder / f"{table}.parquet"
            expected = [
                row[0]
                for row in connection.execute(
                    f"describe {_quote(schema)}.{_quote(table)}"
                ).fetchall()
            ]
            found = [
                row[0]
                for row in connection.execute(
                    f"describe select * from read_parquet('{path}')"
                ).fetchall()
            ]
            counted = connection.execute(
                "select coalesce(sum(num_rows), 0)"
                f" from parquet_file_metadata('{path}')"
            ).fetchall()[0][0]
            if found != expected or counted != rows:
                raise PublishError(
                    f"Refusing to publish: {path.name} is not a copy of"
                    f" {qualified} ({len(found)} columns and {counted:,} rows"
                    f" against {len(expected)} and {rows:,})"
                )


def publish(
    warehouse: Path, root: Path, keep: int = 3, export_contacts: bool = False
) -> Path:
    """Publish the warehouse's marts as a new release and make it current.

    Returns the folder of the new release. ``root/current`` always points at
    a complete release. With export_contacts (var campaign_export_contacts),
    the contact fields of the running campaigns' audiences are written
    outside the release (``contacts_folder``), owner-only.
    """
    warehouse = warehouse.resolve()
    if not warehouse.exists():
        raise PublishError(f"No warehouse at {warehouse}: run `make run` first.")
    releases = root / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    release_id = _release_id(releases)
    staging = releases / f".{release_id}.partial"
    contacts = None
    try:
        _write_release(warehouse, staging)
        if export_contacts:
            contacts = _write_contacts(warehouse, root, release_id)
        final = releases / release_id
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if contacts is not None:
            shutil.rmtree(contacts, ignore_errors=True)
        raise
    link = root / f".current.{release_id}"
    link.symlink_to(Path("releases") / release_id, target_is_directory=True)
    os.replace(link, root / "current")
    _prune(releases, keep, current=final)
    _prune_contacts(contacts_folder(warehouse), releases)
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


def _prune_contacts(folder: Path, releases: Path) -> None:
    """Remove the contact exports of releases that were pruned."""
    if not folder.is_dir():
        return
    kept = {path.name for path in releases.iterdir() if path.is_dir()}
    for export in folder.iterdir():
        if export.is_dir() and export.name not in kept:
            shutil.rmtree(export, ignore_errors=True)


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
    parser.add_argument(
        "--export-contacts",
        action="store_true",
        help="also write the running campaigns' contact fields, owner-only,"
        " to exports/contacts beside the warehouse (never in the release)",
    )
    args = parser.parse_args(argv)
    try:
        release = publish(args.db, args.out, args.keep, args.export_contacts)
    except PublishError as error:
        print(f"error: {error}")
        return 1
    print(f"published {release}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
