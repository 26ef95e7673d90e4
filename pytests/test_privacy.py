"""Personal data stays in staging; consent decides marketing outputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import Build, copy_build, copy_project, run_build, run_dbt

from segmentation import privacy, publish


def test_no_personal_data_in_marts_or_published_files(demo_build: Build) -> None:
    # The scanner does find the demo's e-mails and phones where they live.
    staged = privacy.scan_database(demo_build.database, ("staging",))
    assert {finding.kind for finding in staged} >= {"e-mail", "phone"}
    assert privacy.scan_database(demo_build.database, ("marts",)) == []
    root = demo_build.database.parent / "published"
    assert (
        privacy.scan_database(publish.current_database(root), ("marts", "lookups"))
        == []
    )
    assert privacy.scan_parquet(root / "current" / "parquet") == []


def test_a_parquet_file_that_is_not_its_tables_copy_is_refused(
    demo_build: Build, tmp_path: Path
) -> None:
    """Publishing searches the release's tables for personal data and checks
    that each Parquet file is its table's copy (columns and row count)
    instead of searching it again: a file with a row more, or another
    column, is refused by name."""
    import json
    import shutil

    import duckdb
    import pytest

    release = publish.current_database(demo_build.database.parent / "published")
    folder = tmp_path / "release"
    shutil.copytree(release.parent, folder)
    published = folder / release.name
    tables = json.loads((folder / "manifest.json").read_text())["tables"]
    parquet = folder / "parquet"
    publish._check_parquet_copies(published, parquet, tables)
    profiles = parquet / "user_profiles.parquet"
    original = tmp_path / "original.parquet"
    shutil.copy(profiles, original)
    source = f"read_parquet('{original}')"
    faults = (
        # A row more.
        f"select * from {source} union all (select * from {source} limit 1)",
        # Another column in place of one.
        f"select * exclude (age_band), 'x@y.org' as email from {source}",
    )
    for query in faults:
        duckdb.sql(f"copy ({query}) to '{profiles}' (format parquet)")
        with pytest.raises(publish.PublishError, match=r"user_profiles\.parquet"):
            publish._check_parquet_copies(published, parquet, tables)


def test_published_tables_carry_the_pseudonymous_key_not_the_id(
    demo_build: Build,
) -> None:
    import duckdb

    root = demo_build.database.parent / "published"
    with duckdb.connect(str(publish.current_database(root)), read_only=True) as db:
        columns = db.execute(
            "select table_name, column_name from information_schema.columns"
        ).fetchall()
    assert not [column for column in columns if column[1] == "user_id"]
    assert ("user_segments", "user_key") in columns
    user_id, user_key = demo_build.query(
        "select user_id, user_key from marts.user_segments order by user_id limit 1"
    )[0]
    salt = "segmentation-demo-salt"
    assert user_key == hashlib.md5((salt + user_id).encode()).hexdigest()
    assert (
        demo_build.scalar(
            "select count(*) from marts.user_profiles where age_band is null"
        )
        == 0
    )


def test_personal_columns_are_tagged_in_yaml(demo_build: Build) -> None:
    import json

    workdir = demo_build.database.parent
    manifest_path = workdir / "target" / "manifest.json"
    if not manifest_path.exists():
        assert run_dbt(workdir, "parse").returncode == 0
    manifest = json.loads(manifest_path.read_text())
    tagged = {
        (node["name"], column)
        for node in manifest["nodes"].values()
        for column, spec in node.get("columns", {}).items()
        if spec.get("meta", {}).get("contains_pii")
        or spec.get("config", {}).get("meta", {}).get("contains_pii")
    }
    for model in ("stg_app__users", "int_users_unioned"):
        for column in ("email", "phone", "birth_date"):
            assert (model, column) in tagged


def test_opted_out_users_never_reach_a_marketing_output(demo_build: Build) -> None:
    opted_out = demo_build.scalar(
        "select count(*) from marts.user_segments where not is_opted_in_to_marketing"
    )
    assert opted_out > 500
    leaked = demo_build.scalar(
        "select count(*) from marts.marketing_audiences as audiences"
        " inner join marts.user_segments as segments using (user_id)"
        " where not segments.is_opted_in_to_marketing"
    )
    assert leaked == 0
    assert demo_build.scalar("select count(*) from marts.marketing_audiences") > 1000


def test_a_mart_exposing_emails_is_caught_and_not_published(
    small_parquet_dir: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "models" / "marts" / "users" / "leaky_fixture.sql").write_text(
        "select user_id, email as contact from {{ ref('int_users_unioned') }}\n"
    )
    build = run_build(
        tmp_path / "run", "--data", str(small_parquet_dir), project_dir=project
    )
    assert build.returncode == 1
    assert "Refusing to publish: personal data found" in build.stderr
    assert "leaky_fixture" in build.stderr
    findings = privacy.scan_database(build.database, ("marts",))
    assert any(
        f.table == "marts.leaky_fixture" and f.kind == "e-mail" for f in findings
    )
    assert not (tmp_path / "run" / "published" / "current").exists()


def test_the_consent_test_fails_when_the_filter_is_removed(
    small_parquet_dir: Path, small_parquet_build: Build, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    model = project / "models" / "marts" / "segments" / "marketing_audiences.sql"
    source = model.read_text()
    assert "where segments.is_opted_in_to_marketing" in source
    model.write_text(source.replace("where segments.is_opted_in_to_marketing", ""))
    # Only the changed model and its tests are built, on top of a copy of
    # the build of the same data.
    build = run_dbt(
        copy_build(small_parquet_build, tmp_path / "run"),
        "build",
        "--select",
        "marketing_audiences",
        "--vars",
        f'{{"data_dir": "{small_parquet_dir}"}}',
        project_dir=project,
    )
    assert build.returncode != 0
    assert "FAIL" in build.stdout and "marketing_audiences__only_opted_in_users" in (
        build.stdout
    )
