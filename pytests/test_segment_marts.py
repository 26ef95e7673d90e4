"""The segmentation marts: as-of replays, orders-only data, the RFM grid."""

from __future__ import annotations

from pathlib import Path

import duckdb
from conftest import (
    EARLY_AS_OF,
    Build,
    build_selection,
    copy_project,
    run_build,
    run_dbt,
)

MARTS = ("user_profiles", "monthly_arpu", "daily_active_users", "monthly_lifecycle")
BEHAVIOUR_COLUMNS = (
    "sessions_30d",
    "active_days_30d",
    "browse_minutes_30d",
    "impressions_30d",
    "clicks_30d",
    "page_views_30d",
    "ctr_30d",
    "add_to_cart_rate_30d",
    "conversion_rate_30d",
    "sessions_90d",
    "ctr_90d",
)
RFM_SEGMENTS = {
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
}


def test_every_purchaser_has_one_rfm_segment_on_the_demo(demo_build: Build) -> None:
    purchasers, segmented, segments = demo_build.query(
        "select count(*) filter (where order_count > 0),"
        " count(rfm_segment), count(distinct rfm_segment)"
        " from marts.user_profiles"
    )[0]
    assert purchasers == segmented > 3000
    present = {
        row[0]
        for row in demo_build.query(
            "select distinct rfm_segment from marts.user_profiles"
            " where rfm_segment is not null"
        )
    }
    assert present == RFM_SEGMENTS
    assert segments == 11


def test_profiles_cover_the_population_and_prospects(demo_build: Build) -> None:
    users, distinct, prospects = demo_build.query(
        "select count(*), count(distinct user_id),"
        " count(*) filter (where lifecycle_stage = 'prospect')"
        " from marts.user_profiles"
    )[0]
    population = demo_build.scalar(
        "select count(*) from intermediate.int_users_filtered_to_as_of"
    )
    assert users == distinct == population
    assert prospects > 500


def test_tiers_and_stages_are_all_used_on_the_demo(demo_build: Build) -> None:
    for column, expected in (
        ("value_tier", {"high", "medium", "low", "none"}),
        ("activity_tier", {"high", "medium", "low"}),
        (
            "lifecycle_stage",
            {
                "prospect",
                "new",
                "active",
                "reactivated",
                "at_risk",
                "dormant",
                "churned",
            },
        ),
    ):
        found = {
            row[0]
            for row in demo_build.query(
                f"select distinct {column} from marts.user_profiles"
            )
        }
        assert found == expected, column


def test_marts_build_on_orders_only_with_empty_behaviour(
    orders_only_build: Build,
) -> None:
    build = orders_only_build
    for mart in MARTS:
        assert build.scalar(f"select count(*) from marts.{mart}") > 0, mart
    non_null = build.query(
        "select "
        + ", ".join(f"count({column})" for column in BEHAVIOUR_COLUMNS)
        + ", bool_or(has_behaviour_data) from marts.user_profiles"
    )[0]
    assert non_null == (0,) * len(BEHAVIOUR_COLUMNS) + (False,)
    # Without events, purchases alone decide the activity tier.
    assert (
        build.scalar(
            "select count(*) from marts.user_profiles"
            " where purchases_30d > 5 and activity_tier != 'high'"
        )
        == 0
    )
    assert (
        build.scalar("select count(distinct activity_tier) from marts.user_profiles")
        >= 2
    )


def _truncate(source: Path, target: Path, as_of: str) -> None:
    """Copy the Parquet folder keeping only what existed before as_of."""
    target.mkdir()
    filters = {
        "users": f"signed_up_at < timestamp '{as_of}'",
        "orders": f"ordered_at < timestamp '{as_of}'",
        "events": f"occurred_at < timestamp '{as_of}'",
    }
    for table, condition in filters.items():
        duckdb.sql(
            f"copy (select * from '{source / table}.parquet' where {condition})"
            f" to '{target / table}.parquet' (format parquet)"
        )


def _differences(left: Path, right: Path, table: str, where: str = "true") -> int:
    """Rows of table in either warehouse and not the other (both ways)."""
    with duckdb.connect() as connection:
        connection.execute(f"attach '{left}' as left_db (read_only)")
        connection.execute(f"attach '{right}' as right_db (read_only)")
        total = 0
        for first, second in (("left_db", "right_db"), ("right_db", "left_db")):
            total += connection.execute(
                f"select count(*) from (select * from {first}.{table} where {where}"
                f" except all select * from {second}.{table} where {where})"
            ).fetchall()[0][0]
        return total


def test_an_earlier_as_of_date_reproduces_the_data_of_that_day(
    small_parquet_dir: Path, small_parquet_early_build: Build, tmp_path: Path
) -> None:
    """A replay of 2026-04-15 on the whole data, and a build of the data cut
    at 2026-04-15 with its history backfilled from EARLY_AS_OF: every mart
    is the same (nothing after the as-of date counts for it); and the
    backfilled date equals, row for row, a fresh build of that date on the
    whole data (a backfilled date sees nothing after it either)."""
    as_of = "2026-04-15"
    # The replay: dbt's build of make run AS_OF_DATE=as_of, of the marts
    # compared and what they read (the clustering is not among it).
    replay = build_selection(
        tmp_path / "replay",
        small_parquet_dir,
        *(f"+{mart}" for mart in MARTS),
        as_of_date=as_of,
    )
    assert replay.returncode == 0, replay.output[-3000:]
    truncated_dir = tmp_path / "truncated_data"
    _truncate(small_parquet_dir, truncated_dir, as_of)
    truncated = run_build(
        tmp_path / "truncated",
        "--data",
        str(truncated_dir),
        "--as-of-date",
        as_of,
        "--history-from",
        EARLY_AS_OF,
    )
    assert truncated.returncode == 0, truncated.output[-3000:]

    # Data after the as-of date existed in the replay's input ...
    assert (
        replay.scalar(
            f"select count(*) from staging.stg_app__orders"
            f" where ordered_at >= timestamp '{as_of}'"
        )
        > 0
    )
    # ... yet every mart equals the one built from data that stops there.
    for mart in MARTS:
        rows = replay.scalar(f"select count(*) from marts.{mart}")
        assert rows > 0, mart
        assert _differences(replay.database, truncated.database, f"marts.{mart}") == 0
    assert truncated.query(
        "select cast(as_of_date as varchar) from marts.segment_history"
        " group by 1 order by 1"
    ) == [(EARLY_AS_OF,), (as_of,)]

    # The backfilled date (on data that goes a month past it) is the fresh
    # build of that date on the whole data (which goes half a year past it).
    early = small_parquet_early_build
    assert early.scalar("select count(*) from marts.segment_history") > 0
    assert (
        _differences(
            truncated.database,
            early.database,
            "marts.segment_history",
            f"as_of_date = '{EARLY_AS_OF}'",
        )
        == 0
    )
    assert (
        replay.scalar("select max(last_purchased_at) from marts.user_profiles")
        < duckdb.sql(f"select timestamp '{as_of}'").fetchall()[0][0]
    )


def _build_grid(project: Path, workdir: Path) -> Build:
    return run_dbt(
        workdir,
        "build",
        "--select",
        "rfm_segments",
        "--indirect-selection",
        "cautious",
        project_dir=project,
    )


def test_rfm_grid_test_fails_on_a_gap_or_an_overlap(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    grid = project / "seeds" / "lookups" / "rfm_segments.csv"
    lines = grid.read_text().splitlines()

    intact = _build_grid(project, tmp_path / "intact")
    assert intact.returncode == 0, intact.output[-3000:]
    assert "PASS rfm_segments__covers_every_cell_once" in intact.stdout

    # A gap: the cell R=3, FM=3 is missing. The builds share one folder
    # (each loads the whole grid again), so that dbt reparses only the
    # changed grid: a fresh folder costs a full parse (dbt's partial parse
    # needs the same warehouse path), about 5 s of CPU.
    grid.write_text(
        "\n".join(line for line in lines if line != "3,3,Need Attention") + "\n"
    )
    gap = _build_grid(project, tmp_path / "intact")
    assert gap.returncode != 0
    assert "FAIL 1 rfm_segments__covers_every_cell_once" in gap.stdout

    # An overlap: the cell R=5, FM=5 maps to two segments.
    grid.write_text("\n".join([*lines, "5,5,Loyal Customers"]) + "\n")
    overlap = _build_grid(project, tmp_path / "intact")
    assert overlap.returncode != 0
    assert "FAIL 1 rfm_segments__covers_every_cell_once" in overlap.stdout
