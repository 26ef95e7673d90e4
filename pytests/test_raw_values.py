"""Values people's exports write (issue 13): ids written as floats by pandas,
user ids in two cases, the US spelling `canceled`, and absurd amounts. One
DATA folder holds every case and is built once (make run DATA=...
VARS='{max_order_amount: ...}'); each test reads one case from it.
The setting user_id_case_sensitive false is covered by the dbt unit tests of
the base models (models/staging/app/base/_base__models.yml)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import Build, run_build, run_dbt

MAX_ORDER_AMOUNT = 100000
# An amount as large as decimal(18, 2) allows: above the cap, rejected.
HUGE_AMOUNT = "9999999999999999.99"
# Above 1000x the median purchase amount (about 20) but below the cap: kept,
# and the build warns.
OUTLIERS = ("60000.00", "45000.00")

USERS = (
    "user_id,signed_up_at\n"
    # pandas writes an integer id column with a missing value as floats.
    "1.0,2025-01-01\n"
    "2.0,2025-01-02\n"
    # Two users by default: ids are case-sensitive.
    "u001,2025-01-04\n"
    "U001,2025-01-05\n"
)


def _orders() -> str:
    users = ("1", "2", "u001", "U001")
    rows = [
        f"O{i},{users[i % 4]},2025-03-{1 + i % 28:02d} 10:00:00,{20 + i % 5}.00,"
        f"completed,books"
        for i in range(40)
    ]
    rows += [
        "C1,1,2025-03-02 11:00:00,15.00,canceled,books",
        "C2,2.0,2025-03-03 11:00:00,15.00, Canceled ,books",
        f"H1,1,2025-03-04 11:00:00,{HUGE_AMOUNT},completed,books",
        f"X1,2,2025-03-05 11:00:00,{OUTLIERS[0]},completed,books",
        f"X2,u001,2025-03-06 11:00:00,{OUTLIERS[1]},paid,books",
    ]
    return "order_id,user_id,ordered_at,amount,status,product_category\n" + "".join(
        row + "\n" for row in rows
    )


def _write_events(path: Path) -> None:
    """events.parquet as pandas writes it: user, event and session ids in
    DOUBLE columns (an integer column with a missing value): 40 events of
    users 1 and 2 in sessions 10 to 13, and one whose user id is NaN."""
    with duckdb.connect() as connection:
        connection.execute(
            "copy (select"
            " cast(i as double) as event_id,"
            " case when i = 40 then 'nan'::double else 1.0 + i % 2 end"
            " as user_id,"
            " cast(10 + i // 10 as double) as session_id,"
            " timestamp '2025-03-01 10:00:00' + to_minutes(i) as occurred_at,"
            " 'click' as event_type"
            f" from range(41) as events (i)) to '{path}' (format parquet)"
        )


@pytest.fixture(scope="module")
def values_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    data = tmp_path_factory.mktemp("raw_values_data")
    (data / "users.csv").write_text(USERS)
    (data / "orders.csv").write_text(_orders())
    _write_events(data / "events.parquet")
    build = run_build(
        tmp_path_factory.mktemp("raw_values_build"),
        "--data",
        str(data),
        "--vars",
        json.dumps({"max_order_amount": MAX_ORDER_AMOUNT}),
    )
    assert build.returncode == 0, build.output[-5000:]
    return build


def test_float_ids_match_integer_ids(values_build: Build) -> None:
    # users.csv says 1.0 and 2.0, orders.csv mostly 1 and 2: one user each.
    assert sorted(values_build.query("select user_id from staging.stg_app__users")) == [
        ("1",),
        ("2",),
        ("U001",),
        ("u001",),
    ]
    staged = dict(
        values_build.query(
            "select user_id, count(*) from staging.stg_app__orders group by 1"
        )
    )
    assert staged == {"1": 11, "2": 12, "u001": 11, "U001": 10}
    assert (
        values_build.scalar(
            "select count(*) from staging.stg_app__rejected_rows"
            " where reject_reason = 'unknown_user'"
        )
        == 0
    )


def test_typed_double_ids_read_as_integers(values_build: Build) -> None:
    # events.parquet holds DOUBLE ids: 1.0 is user 1, NaN is a missing id.
    assert values_build.query(
        "select user_id, count(*), min(event_id), max(session_id)"
        " from staging.stg_app__events where event_id in ('0', '1', '39')"
        " group by 1 order by 1"
    ) == [("1", 1, "0", "10"), ("2", 2, "1", "13")]
    assert (
        values_build.scalar(
            "select count(*) from staging.stg_app__events where event_id like '%.%'"
            " or user_id like '%.%' or session_id like '%.%'"
        )
        == 0
    )
    assert values_build.query(
        "select raw_key, reject_reason from staging.stg_app__rejected_rows"
        " where source_table = 'events'"
    ) == [("40", "missing_user_id")]


def test_every_user_once_in_the_segments(values_build: Build) -> None:
    assert values_build.query(
        "select count(*), count(distinct user_id) from marts.user_segments"
    ) == [(4, 4)]


def test_user_ids_are_case_sensitive_by_default(values_build: Build) -> None:
    purchasers = dict(
        values_build.query(
            "select user_id, count(*) from staging.stg_app__orders"
            " where lower(user_id) = 'u001' group by 1"
        )
    )
    assert purchasers == {"u001": 11, "U001": 10}


def test_us_spelling_canceled_is_cancelled(values_build: Build) -> None:
    assert sorted(
        values_build.query(
            "select order_id, status from staging.stg_app__orders"
            " where order_id like 'C%'"
        )
    ) == [("C1", "cancelled"), ("C2", "cancelled")]
    assert (
        values_build.scalar(
            "select count(*) from staging.stg_app__rejected_rows"
            " where reject_reason = 'invalid_status'"
        )
        == 0
    )


def test_an_amount_above_max_order_amount_is_rejected(values_build: Build) -> None:
    rejected = values_build.query(
        "select raw_key, reject_reason, raw_record"
        " from staging.stg_app__rejected_rows where source_table = 'orders'"
    )
    assert [(key, reason) for key, reason, _ in rejected] == [
        ("H1", "amount_above_max")
    ]
    assert HUGE_AMOUNT in rejected[0][2]
    # The reason is listed, with its rule, for the data-quality marts.
    assert values_build.query(
        "select rejected_row_count, rule from marts.data_quality_reasons"
        " where reject_reason = 'amount_above_max'"
    ) == [(1, "amount is above var max_order_amount (unset by default: no cap)")]
    # Amounts at or below the cap are kept, outliers included.
    assert values_build.scalar(
        "select max(amount) from staging.stg_app__orders"
    ) == float(OUTLIERS[0])


def test_amounts_far_above_the_median_warn(values_build: Build) -> None:
    # dbt warns ...
    assert "Warning in test data_quality_order_amounts_above_1000x_median" in (
        values_build.stdout
    )
    # ... the quality mart says which, how large, and the fix ...
    [(count, largest, order_id, message)] = values_build.query(
        "select outlier_count, largest_amount, largest_order_id, warning"
        " from intermediate.int_order_amount_outliers_measured"
    )
    assert (count, float(largest), order_id) == (2, float(OUTLIERS[0]), "X1")
    assert message.startswith("orders: 2 orders have an amount above 1000 times")
    assert "the largest is 60000.00 (order_id X1)" in message
    assert "max_order_amount" in message
    assert values_build.query(
        "select message from marts.data_quality_warnings"
        " where warning_kind = 'amount_outliers'"
    ) == [(message,)]
    # ... and make run's summary prints it under Warnings.
    assert f"  {message}" in values_build.stdout.split("Warnings", 1)[1]


def test_an_alias_to_an_unknown_status_stops_with_a_message(tmp_path: Path) -> None:
    # Parsing the project is enough (about 6 s): no build.
    compiled = run_dbt(
        tmp_path,
        "compile",
        "--select",
        "base_app__orders",
        "--vars",
        json.dumps({"order_status_aliases": {"voided": "void"}}),
    )
    assert compiled.returncode != 0
    assert (
        "var order_status_aliases maps voided to void, which is not one of"
        " var order_statuses (completed, paid, refunded, cancelled)"
    ) in compiled.output
