"""The segment history: backfilled dates, one copy per date, dates slotted
in, kept by --full-refresh, cleared on request.

The point-in-time checks (a backfilled date equals a fresh build of that
date; later orders change nothing for it) are in test_segment_marts.py,
on the builds of the as-of replay.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from conftest import Build, copy_build, run_build, run_dbt, run_python

from segmentation import cli, history

SNAPSHOTS = "intermediate.int_user_snapshots_accumulated"
CLUSTERED = "intermediate.int_users_clustered"
SUBGRAPH = history.BACKFILL_SELECTOR


# --- the dates of a backfill (no build) -------------------------------------


def test_auto_backfills_the_twelve_months_before_the_as_of_date() -> None:
    dates, notes = history.backfill_dates(
        "auto", "month", dt.date(2026, 10, 1), dt.date(2024, 10, 1)
    )
    assert dates == [dt.date(2025, 10 + n, 1) for n in range(3)] + [
        dt.date(2026, month, 1) for month in range(1, 10)
    ]
    assert notes == []


def test_weekly_dates_stop_before_the_as_of_date() -> None:
    dates, _ = history.backfill_dates(
        "2026-09-01", "week", dt.date(2026, 9, 30), dt.date(2024, 1, 1)
    )
    assert dates == [dt.date(2026, 9, day) for day in (1, 8, 15, 22, 29)]


def test_month_steps_keep_the_day_and_clip_to_the_month_end() -> None:
    assert history.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert history.add_months(dt.date(2026, 1, 31), 2) == dt.date(2026, 3, 31)
    assert history.add_months(dt.date(2026, 3, 15), -3) == dt.date(2025, 12, 15)
    dates, _ = history.backfill_dates(
        "2026-01-31", "month", dt.date(2026, 5, 1), dt.date(2020, 1, 1)
    )
    assert dates == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
    ]


def test_dates_before_the_first_order_are_left_out_with_a_note() -> None:
    dates, notes = history.backfill_dates(
        "2024-01-01", "month", dt.date(2024, 6, 1), dt.date(2024, 3, 10)
    )
    assert dates == [dt.date(2024, month, 1) for month in (4, 5)]
    assert len(notes) == 1
    assert "3 date(s) from 2024-01-01 to 2024-03-01" in notes[0]
    assert "first valid order (2024-03-10)" in notes[0]


@pytest.mark.parametrize(
    ("history_from", "every", "message"),
    [
        ("2026-10-01", "month", "is not before the as-of date"),
        ("2026-12-01", "month", "is not before the as-of date"),
        ("01.10.2025", "month", "HISTORY_FROM must be a date written YYYY-MM-DD"),
        ("2025-10-01", "day", "HISTORY_EVERY must be month or week"),
    ],
)
def test_impossible_backfills_are_refused_with_a_message(
    history_from: str, every: str, message: str
) -> None:
    with pytest.raises(history.HistoryError, match=message):
        history.backfill_dates(
            history_from, every, dt.date(2026, 10, 1), dt.date(2024, 10, 1)
        )


def test_the_command_line_refuses_a_malformed_history_option(tmp_path: Path) -> None:
    assert cli.parse_history_from(" none ") is None
    assert cli.parse_history_from("AUTO") == "auto"
    for arguments, message in (
        (("--history-from", "2025-13-01"), "HISTORY_FROM must be a date"),
        (("--history-from", "auto", "--history-every", "day"), "HISTORY_EVERY"),
    ):
        build = run_build(tmp_path / arguments[-1], *arguments)
        assert build.returncode == 2, build.output[-2000:]
        assert message in build.stderr
        assert "Traceback" not in build.output
        assert not build.database.exists()


# --- the demo build: a year of monthly history -------------------------------


def test_the_demo_build_keeps_a_year_of_monthly_snapshots(demo_build: Build) -> None:
    dates = [
        row[0]
        for row in demo_build.query(
            f"select distinct as_of_date from {SNAPSHOTS} order by 1"
        )
    ]
    as_of = demo_build.scalar("select as_of_date from intermediate.int_as_of_date")
    assert dates == [history.add_months(as_of, n) for n in range(-12, 1)]
    for number in range(1, 13):
        assert f"history {number}/12: as of" in demo_build.stdout
    # Each snapshot is its date's whole population, and the population only
    # grows with time.
    sizes = [
        row[0]
        for row in demo_build.query(
            f"select count(*) from {SNAPSHOTS} group by as_of_date order by as_of_date"
        )
    ]
    assert sizes == sorted(sizes)
    assert sizes[0] < sizes[-1]
    assert sizes[-1] == demo_build.scalar("select count(*) from marts.user_segments")
    # The last snapshot is the build's own: the final table's segments.
    differences = demo_build.scalar(
        f"select count(*) from {SNAPSHOTS} as snapshots"
        " full join marts.user_segments as segments"
        " on snapshots.user_id = segments.user_id"
        f" where snapshots.as_of_date = '{as_of}' and ("
        " segments.user_id is null or snapshots.user_id is null"
        " or snapshots.primary_segment != segments.primary_segment"
        " or snapshots.lifecycle_stage != segments.lifecycle_stage"
        " or snapshots.value_tier != segments.value_tier"
        " or snapshots.cluster_id is distinct from segments.cluster_id)"
    )
    assert differences == 0
    # The BI copy holds the same rows.
    assert demo_build.scalar(
        "select count(*) from marts.segment_history"
    ) == demo_build.scalar(f"select count(*) from {SNAPSHOTS}")


# --- one copy per date, dates slotted in, kept, cleared ----------------------


def _snapshot_rows(build: Build, as_of: str, table: str = SNAPSHOTS) -> list[tuple]:
    return build.query(
        f"select * exclude (as_of_date) from {table}"
        " where as_of_date = ? order by user_id",
        [as_of],
    )


def _dates(build: Build) -> list[str]:
    return [
        str(row[0])
        for row in build.query(
            f"select distinct as_of_date from {SNAPSHOTS} order by as_of_date"
        )
    ]


def _backfill(workdir: Path, *dates: str) -> Build:
    return run_python(
        workdir, "-m", "segmentation.history", "backfill", "--dates", ",".join(dates)
    )


def test_a_date_is_kept_once_slotted_in_kept_by_full_refresh_and_cleared(
    demo_build: Build, tmp_path: Path
) -> None:
    workdir = copy_build(demo_build, tmp_path / "copy")
    copy = Build(0, "", "", workdir / "warehouse.duckdb")
    before = _dates(copy)
    march = "2026-03-01"
    march_rows = _snapshot_rows(copy, march)
    march_clusters = _snapshot_rows(copy, march, CLUSTERED)
    last_rows = _snapshot_rows(copy, before[-1])
    assert march in before and len(march_rows) > 1000
    # The demo's history was built oldest first, then its as-of date;
    # rebuilding March comes after all of them and must carry its cluster
    # ids over from February, the snapshot before it, as the backfill did:
    # reversing the ids of March and every later date in the copy's
    # clustering state would show a rebuild that took them from its own
    # date or from the last build.
    with duckdb.connect(str(copy.database)) as connection:
        connection.execute(
            f"update {CLUSTERED} as clustered"
            " set cluster_id = k_selection.k + 1 - clustered.cluster_id"
            " from intermediate.int_clustering_k_selected as k_selection"
            " where k_selection.as_of_date = clustered.as_of_date"
            " and k_selection.is_chosen and clustered.as_of_date >= ?",
            [march],
        )

    # Building a date again, and an earlier date than all, in one backfill.
    rebuilt = _backfill(workdir, "2025-09-15", march)
    assert rebuilt.returncode == 0, rebuilt.output[-3000:]
    assert "history 2/2: as of 2026-03-01 ... done" in rebuilt.stdout
    assert _dates(copy) == ["2025-09-15", *before]
    # One copy of the date, with the same rows, clusters included.
    assert _snapshot_rows(copy, march) == march_rows
    assert _snapshot_rows(copy, march, CLUSTERED) == march_clusters
    assert _snapshot_rows(copy, before[-1]) == last_rows
    for table in (SNAPSHOTS, CLUSTERED):
        assert (
            copy.scalar(
                f"select count(*) - count(distinct (as_of_date, user_id)) from {table}"
            )
            == 0
        ), table
    assert copy.scalar(
        f"select count(*) from {SNAPSHOTS} where as_of_date = '2025-09-15'"
    ) < len(march_rows)

    # --full-refresh rebuilds everything else and keeps the history (the
    # model's state is at the backfill's last date, March).
    refreshed = run_dbt(
        workdir, "run", "--full-refresh", "--select", "int_user_snapshots_accumulated"
    )
    assert refreshed.returncode == 0, refreshed.output[-3000:]
    assert _dates(copy) == ["2025-09-15", *before]

    # Clearing is explicit; the next build starts a new history.
    cleared = run_python(workdir, "-m", "segmentation", "clear-history")
    assert cleared.returncode == 0, cleared.output[-2000:]
    assert "Cleared the segment history" in cleared.stdout
    assert "intermediate.int_user_snapshots_accumulated" in cleared.stdout
    assert not copy.query(
        "select * from information_schema.tables where table_name in"
        " ('int_user_snapshots_accumulated', 'segment_history',"
        " 'int_users_clustered', 'int_clustering_k_selected')"
    )
