"""The propensity models' inputs on the demo build (a year of monthly
history): the feature history keeps one snapshot per as-of date, the windows
follow their rule, the examples' labels and features are point in time, the
churn population is right, and a window without history, or with too few
examples, falls back with a note. Recomputed here from the snapshot dates,
staging's orders and the feature history, independently of the SQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import Build, copy_build, run_dbt, run_python

from segmentation.history import BACKFILL_SELECTOR, HISTORY_TABLES
from segmentation.project import project_vars

VARS = project_vars(Path(__file__).resolve().parents[1])
FEATURES = "intermediate.int_user_features_accumulated"
WINDOWS = "intermediate.int_propensity_windows"
EXAMPLES = "intermediate.int_propensity_examples"
CHECKED = "intermediate.int_propensity_windows_checked"
KEYS = ["as_of_date", "user_id", "user_key"]
EXAMPLE_KEYS = [
    "window_kind",
    "label",
    "horizon_days",
    "role",
    "snapshot_date",
    "label_end_date",
    "user_id",
    "user_key",
    "label_value",
]
DAY = dt.timedelta(days=1)


def frame(build: Build, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.execute(sql).df()


def as_of(build: Build) -> dt.date:
    return build.scalar("select as_of_date from intermediate.int_as_of_date")


def horizons() -> list[int]:
    return sorted(
        {
            *VARS["propensity_horizons_days"],
            VARS["propensity_purchase_horizon_days"],
            VARS["propensity_churn_horizon_days"],
        }
    )


def latest_in(dates: list[dt.date], earliest: dt.date, latest: dt.date):
    chosen = [day for day in dates if earliest <= day <= latest]
    return max(chosen) if chosen else None


def expected_windows(
    dates: list[dt.date], as_of_date: dt.date, horizon_list: list[int]
) -> dict[tuple[str, int], tuple]:
    """(label, H) -> (S0, S1) of the out_of_time windows, by the rule."""
    expected = {}
    for horizon in horizon_list:
        span = dt.timedelta(days=horizon)
        eval_date = latest_in(dates, as_of_date - 2 * span + DAY, as_of_date - span)
        train_date = (
            latest_in(dates, eval_date - 2 * span + DAY, eval_date - span)
            if eval_date
            else None
        )
        for label in ("will_purchase", "will_churn"):
            expected[(label, horizon)] = (train_date, eval_date)
    return expected


def sample_order(user_key: str, snapshot_date: dt.date) -> str:
    """The sampling order: md5 of user_key, '|' and the snapshot date."""
    return hashlib.md5(f"{user_key}|{snapshot_date}".encode()).hexdigest()


# --- the feature history -----------------------------------------------------


def test_feature_history_keeps_one_snapshot_per_backfilled_date(
    demo_build: Build,
) -> None:
    assert demo_build.returncode == 0, demo_build.output[-3000:]
    per_date = demo_build.query(
        f"select as_of_date, count(*), count(distinct user_id) from {FEATURES}"
        " group by 1 order by 1"
    )
    snapshots = demo_build.query(
        "select as_of_date, count(*) from"
        " intermediate.int_user_snapshots_accumulated group by 1 order by 1"
    )
    # The backfill's 12 monthly dates and the build's own: the same dates
    # and populations as the segment history, each user once per date.
    assert len(per_date) == 13
    assert [(day, rows) for day, rows, _ in per_date] == snapshots
    assert all(rows == users for _, rows, users in per_date)
    assert per_date[-1][0] == as_of(demo_build)
    # It is in the backfill and in what clear-history drops.
    assert "int_user_features_accumulated" in BACKFILL_SELECTOR
    assert ("intermediate", "int_user_features_accumulated") in HISTORY_TABLES


def test_feature_columns_are_the_profile_of_that_date_with_no_segments(
    demo_build: Build,
) -> None:
    columns = [
        row[0]
        for row in demo_build.query(
            "select column_name from information_schema.columns where"
            " table_schema = 'intermediate' and table_name ="
            " 'int_user_features_accumulated' order by ordinal_position"
        )
    ]
    assert columns[:3] == KEYS
    features = columns[3:]
    assert len(features) >= 40
    assert not {"primary_segment", "cluster_id", "cluster_label"} & set(features)
    # The build's own date equals the profile as published.
    differing = demo_build.scalar(
        f"select count(*) from {FEATURES} as features"
        " inner join intermediate.int_users_profiled as profiled"
        " on features.user_id = profiled.user_id"
        " and features.as_of_date = profiled.as_of_date"
        " where features.recency_days is distinct from profiled.recency_days"
        " or features.net_revenue is distinct from profiled.net_revenue"
        " or features.lifecycle_stage is distinct from profiled.lifecycle_stage"
        " or features.sessions_90d is distinct from profiled.sessions_90d"
    )
    assert differing == 0
    assert demo_build.scalar(
        f"select count(*) from {FEATURES} where as_of_date = (select"
        " as_of_date from intermediate.int_as_of_date)"
    ) == demo_build.scalar("select count(*) from intermediate.int_users_profiled")


# --- the windows -------------------------------------------------------------


def test_windows_follow_the_rule_on_the_snapshot_dates(demo_build: Build) -> None:
    as_of_date = as_of(demo_build)
    dates = [
        row[0]
        for row in demo_build.query(
            f"select distinct as_of_date from {FEATURES} order by 1"
        )
        if row[0] < as_of_date
    ]
    expected = expected_windows(dates, as_of_date, horizons())
    windows = frame(demo_build, f"select * from {WINDOWS}")
    # No calibration on the demo: out_of_time windows only.
    assert set(windows["window_kind"]) == {"out_of_time"}
    assert len(windows) == len(expected)
    for row in windows.itertuples():
        train_date, eval_date = expected[(row.label, row.horizon_days)]
        span = dt.timedelta(days=row.horizon_days)
        assert row.eval_snapshot_date.date() == eval_date
        assert row.train_snapshot_date.date() == train_date
        assert row.train_label_end_date.date() == train_date + span
        assert row.eval_label_end_date.date() == eval_date + span
        assert row.eval_label_end_date.date() <= as_of_date
        assert row.train_label_end_date.date() <= eval_date
        assert row.eval_label_days == row.horizon_days
        assert row.is_scoring_window == (
            (row.label, row.horizon_days)
            in {
                ("will_purchase", VARS["propensity_purchase_horizon_days"]),
                ("will_churn", VARS["propensity_churn_horizon_days"]),
            }
        )
    # The demo's 30-day purchase window: trained on August, evaluated on
    # September, labels to the as-of date.
    purchase = windows.set_index(["label", "horizon_days"]).loc[("will_purchase", 30)]
    assert str(purchase.train_snapshot_date.date()) == "2026-08-01"
    assert str(purchase.eval_snapshot_date.date()) == "2026-09-01"
    checked = demo_build.query(f"select distinct status from {CHECKED}")
    assert checked == [("ready",)]


# --- the examples ------------------------------------------------------------


def test_labels_are_the_purchases_between_snapshot_and_label_end(
    demo_build: Build,
) -> None:
    as_of_date = pd.Timestamp(as_of(demo_build))
    orders = frame(
        demo_build, "select user_id, ordered_at, status from staging.stg_app__orders"
    )
    purchases = orders[
        orders["status"].isin(VARS["purchase_statuses"])
        & (orders["ordered_at"] < as_of_date)
    ].assign(ordered_date=lambda data: data["ordered_at"].dt.normalize())
    examples = frame(
        demo_build,
        "select window_kind, label, horizon_days, role, snapshot_date,"
        f" label_end_date, user_id, label_value, recency_days from {EXAMPLES}",
    )
    assert len(examples) > 0
    for (label, _, _, snapshot, end), rows in examples.groupby(
        ["label", "horizon_days", "role", "snapshot_date", "label_end_date"]
    ):
        bought = set(
            purchases.loc[
                (purchases["ordered_date"] >= snapshot)
                & (purchases["ordered_date"] < end),
                "user_id",
            ]
        )
        expected = rows["user_id"].isin(bought)
        if label == "will_churn":
            expected = ~expected
        assert (rows["label_value"] == expected).all(), (label, snapshot, end)
        # Both classes occur: the comparison is not vacuous.
        assert 0 < rows["label_value"].sum() < len(rows)


def test_populations_are_the_snapshot_users_and_the_recent_buyers_for_churn(
    demo_build: Build,
) -> None:
    # The demo's populations are below propensity_sample_size: every user
    # of the snapshot is an example (will_purchase), and exactly those who
    # bought in the horizon's days before it (will_churn).
    assert demo_build.scalar(f"select count(*) from {FEATURES}") > 0
    populations = demo_build.query(
        "select examples.label, examples.horizon_days, examples.role,"
        " count(*) as examples,"
        " (select count(*) from"
        f" {FEATURES} as features where features.as_of_date ="
        " examples.snapshot_date) as snapshot_users,"
        f" (select count(*) from {FEATURES} as features"
        " where features.as_of_date = examples.snapshot_date"
        " and features.recency_days <= examples.horizon_days) as recent_buyers"
        f" from {EXAMPLES} as examples group by all order by all"
    )
    assert len(populations) == 8
    for label, _, _, examples, snapshot_users, recent_buyers in populations:
        assert examples <= VARS["propensity_sample_size"]
        expected = snapshot_users if label == "will_purchase" else recent_buyers
        assert examples == expected
    assert (
        demo_build.scalar(
            f"select count(*) from {EXAMPLES} where label = 'will_churn'"
            " and not (recency_days <= horizon_days)"
        )
        == 0
    )


def test_example_features_are_the_feature_history_of_the_snapshot_date(
    demo_build: Build,
) -> None:
    columns = [
        row[0]
        for row in demo_build.query(
            "select column_name from information_schema.columns where"
            " table_schema = 'intermediate' and table_name ="
            " 'int_propensity_examples' order by ordinal_position"
        )
    ]
    assert columns[: len(EXAMPLE_KEYS)] == EXAMPLE_KEYS
    features = columns[len(EXAMPLE_KEYS) :]
    history_features = [
        row[0]
        for row in demo_build.query(
            "select column_name from information_schema.columns where"
            " table_schema = 'intermediate' and table_name ="
            " 'int_user_features_accumulated' order by ordinal_position"
        )
    ][3:]
    assert features == history_features
    differs = " or ".join(
        f"examples.{column} is distinct from history.{column}" for column in features
    )
    joined, differing, aged, same_as_today = demo_build.query(
        f"select count(history.user_id), count(*) filter ({differs}),"
        " count(examples.days_since_first_purchase),"
        " count(*) filter (where examples.days_since_first_purchase"
        " = today.days_since_first_purchase)"
        f" from {EXAMPLES} as examples"
        f" left join {FEATURES} as history"
        " on examples.user_id = history.user_id"
        " and examples.snapshot_date = history.as_of_date"
        f" left join {FEATURES} as today"
        " on examples.user_id = today.user_id and today.as_of_date ="
        " (select as_of_date from intermediate.int_as_of_date)"
    )[0]
    total = demo_build.scalar(f"select count(*) from {EXAMPLES}")
    assert joined == total
    assert differing == 0
    # ... and not the as-of date's: the days since the first purchase are
    # those of the snapshot date, never the build's.
    assert aged > 0
    assert same_as_today == 0


# --- sampling and fallbacks, on a copy with other vars ---------------------


SAMPLE_SIZE = 300
FAULT_VARS = {
    "propensity_sample_size": SAMPLE_SIZE,
    # 400 days: no snapshot 400 to 800 days before the as-of date.
    # 200 days: September's snapshot 2026-03-01 has none 200 days before.
    "propensity_horizons_days": [30, 200, 400],
}


@pytest.fixture(scope="module")
def refitted(demo_build: Build, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The demo's propensity inputs rebuilt on a copy with a small sample
    and horizons the history cannot serve."""
    workdir = copy_build(demo_build, tmp_path_factory.mktemp("propensity") / "w")
    result = run_dbt(
        workdir,
        "run",
        "--select",
        "int_propensity_windows",
        "int_propensity_examples",
        "int_propensity_windows_checked",
        "--vars",
        json.dumps(FAULT_VARS),
    )
    return Build(result.returncode, result.stdout, result.stderr, result.database)


def test_sampling_keeps_the_first_users_in_md5_order(
    refitted: Build, demo_build: Build
) -> None:
    assert refitted.returncode == 0, refitted.output[-3000:]
    examples = frame(
        refitted,
        "select window_kind, label, horizon_days, role, snapshot_date,"
        f" user_id, user_key from {EXAMPLES}",
    )
    features = frame(
        demo_build,
        f"select as_of_date, user_id, user_key, recency_days from {FEATURES}",
    )
    groups = examples.groupby(["label", "horizon_days", "role", "snapshot_date"])
    assert len(groups) == 8
    for (label, horizon, _, snapshot), rows in groups:
        population = features[features["as_of_date"] == snapshot]
        if label == "will_churn":
            population = population[population["recency_days"] <= horizon]
        assert len(population) > SAMPLE_SIZE
        order = population.assign(
            position=[
                sample_order(key, snapshot.date()) for key in population["user_key"]
            ]
        ).sort_values(["position", "user_id"])
        assert len(rows) == SAMPLE_SIZE
        assert set(rows["user_id"]) == set(order["user_id"].head(SAMPLE_SIZE))


def test_windows_without_history_or_examples_fall_back_with_a_note(
    refitted: Build,
) -> None:
    checked = frame(refitted, f"select * from {CHECKED}").set_index(
        ["label", "horizon_days"]
    )
    assert len(checked) == 8
    minimum = VARS["propensity_min_class_size"]
    # 400 days: no evaluation snapshot.
    for label in ("will_purchase", "will_churn"):
        row = checked.loc[(label, 400)]
        assert row.status == "fallback"
        assert row.fallback_reason == "no_history"
        assert pd.isna(row.eval_snapshot_date) and pd.isna(row.train_snapshot_date)
        assert row.train_rows == 0 and row.eval_rows == 0
        assert "no feature snapshot from 2024-07-24 to 2025-08-27" in (
            row.fallback_note
        )
        assert "HISTORY_FROM=2023-06-12 HISTORY_EVERY=week" in row.fallback_note
    # 200 days: an evaluation snapshot, but none to train on before it.
    row = checked.loc[("will_purchase", 200)]
    assert str(row.eval_snapshot_date.date()) == "2026-03-01"
    assert row.fallback_reason == "no_history"
    assert "no feature snapshot from 2025-01-26 to 2025-08-13 to train on" in (
        row.fallback_note
    )
    # 30 and 90 days (the churn score's horizon): 300 users each; a window
    # is ready only when both classes reach the minimum in both roles, and
    # the note names the counts of the rows at fault.
    reasons = set()
    for horizon in (30, 90):
        for label in ("will_purchase", "will_churn"):
            row = checked.loc[(label, horizon)]
            assert row.train_rows == SAMPLE_SIZE and row.eval_rows == SAMPLE_SIZE
            counts = {
                "positives": min(row.train_positives, row.eval_positives),
                "negatives": min(row.train_negatives, row.eval_negatives),
            }
            assert min(counts.values()) > 0
            if min(counts.values()) >= minimum:
                assert row.status == "ready"
                assert pd.isna(row.fallback_reason) and pd.isna(row.fallback_note)
                continue
            kind = "positives" if counts["positives"] < minimum else "negatives"
            assert row.status == "fallback"
            assert row.fallback_reason == f"too_few_{kind}"
            role = (
                "training" if getattr(row, f"train_{kind}") < minimum else "evaluation"
            )
            assert f"the {role} rows (snapshot" in row.fallback_note
            assert f"fewer than {minimum} {kind}" in row.fallback_note
            assert "propensity_min_class_size" in row.fallback_note
            reasons.add(row.fallback_reason)
    assert reasons == {"too_few_positives", "too_few_negatives"}


def test_clear_history_drops_the_feature_history(refitted: Build) -> None:
    cleared = run_python(refitted.workdir, "-m", "segmentation", "clear-history")
    assert cleared.returncode == 0, cleared.output[-2000:]
    assert "intermediate.int_user_features_accumulated" in cleared.stdout
    assert not refitted.query(
        "select * from information_schema.tables"
        " where table_name = 'int_user_features_accumulated'"
    )
