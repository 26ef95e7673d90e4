"""make run DATA=folder on folders shaped like real exports (issue 13): one
messy but readable folder builds with every raw line accounted for, and
folders that cannot be read stop with a message naming the file, the
problem and the fix, before dbt starts and under dbt alone.

The messy folder is built once (a shared build) and carries at once what
real exports do: a folder name with brackets and parentheses, upper-case
extensions, a tab-separated users file in GBK, a Windows-1252 orders file
beside a UTF-8 one with a BOM, semicolons and decimal commas, mixed line
endings, day-first dates, US birth dates, null literals, a malformed line
(two fields too many), files of one
table with different columns, Hive-style partition folders of Parquet
events, and macOS junk. The planner's detection itself is tested file by
file, without dbt, in test_intake.py."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import Build, made_once, run_build, run_dbt, shared_build

FOLDER_NAME = "exports [2025-10] (final)"
USERS = [f"u{number:03d}" for number in range(1, 61)]
CITIES = ["上海", "北京", "深圳"]
# Orders of part-1.csv (UTF-8 with BOM, ';', decimal ',', day-first dates):
# (order_id, user_id, day of October 2025, amount as written, amount).
PART_1 = [
    (f"A{number:03d}", USERS[number % 40], 1 + number % 28, text, value)
    for number, (text, value) in enumerate(
        [("12,50", 12.5), ("1.234,50", 1234.5), ("7", 7.0), ("0,99", 0.99)] * 25
    )
]
NULL_USER_IDS = ["NULL", "N/A", "\\N", "None"]
# Two fields too many (DuckDB reports such a line once per surplus field).
MALFORMED_LINE = "A900;u001;02.10.2025;5,00;paid;surplus;more"
# Orders of PART-2.CSV (Windows-1252, ',', ISO dates, with product_category).
PART_2 = [
    (f"B{number:03d}", USERS[number % 40], 1 + number % 28, category)
    for number, category in enumerate(["Café", "€-deals", "books"] * 20)
]
# orders/extra.csv: an extra column, header names in other cases, and ISO
# dates, times and UTC offsets (the date_format of orders does not match
# them, so they are read as ISO 8601).
EXTRA = (
    "Order_ID,USER_ID,Ordered_At,Amount,loyalty_points\n"
    "X1,u001,2025-10-05,10.00,3\n"
    "X2,u002,2025-10-05 10:00:00,20.50,7\n"
    "X3,u001,2025-10-05T09:30:00Z,5,1\n"
)
# Two Hive-style partitions of events; the second lacks duration_seconds.
EVENT_DAYS = ["2025-10-01", "2025-10-02"]
VARS = {
    "raw_table_formats": {
        "orders": {"date_format": "%d.%m.%Y"},
        "users": {"date_formats": {"birth_date": "%m/%d/%Y"}},
    }
}


def write_messy_export(folder: Path) -> Path:
    data = folder / FOLDER_NAME
    (data / "orders").mkdir(parents=True)
    users = ["user_id\tsigned_up_at\tbirth_date\tcity\tmarketing_opt_in"]
    for number, user_id in enumerate(USERS):
        users.append(
            f"{user_id}\t2025-0{1 + number % 9}-15\t"
            f"{1 + number % 12:02d}/{1 + number % 28:02d}/19{70 + number % 30}\t"
            f"{CITIES[number % 3]}\t{'yes' if number % 2 else 'no'}"
        )
    (data / "Users.TSV").write_bytes(("\r\n".join(users) + "\r\n").encode("gbk"))

    part_1 = ["order_id;user_id;ordered_at;amount;status"]
    for order_id, user_id, day, text, _ in PART_1:
        part_1.append(f"{order_id};{user_id};{day:02d}.10.2025;{text};paid")
    for number, literal in enumerate(NULL_USER_IDS):
        part_1.append(f"N{number};{literal};03.10.2025;1,00;paid")
    part_1.append(MALFORMED_LINE)
    # The header ends in LF, the rows in CRLF (rows appended on Windows).
    (data / "orders" / "part-1.csv").write_bytes(
        ("\ufeff" + part_1[0] + "\n" + "\r\n".join(part_1[1:]) + "\r\n").encode()
    )
    part_2 = ["Order_ID,User_ID,Ordered_At,Amount,Product_Category"]
    for order_id, user_id, day, category in PART_2:
        part_2.append(f"{order_id},{user_id},2025-10-{day:02d},1000.00,{category}")
    (data / "orders" / "PART-2.CSV").write_bytes(
        ("\r\n".join(part_2) + "\r\n").encode("cp1252")
    )
    (data / "orders" / "extra.csv").write_text(EXTRA)

    connection = duckdb.connect()
    for number, day in enumerate(EVENT_DAYS):
        partition = data / "events" / f"date={day}"
        partition.mkdir(parents=True)
        duration = ", 30.0 as duration_seconds" if number == 0 else ""
        connection.execute(
            f"copy (select 'E{number}-' || i as event_id,"
            f" 'u0' || lpad(cast(1 + i % 50 as varchar), 2, '0') as user_id,"
            f" 'S{number}-' || (i // 3) as session_id,"
            f" timestamp '{day} 10:00:00' + to_seconds(i) as occurred_at,"
            f" 'page_view' as event_type{duration}"
            f" from range(90) as t(i))"
            f" to '{partition / 'part-0.parquet'}' (format parquet)"
        )
    # What macOS, Windows and the user leave behind.
    (data / "orders" / "._part-1.csv").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    (data / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (data / "README.txt").write_text("Exported from the shop on 2025-10-29.\n")
    return data


@pytest.fixture(scope="module")
def messy_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return made_once(tmp_path_factory, "messy_export", write_messy_export)


@pytest.fixture(scope="module")
def messy_build(tmp_path_factory: pytest.TempPathFactory, messy_export: Path) -> Build:
    return shared_build(
        tmp_path_factory,
        "messy_export_build",
        "--data",
        str(messy_export / FOLDER_NAME),
        "--vars",
        json.dumps(VARS),
    )


def test_make_run_says_how_it_read_each_table(messy_build: Build) -> None:
    output = messy_build.stdout
    assert "Reading DATA folder" in output and FOLDER_NAME in output
    orders = next(line for line in output.splitlines() if "  orders:" in line)
    assert "3 files in orders/" in orders
    assert "decimal ','" in orders and "%d.%m.%Y" in orders
    assert "1252" in orders  # the Windows-1252 file, converted
    assert "mixed line endings" in orders
    users = next(line for line in output.splitlines() if "  users:" in line)
    assert "Users.TSV" in users and "GB" in users
    assert "orders/._part-1.csv" in output and ".DS_Store" in output
    assert "Traceback" not in messy_build.output


def test_every_raw_line_is_staged_or_rejected(messy_build: Build) -> None:
    lines = {
        "orders": len(PART_1) + len(NULL_USER_IDS) + 1 + len(PART_2) + 3,
        "users": len(USERS),
        "events": 90 * len(EVENT_DAYS),
    }
    reconciled = {
        table: (raw, staged, rejected)
        for table, raw, staged, rejected in messy_build.query(
            "select source_table, raw_row_count, staged_row_count,"
            " rejected_row_count from marts.data_quality"
        )
    }
    for table, count in lines.items():
        raw, staged, rejected = reconciled[table]
        assert raw == count == staged + rejected, table
    assert reconciled["orders"][2] == len(NULL_USER_IDS) + 1
    assert reconciled["users"][2] == reconciled["events"][2] == 0


def test_null_literals_are_missing_ids_never_users(messy_build: Build) -> None:
    rejected = messy_build.query(
        "select raw_key from staging.stg_app__rejected_rows"
        " where source_table = 'orders' and reject_reason = 'missing_user_id'"
        " order by 1"
    )
    assert rejected == [(f"N{number}",) for number in range(len(NULL_USER_IDS))]
    literals = [literal.lower() for literal in NULL_USER_IDS]
    named_after_a_literal = messy_build.query(
        "select count(*) from intermediate.int_users_unioned"
        f" where lower(user_id) in ({', '.join('?' * len(literals))})",
        literals,
    )
    assert named_after_a_literal == [(0,)]


def test_a_malformed_line_costs_one_row_and_is_kept(messy_build: Build) -> None:
    ((raw_record,),) = messy_build.query(
        "select raw_record from staging.stg_app__rejected_rows"
        " where reject_reason = 'malformed_row'"
    )
    record = json.loads(raw_record)
    assert record["source_file"] == "part-1.csv"
    assert record["line_number"] == len(PART_1) + len(NULL_USER_IDS) + 2
    assert record["raw_line"] == MALFORMED_LINE
    assert "too many columns" in record["problem"]


def test_numbers_dates_and_text_arrive_as_written(messy_build: Build) -> None:
    staged = {
        order_id: (user_id, ordered_at, float(amount), category)
        for order_id, user_id, ordered_at, amount, category in messy_build.query(
            "select order_id, user_id, ordered_at, amount, product_category"
            " from staging.stg_app__orders"
        )
    }
    assert len(staged) == len(PART_1) + len(PART_2) + 3
    for order_id, user_id, day, _, value in PART_1:
        assert staged[order_id] == (
            user_id,
            dt.datetime(2025, 10, day),
            pytest.approx(value),
            None,  # part-1.csv has no product_category column
        )
    for order_id, user_id, day, category in PART_2:
        assert staged[order_id] == (
            user_id,
            dt.datetime(2025, 10, day),
            1000.0,
            category.lower().replace("-", "_"),  # normalize_label
        )
    # extra.csv: the extra column is dropped, names match in any case, and
    # ISO dates, times and offsets are read (Z is UTC).
    assert "loyalty_points" not in [
        row[0] for row in messy_build.query("describe raw.orders")
    ]
    assert [(key, *staged[key][1:3]) for key in ("X1", "X2", "X3")] == [
        ("X1", dt.datetime(2025, 10, 5), 10.0),
        ("X2", dt.datetime(2025, 10, 5, 10), 20.5),
        ("X3", dt.datetime(2025, 10, 5, 9, 30), 5.0),
    ]
    assert messy_build.query(
        "select distinct status from staging.stg_app__orders"
        " where order_id in ('X1', 'X2', 'X3')"
    ) == [("completed",)]  # no status column: completed
    cities = dict(messy_build.query("select user_id, city from staging.stg_app__users"))
    assert {cities[user_id] for user_id in USERS} == set(CITIES)
    births = messy_build.query(
        "select count(*), count(birth_date), min(birth_date)"
        " from staging.stg_app__users"
    )[0]
    assert births == (len(USERS), len(USERS), dt.date(1970, 1, 1))


def test_partitioned_events_with_different_columns_are_all_read(
    messy_build: Build,
) -> None:
    per_file = messy_build.query(
        "select _source_file, count(*), count(duration_seconds) from raw.events"
        " group by 1 order by 1"
    )
    assert per_file == [
        (f"date={EVENT_DAYS[0]}/part-0.parquet", 90, 90),
        (f"date={EVENT_DAYS[1]}/part-0.parquet", 90, 0),
    ]
    assert messy_build.scalar("select count(*) from staging.stg_app__events") == 180


def test_every_user_is_segmented_once(messy_build: Build) -> None:
    users, distinct, never_bought = messy_build.query(
        "select count(*), count(distinct user_id),"
        " count(*) filter (where lifecycle_stage = 'prospect')"
        " from marts.user_profiles"
    )[0]
    assert users == distinct == len(USERS)
    assert never_bought == len(USERS) - 40  # from Users.TSV only
    assert messy_build.scalar("select count(*) from marts.user_segments") == len(USERS)


def _copy_of(messy_export: Path, destination: Path) -> Path:
    data = destination / FOLDER_NAME
    shutil.copytree(messy_export / FOLDER_NAME, data)
    return data


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unread_table_file", ["customers.csv", "ignore_files"]),
        ("workbook_named_csv", ["orders.csv", "not a text file"]),
        ("header_only_orders", ["orders.csv", "no rows"]),
        ("two_amount_columns", ["orders.csv", "column amount 2 times"]),
    ],
)
def test_unreadable_folders_stop_before_dbt_with_the_file_and_the_fix(
    case: str, expected: list[str], messy_export: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    if case == "unread_table_file":
        data = _copy_of(messy_export, tmp_path)
        (data / "customers.csv").write_text("customer_id\n1\n")
    else:
        data.mkdir()
        header = "order_id,user_id,ordered_at,amount"
        content = {
            "workbook_named_csv": b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64,
            "header_only_orders": f"{header}\n".encode(),
            "two_amount_columns": f"{header},amount\nA1,u1,2025-10-01,1,2\n".encode(),
        }[case]
        (data / "orders.csv").write_bytes(content)
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode == 2
    for text in expected:
        assert text in build.stderr
    assert "Traceback" not in build.output
    assert "dbt build" not in build.output
    assert not build.database.exists()


def test_dbt_alone_stops_on_an_unread_file_with_the_same_message(
    messy_export: Path, tmp_path: Path
) -> None:
    """The hook plans the folder with the same planner (through the
    plugin's SQL function), so calling dbt directly is as safe."""
    data = _copy_of(messy_export, tmp_path)
    (data / "orders" / "part-3.json").write_text('{"order_id": "C1"}\n')
    build = run_dbt(
        tmp_path / "run",
        "run",
        "--select",
        "base_app__data_horizon",
        "--vars",
        json.dumps({"data_dir": str(data)}),
    )
    assert build.returncode != 0
    assert "orders/part-3.json" in build.output
    assert "Traceback" not in build.output
