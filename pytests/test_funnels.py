"""Funnels and session paths (issue 17): the funnel depth and path of every
session day, recomputed here in pandas from the demo build's clean events
(independently of the SQL's list_reduce), and the three behaviour marts
recomputed from them; the funnel never grows along its steps, and the test
that says so catches a funnel that does; events without a session id are
counted apart; orders-only data gives empty marts; a warehouse built before
the funnel columns existed migrates by itself."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import Build, build_selection, copy_build

from segmentation.project import project_vars

VARS = project_vars()
STEPS: list[str] = VARS["funnel_steps"]
# The event types in code order: the funnel steps, then the other types.
CODES = STEPS + [kind for kind in VARS["event_types"] if kind not in STEPS]
MAX_STEPS: int = VARS["session_path_max_steps"]
TOP_N: int = VARS["session_paths_top_n"]
SESSION_DAY = ["source_file", "user_id", "session_id", "activity_date"]


def _depth(types: list[str]) -> int:
    """The last funnel step reached in order: walk the events, advancing
    when an event is the next step."""
    depth = 0
    for kind in types:
        if depth < len(STEPS) and kind == STEPS[depth]:
            depth += 1
    return depth


def _path(types: list[str]) -> str:
    collapsed = [kind for i, kind in enumerate(types) if i == 0 or kind != types[i - 1]]
    shown = " > ".join(collapsed[:MAX_STEPS])
    return shown + (" > ..." if len(collapsed) > MAX_STEPS else "")


def _frame(build: Build, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.execute(sql).df()


@pytest.fixture(scope="module")
def recomputed(demo_build: Build) -> pd.DataFrame:
    """Every session day of the demo's clean events before as_of_date with
    its depth, path and segment, computed here."""
    events = _frame(
        demo_build,
        "select events.source_file, events.user_id, events.session_id,"
        " events.occurred_at, events.event_type, segmented.primary_segment"
        " from staging.stg_app__events as events"
        " inner join intermediate.int_users_segmented as segmented"
        " on events.user_id = segmented.user_id"
        " where cast(events.occurred_at as date)"
        " < (select as_of_date from intermediate.int_as_of_date)",
    )
    events["activity_date"] = events["occurred_at"].dt.date
    events["code"] = events["event_type"].map(CODES.index)
    # Time order; events of one instant in funnel order (then code).
    events = events.sort_values([*SESSION_DAY, "occurred_at", "code"])
    sessions = events[events["session_id"].notna()]
    days = sessions.groupby(SESSION_DAY, sort=False).agg(
        types=("event_type", list),
        primary_segment=("primary_segment", "first"),
        has_purchase=("event_type", lambda kinds: "purchase" in set(kinds)),
    )
    days["funnel_depth"] = days["types"].map(_depth)
    days["session_path"] = days["types"].map(_path)
    days = days.reset_index()
    days["activity_month"] = pd.to_datetime(days["activity_date"]).dt.to_period("M")
    days.attrs["sessionless"] = events[events["session_id"].isna()]
    return days


def test_every_session_days_depth_and_path_match_pandas(
    demo_build: Build, recomputed: pd.DataFrame
) -> None:
    built = _frame(
        demo_build,
        "select source_file, user_id, session_id, activity_date, funnel_depth,"
        " session_path from intermediate.int_events_aggregated_to_session_days"
        " where session_id is not null and activity_date"
        " < (select as_of_date from intermediate.int_as_of_date)",
    )
    built["activity_date"] = pd.to_datetime(built["activity_date"]).dt.date
    merged = recomputed.merge(
        built, on=SESSION_DAY, how="outer", suffixes=("", "_built"), indicator=True
    )
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts()
    assert len(merged) > 10_000
    depth_differs = merged[merged["funnel_depth"] != merged["funnel_depth_built"]]
    assert depth_differs.empty, depth_differs.head()
    path_differs = merged[merged["session_path"] != merged["session_path_built"]]
    assert path_differs.empty, path_differs.head()
    # The demo exercises the funnel: every depth occurs, and purchases
    # without the funnel in order (depth below the last step) exist too.
    assert set(merged["funnel_depth"]) == set(range(len(STEPS) + 1))


def test_segment_funnels_count_the_sessions_reaching_each_step(
    demo_build: Build, recomputed: pd.DataFrame
) -> None:
    mart = _frame(
        demo_build,
        "select primary_segment, activity_month, step_number, step, sessions,"
        " step_conversion, conversion_from_first, events_without_session"
        " from marts.segment_funnels",
    )
    mart["activity_month"] = pd.to_datetime(mart["activity_month"]).dt.to_period("M")
    expected = []
    for (segment, month), group in recomputed.groupby(
        ["primary_segment", "activity_month"]
    ):
        for number, step in enumerate(STEPS, start=1):
            expected.append(
                (
                    segment,
                    month,
                    number,
                    step,
                    int((group["funnel_depth"] >= number).sum()),
                )
            )
    sessionless = recomputed.attrs["sessionless"]
    keys = ["primary_segment", "activity_month", "step_number"]
    expected = pd.DataFrame(expected, columns=[*keys, "step", "sessions"])
    got = mart[
        mart.set_index(["primary_segment", "activity_month"]).index.isin(
            expected.set_index(["primary_segment", "activity_month"]).index
        )
    ]
    # Segment-months with only sessionless events have rows too; the others
    # are those recomputed here.
    merged = expected.merge(got, on=keys, suffixes=("", "_mart"), how="outer")
    assert merged["sessions_mart"].notna().all() and merged["sessions"].notna().all()
    assert (merged["sessions"] == merged["sessions_mart"]).all()
    assert (merged["step"] == merged["step_mart"]).all()
    # Conversion: from the previous step and from the first.
    mart = mart.sort_values(keys)
    grouped = mart.groupby(["primary_segment", "activity_month"])["sessions"]
    previous = grouped.shift(1)
    first = grouped.transform("first")
    step_one = mart["step_number"] == 1
    assert mart.loc[step_one, "step_conversion"].isna().all()
    ratio = mart["sessions"] / previous.where(previous > 0)
    assert (mart["step_conversion"] - ratio).abs().fillna(0).max() < 1e-12 and mart[
        "step_conversion"
    ].isna().eq(ratio.isna()).all()
    assert (
        (mart["conversion_from_first"] - mart["sessions"] / first).abs().max()
    ) < 1e-12
    # Never more sessions at a step than at the one before.
    assert (grouped.diff().dropna() <= 0).all()
    # Events of each step's type without a session id, counted apart.
    for number, step in enumerate(STEPS, start=1):
        assert (
            mart.loc[mart["step_number"] == number, "events_without_session"].sum()
            == (sessionless["event_type"] == step).sum()
        ), step


def test_session_paths_are_the_top_paths(
    demo_build: Build, recomputed: pd.DataFrame
) -> None:
    counted = (
        recomputed.groupby("session_path")
        .agg(
            sessions=("session_path", "size"), purchase_sessions=("has_purchase", "sum")
        )
        .reset_index()
        .sort_values(["sessions", "session_path"], ascending=[False, True])
        .head(TOP_N)
    )
    mart = _frame(demo_build, "select * from marts.session_paths order by path_rank")
    assert list(mart["path_rank"]) == list(range(1, TOP_N + 1))
    assert list(mart["path"]) == list(counted["session_path"])
    assert list(mart["sessions"]) == list(counted["sessions"])
    assert list(mart["purchase_sessions"]) == list(counted["purchase_sessions"])
    assert (
        mart["session_share"] - mart["sessions"] / len(recomputed)
    ).abs().max() < 1e-12
    assert (
        mart["steps"]
        == mart["path"].map(lambda path: len(path.removesuffix(" > ...").split(" > ")))
    ).all()


def test_segment_behaviour_counts_sessions_and_sessionless_events_apart(
    demo_build: Build, recomputed: pd.DataFrame
) -> None:
    mart = _frame(demo_build, "select * from marts.segment_behaviour").set_index(
        "primary_segment"
    )
    sessionless = recomputed.attrs["sessionless"]
    assert (
        mart["sessions"].to_dict()
        == recomputed.groupby("primary_segment").size().to_dict()
    )
    assert (
        mart["events_without_session"].to_dict()
        == sessionless.groupby("primary_segment")
        .size()
        .reindex(mart.index, fill_value=0)
        .to_dict()
    )
    assert mart["purchase_sessions"].sum() == recomputed["has_purchase"].sum()
    assert ((mart["ctr"] - mart["clicks"] / mart["impressions"]).abs() < 1e-12).all()
    # The demo has events without a session id (server-side purchases and
    # logins, about 0.5% of the clean events), counted apart.
    share = len(sessionless) / (len(sessionless) + sum(map(len, recomputed["types"])))
    assert 0.001 < share < 0.02, share
    assert mart["events_without_session"].sum() == len(sessionless)


def test_the_non_increasing_test_catches_a_funnel_that_grows(
    demo_build: Build, tmp_path: Path
) -> None:
    """The data test on segment_funnels.sessions, as the demo build compiled
    it, run on a funnel whose third step has more sessions than its second:
    it returns that row (and none on the demo)."""
    compiled = next(
        (demo_build.workdir / "target" / "compiled").rglob(
            "non_increasing_segment_funnels*.sql"
        )
    )
    sql = compiled.read_text()
    relation = re.compile(r'"[^"]+"\."marts"\."segment_funnels"')
    assert relation.search(sql), sql
    assert demo_build.query(sql) == []
    with duckdb.connect() as connection:
        connection.execute(
            "create table broken as select * from (values"
            " ('high_value', date '2026-01-01', 1, 100),"
            " ('high_value', date '2026-01-01', 2, 40),"
            " ('high_value', date '2026-01-01', 3, 41),"
            " ('high_value', date '2026-02-01', 1, 10),"
            " ('high_value', date '2026-02-01', 2, 10),"
            " ('low_value', date '2026-01-01', 1, 5),"
            " ('low_value', date '2026-01-01', 2, 50))"
            " as t(primary_segment, activity_month, step_number, sessions)"
        )
        failures = connection.execute(relation.sub("broken", sql)).fetchall()
    # The growing steps (3 after 2 in January; low_value's 2 after 1), not
    # the equal ones nor steps of different months or segments.
    assert sorted((row[0], row[2]) for row in failures) == [
        ("high_value", 3),
        ("low_value", 2),
    ]


def test_orders_only_data_gives_empty_behaviour_marts(orders_only_build: Build) -> None:
    for mart in ("segment_funnels", "session_paths", "segment_behaviour"):
        assert orders_only_build.scalar(f"select count(*) from marts.{mart}") == 0, mart


def test_a_warehouse_built_before_the_new_columns_migrates_by_itself(
    small_parquet_build: Build, small_parquet_dir: Path, tmp_path: Path
) -> None:
    """An existing DATA= warehouse whose session days lack the funnel
    columns and whose staged events lack the id-repeat flag (as built before
    them): the next run loads the files again and adds the columns, giving
    what a fresh build gives (no stack trace, no FULL_REFRESH=1)."""
    dropped = {
        "intermediate.int_events_aggregated_to_session_days": [
            "has_checkout",
            "funnel_depth",
            "session_path",
            "step_events_without_session",
            "session_rules",
        ],
        "staging.base_app__events": ["is_event_id_repeated", "staging_rules"],
    }
    workdir = copy_build(small_parquet_build, tmp_path / "build")
    with duckdb.connect(str(workdir / "warehouse.duckdb")) as connection:
        for table, columns in dropped.items():
            for column in columns:
                connection.execute(f"alter table {table} drop column {column}")
    rerun = build_selection(
        workdir,
        small_parquet_dir,
        "base_app__events",
        "int_events_aggregated_to_session_days",
    )
    assert rerun.returncode == 0, rerun.output[-5000:]
    assert "their files are loaded again" in rerun.output
    for model in ("base_app__events", "int_events_aggregated_to_session_days"):
        assert (
            f"incremental {model}: 1 new or changed"
            " file(s) of raw.events to load, 0 unchanged" in rerun.output
        )
    migrated_build = Build(0, "", "", workdir / "warehouse.duckdb")
    for table, columns in dropped.items():
        schema, name = table.split(".")
        names = ", ".join(
            column
            for (column,) in small_parquet_build.query(
                "select column_name from information_schema.columns"
                f" where table_schema = '{schema}' and table_name = '{name}'"
                # Run metadata, not a result: the rows were loaded by other runs.
                " and column_name <> 'loaded_by_invocation_id'"
                " order by ordinal_position"
            )
        )
        assert set(columns) <= set(names.split(", "))
        query = f"select {names} from {table} order by all"
        migrated = migrated_build.query(query)
        assert migrated == small_parquet_build.query(query), table
        assert any(row[names.split(", ").index(columns[-1])] for row in migrated)
