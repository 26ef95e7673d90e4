"""Campaign exports: per running campaign, the consenting treatment audience
as CSV and Parquet in the published release, keyed by user_key; contact
fields only when var campaign_export_contacts is true, outside the release,
owner-only. Checked on the demo build's release and on publishes of a copy
of its warehouse (no dbt build)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import duckdb
import pytest
from conftest import Build

from segmentation import cli, privacy, publish
from segmentation.project import project_vars

EXPORT_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "channel",
    "start_date",
    "campaign_end_date",
    "user_key",
    "target_segment",
    "recommended_marketing",
]


def _release(build: Build) -> Path:
    return (build.workdir / "published" / "current").resolve()


def _file_keys(path: Path) -> list[str]:
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    with duckdb.connect() as connection:
        return [
            row[0]
            for row in connection.execute(
                f"select user_key from {reader}('{path}')"
            ).fetchall()
        ]


def _file_columns(path: Path) -> list[str]:
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    with duckdb.connect() as connection:
        return [
            row[0]
            for row in connection.execute(
                f"describe select * from {reader}('{path}')"
            ).fetchall()
        ]


def _keys(build: Build, sql: str) -> set[str]:
    return {row[0] for row in build.query(sql)}


def test_each_running_campaign_exports_its_consenting_treatment_users(
    demo_build: Build,
) -> None:
    release = _release(demo_build)
    manifest = json.loads((release / "manifest.json").read_text())
    running = _keys(
        demo_build,
        "select campaign_id from marts.campaigns where campaign_status = 'running'",
    )
    assert running == {"at_risk_nudge_2026_09", "potential_welcome_2026_10"}
    assert set(manifest["campaign_exports"]) == running
    assert sorted(path.name for path in (release / "campaigns").iterdir()) == sorted(
        f"{campaign}.{suffix}" for campaign in running for suffix in ("csv", "parquet")
    )
    opted_out = _keys(
        demo_build,
        "select user_key from marts.user_segments where not is_opted_in_to_marketing",
    )
    assert len(opted_out) > 100
    for campaign_id in running:
        entry = manifest["campaign_exports"][campaign_id]
        groups: dict[str, set[str]] = {}
        for group in ("treatment", "holdout", "excluded"):
            groups[group] = _keys(
                demo_build,
                "select user_key from marts.campaign_assignments"
                f" where campaign_id = '{campaign_id}' and campaign_group = '{group}'",
            )
        assert groups["holdout"], campaign_id
        expected = groups["treatment"] - opted_out
        for kind in ("csv", "parquet"):
            path = release / entry[kind]
            assert _file_columns(path) == EXPORT_COLUMNS
            keys = _file_keys(path)
            assert len(keys) == len(set(keys)) == entry["users"]
            assert set(keys) == expected, (campaign_id, kind)
            assert not set(keys) & (groups["holdout"] | groups["excluded"])
            assert not set(keys) & opted_out
    # Ended and scheduled campaigns are not exported.
    assert not (release / "campaigns" / "winback_2026_07.csv").exists()


def test_the_release_has_no_contact_fields_and_passes_the_privacy_scan(
    demo_build: Build,
) -> None:
    release = _release(demo_build)
    folder = release / "campaigns"
    assert privacy.scan_parquet(folder) == []
    assert privacy.scan_csv(folder) == []
    text = "".join(path.read_text() for path in folder.glob("*.csv"))
    assert "@" not in text
    # Without the var, no contacts were written beside the warehouse.
    assert not (demo_build.workdir / "exports").exists()


def test_the_scan_finds_contacts_in_an_exported_csv(tmp_path: Path) -> None:
    (tmp_path / "leak.csv").write_text("user_key,note\nabc,write to ann@example.com\n")
    findings = privacy.scan_csv(tmp_path)
    assert [(f.column, f.kind) for f in findings] == [("note", "e-mail")]


def test_contact_export_is_off_unless_the_var_enables_it() -> None:
    assert project_vars()["campaign_export_contacts"] is False
    assert cli.export_contacts_enabled({}) is False
    assert cli.export_contacts_enabled({"campaign_export_contacts": True}) is True
    assert cli.export_contacts_enabled({"campaign_export_contacts": "false"}) is False


@pytest.fixture
def warehouse(demo_build: Build, tmp_path: Path) -> Path:
    """A copy of the demo warehouse, alone in a folder, to publish again."""
    folder = tmp_path / "warehouse"
    folder.mkdir()
    path = folder / "segments.duckdb"
    path.write_bytes(demo_build.database.read_bytes())
    return path


def test_contacts_are_written_owner_only_outside_the_release(
    warehouse: Path,
) -> None:
    root = warehouse.parent / "published"
    release = publish.publish(warehouse, root, export_contacts=True)
    contacts = warehouse.parent / "exports" / "contacts"
    folder = contacts / release.name
    assert root.resolve() not in folder.resolve().parents
    for path in (contacts.parent, contacts, folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = sorted(folder.iterdir())
    manifest = json.loads((release / "manifest.json").read_text())
    assert [path.stem for path in files] == sorted(manifest["campaign_exports"])
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert _file_columns(path) == ["user_key", "email", "phone"]
        with duckdb.connect() as connection:
            rows = connection.execute(
                f"select user_key, email from read_csv('{path}')"
            ).fetchall()
        audience = set(_file_keys(release / "campaigns" / f"{path.stem}.parquet"))
        assert {key for key, _ in rows} == audience
        assert all("@" in email for _, email in rows if email)
    # The release itself stays free of personal data.
    assert privacy.scan_database(release / warehouse.name, ("marts", "lookups")) == []
    assert privacy.scan_csv(release / "campaigns") == []
    assert not list(release.rglob("exports"))

    # Contacts go with their release: publishing again keeping one release
    # removes the previous release's contacts.
    second = publish.publish(warehouse, root, keep=1, export_contacts=True)
    assert sorted(path.name for path in contacts.iterdir()) == [second.name]


def test_contacts_never_go_inside_the_published_folder(warehouse: Path) -> None:
    # A published folder that would contain the exports folder is refused.
    with pytest.raises(publish.PublishError, match="must not be inside"):
        publish.publish(warehouse, warehouse.parent, export_contacts=True)
    assert not (warehouse.parent / "current").exists()
