"""make run DATA=folder: the user's own files, and the messages when they
are not usable."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
from conftest import DEMO_DIR, EARLY_AS_OF, Build, run_build, run_dbt


def test_folder_with_only_orders_csv_builds(orders_only_build: Build) -> None:
    build = orders_only_build
    assert build.scalar("select count(*) from raw.users") == 0
    assert build.scalar("select count(*) from staging.stg_app__events") == 0
    # Without a users table, orders of any user id are accepted and the
    # population is derived from the valid orders.
    assert (
        build.scalar(
            "select count(*) from staging.stg_app__rejected_rows"
            " where reject_reason = 'unknown_user'"
        )
        == 0
    )
    derived, ordering = build.query(
        "select"
        " (select count(*) from intermediate.int_users_unioned"
        "  where is_inferred_from_activity),"
        " (select count(distinct user_id) from staging.stg_app__orders)"
    )[0]
    assert derived == ordering > 1000
    first_order_is_sign_up = build.scalar(
        "select bool_and(users.signed_up_at = orders.first_ordered_at)"
        " from intermediate.int_users_unioned as users"
        " inner join (select user_id, min(ordered_at) as first_ordered_at"
        "   from staging.stg_app__orders group by 1) as orders"
        " using (user_id)"
    )
    assert first_order_is_sign_up is True


def test_folder_with_parquet_files_builds(
    small_parquet_dir: Path, small_parquet_build: Build
) -> None:
    build = small_parquet_build
    assert build.returncode == 0, build.output[-3000:]
    for table in ("users", "orders", "events"):
        expected = duckdb.sql(
            f"select count(*) from '{small_parquet_dir / table}.parquet'"
        ).fetchall()[0][0]
        assert build.scalar(f"select count(*) from raw.{table}") == expected
        # The generator's Parquet files are clean: nothing is rejected.
        assert (
            build.scalar(f"select count(*) from staging.stg_app__{table}") == expected
        )
    assert build.scalar("select count(*) from intermediate.int_users_unioned") == 1500


def test_folder_without_orders_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DEMO_DIR / "users.csv", data / "users.csv")
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode == 2
    assert "has no orders file" in build.stderr
    assert "orders.csv or orders.parquet" in build.stderr
    assert "Traceback" not in build.output
    assert not build.database.exists()


def test_dbt_alone_stops_on_a_missing_orders_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DEMO_DIR / "users.csv", data / "users.csv")
    build = run_dbt(tmp_path / "run", "build", "--vars", f'{{"data_dir": "{data}"}}')
    assert build.returncode != 0
    assert f"DATA folder {data} has no orders file" in build.output
    assert "Traceback" not in build.output


def test_missing_required_column_names_the_file_and_column(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(
        "order_id,user_id,ordered_at,status\nA1,u1,2025-01-05,paid\n"
    )
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode != 0
    assert (
        "orders.csv lacks the required orders column(s) amount. Columns found:"
        " order_id, user_id, ordered_at, status." in build.output
    )
    assert "Traceback" not in build.output


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    build = run_build(tmp_path / "run", "--data", str(tmp_path / "nowhere"))
    assert build.returncode == 2
    assert "does not exist" in build.stderr


def test_as_of_date_replays_an_earlier_day(small_parquet_early_build: Build) -> None:
    build = small_parquet_early_build
    assert build.query(
        "select cast(as_of_date as varchar), as_of_date_source"
        " from intermediate.int_as_of_date"
    ) == [(EARLY_AS_OF, "var as_of_date")]
    assert f"as of:       {EARLY_AS_OF} (var as_of_date)" in build.stdout


def test_as_of_date_with_nothing_before_it_is_refused(
    small_parquet_dir: Path, tmp_path: Path
) -> None:
    build = run_build(
        tmp_path / "run",
        "--data",
        str(small_parquet_dir),
        "--as-of-date",
        "2001-01-01",
    )
    assert build.returncode != 0
    assert "as_of_date 2001-01-01 is on or before the first valid order" in build.output
    assert "Traceback" not in build.output


def test_malformed_as_of_date_is_refused_before_building(tmp_path: Path) -> None:
    build = run_build(tmp_path / "run", "--as-of-date", "2025-02-30")
    assert build.returncode == 2
    assert "AS_OF_DATE must be a date written YYYY-MM-DD" in build.stderr
    assert not build.database.exists()
