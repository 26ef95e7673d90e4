"""Bad input through the DATA folder path: every case either builds, with
rows conserved and every user exactly once in the final segments, or stops
with a documented message naming the file and column. Never a traceback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import Build, made_once, run_build, shared_build

ORDERS = "order_id,user_id,ordered_at,amount,status,product_category\n"
USERS = (
    "user_id,signed_up_at,birth_date,gender,region,city,acquisition_channel,"
    "email,phone,marketing_opt_in\n"
)
EVENTS = "event_id,user_id,session_id,occurred_at,event_type,duration_seconds\n"


def _orders(rows: int = 12, users: int = 4) -> str:
    return "".join(
        f"O{i},u{i % users},2025-0{1 + i % 9}-1{i % 10} 10:00:00,{10 + i * 7}.50,"
        f"completed,books\n"
        for i in range(rows)
    )


def _users(count: int = 4) -> str:
    return "".join(
        f"u{i},2024-12-01,1990-01-0{1 + i % 9},female,North,Oslo,email,"
        f"user{i}@example.com,+1-555-000000{i % 10},true\n"
        for i in range(count)
    )


def _events(count: int = 20, users: int = 4) -> str:
    return "".join(
        f"E{i},u{i % users},S{i // 3},2025-09-0{1 + i % 9} 10:00:0{i % 10},"
        f"{'impression' if i % 2 else 'click'},\n"
        for i in range(count)
    )


CASES: dict[str, dict[str, str]] = {
    "nulls_in_every_column": {
        "orders.csv": ORDERS
        + _orders()
        + ",u1,2025-01-01,10,completed,books\n"
        + "X1,,2025-01-01,10,completed,books\n"
        + "X2,u1,,10,completed,books\n"
        + "X3,u1,2025-01-01,,completed,books\n"
        + "X4,u1,2025-01-01,10,,\n"
        + ",,,,,\n",
        "users.csv": USERS + _users() + ",,,,,,,,,\n" + "u9,,,,,,,,,\n",
        "events.csv": EVENTS + _events() + ",,,,,\n" + "E99,u1,,2025-09-01,click,\n",
    },
    "duplicate_keys": {
        "orders.csv": ORDERS
        + _orders()
        + _orders(3)
        + "O1,u2,2025-05-05,99,paid,home\n",
        "users.csv": USERS + _users() + _users(2),
        "events.csv": EVENTS + _events() + _events(5),
    },
    "negative_zero_and_enormous_amounts": {
        "orders.csv": ORDERS
        + _orders()
        + "N1,u1,2025-02-02,-5,completed,books\n"
        + "Z1,u1,2025-02-02,0,completed,books\n"
        + "H1,u2,2025-02-02,99999999999999999999,completed,books\n"
        + "H2,u2,2025-02-02,1e30,completed,books\n",
    },
    "text_in_numeric_columns": {
        "orders.csv": ORDERS
        + _orders()
        + "T1,u1,2025-02-02,twelve,completed,books\n"
        + "T2,u1,2025-02-02,12 and 50,completed,books\n",
        "events.csv": EVENTS + _events() + "T3,u1,S1,2025-09-02,page_view,long\n",
    },
    "unparseable_and_future_timestamps": {
        "orders.csv": ORDERS
        + _orders()
        + "F1,u1,2099-12-31 23:59:59,10,completed,books\n"
        + "F2,u1,31/12/2025,10,completed,books\n"
        + "F3,u1,2025-02-02T10:00:00+02:00,10,completed,books\n",
        "events.csv": EVENTS + _events() + "F4,u1,S1,2087-01-01,click,\n",
    },
    "unknown_users": {
        "orders.csv": ORDERS + _orders() + "K1,stranger,2025-02-02,10,completed,x\n",
        "users.csv": USERS + _users(),
        "events.csv": EVENTS + _events() + "K2,stranger,S9,2025-09-02,click,\n",
    },
    "empty_users_and_events_files": {
        "orders.csv": ORDERS + _orders(),
        "users.csv": "",
        "events.csv": EVENTS,
    },
    "a_single_user": {
        "orders.csv": ORDERS + _orders(5, users=1),
        "users.csv": USERS + _users(1),
    },
    "all_users_identical": {
        "orders.csv": ORDERS
        + "".join(f"O{i},u{i},2025-03-05,25.00,completed,books\n" for i in range(8)),
        "users.csv": USERS
        + "".join(
            f"u{i},2025-01-01,1990-01-01,female,North,Oslo,email,,,true\n"
            for i in range(8)
        ),
    },
    "exactly_one_purchaser": {
        "orders.csv": ORDERS + "O1,u1,2025-03-05,25.00,completed,books\n",
        "users.csv": USERS + _users(6),
        "events.csv": EVENTS + _events(30, users=6),
    },
    "non_ascii_and_mixed_case_text": {
        "orders.csv": ORDERS
        + _orders()
        + "A1,u1,2025-02-02,10,COMPLETED,Bücher\n"
        + "A2,u2,2025-02-03,10,Refunded ,Électronique\n",
        "users.csv": USERS
        + "u0,2024-12-01,1990-01-01,FEMALE,Île-de-France,Zürich,E-Mail,,,YES\n"
        + "u1,2024-12-01,1990-01-01,m,北京,北京市,Social,,,no\n"
        + "u2,2024-12-01,1990-01-01,Ж,Москва,Москва,Referral,,,1\n"
        + "u3,2024-12-01,1990-01-01,,ÅLESUND,Ålesund,,,,\n",
        "events.csv": EVENTS + "E1,u1,S1,2025-09-01,Page View,30\n",
    },
    "extra_unknown_columns": {
        "orders.csv": "coupon,"
        + ORDERS.strip()
        + ",note\n"
        + "".join(f"c{i},{line},n\n" for i, line in enumerate(_orders().splitlines())),
    },
}


# The cases about single rows share one DATA folder and one build (a build
# costs about 20 s): each case writes its own file in the table folders
# orders/, users/ and events/ (the loader unites a folder's files by column
# name, so extra_unknown_columns adds its columns beside the others), with
# every id prefixed by the case's name, so that the cases neither collide nor
# mask each other. The other cases are about the whole data set (its horizon,
# its population, empty tables) and build alone.
ROW_CASES = (
    "duplicate_keys",
    "extra_unknown_columns",
    "negative_zero_and_enormous_amounts",
    "non_ascii_and_mixed_case_text",
    "nulls_in_every_column",
    "text_in_numeric_columns",
    "unknown_users",
)
ID_COLUMNS = ("order_id", "user_id", "event_id", "session_id")


def _tagged(case: str, raw_id: str) -> str:
    """The id raw_id of a row case as the shared folder writes it."""
    return f"{case}-{raw_id}" if case in ROW_CASES else raw_id


def _namespaced(case: str) -> dict[str, str]:
    """The files of a row case for the shared folder: ``<table>/<case>.csv``
    with every id tagged, and the case's users listed when it has no users
    file (the shared folder has one, so its orders would be unknown_user)."""
    files = dict(CASES[case])
    files.setdefault("users.csv", USERS + _users())
    namespaced = {}
    for name, content in files.items():
        header, *rows = list(csv.reader(io.StringIO(content)))
        ids = [i for i, column in enumerate(header) if column in ID_COLUMNS]
        for row in rows:
            for i in ids:
                if row[i]:
                    row[i] = _tagged(case, row[i])
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([header, *rows])
        namespaced[f"{name.removesuffix('.csv')}/{case}.csv"] = text.getvalue()
    return namespaced


def _id_less_rows(case: str) -> int:
    """How many rows of a case's files have no id at all (no tag)."""
    return sum(
        not any(row.get(column) for column in ID_COLUMNS)
        for content in CASES[case].values()
        for row in csv.DictReader(io.StringIO(content))
    )


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, content in files.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def row_cases_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One build of every row case's files in one DATA folder."""
    files = {
        name: text for case in ROW_CASES for name, text in _namespaced(case).items()
    }
    data = made_once(
        tmp_path_factory,
        "adversarial_row_cases",
        lambda folder: _write(folder / "data", files),
    )
    # These files are mostly dirty on purpose: lift the stop gate.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENTS_MAX_REJECTED_SHARE", "1")
        return shared_build(
            tmp_path_factory,
            "adversarial_row_cases_build",
            "--data",
            str(data / "data"),
        )


def _reasons_of(build: Build, case: str) -> set[tuple[str, str]]:
    """(table, reject reason) of the rejected rows of case: in the shared
    build, the rows whose raw ids carry the case's tag, and the rows without
    any id when the case is the one row case that writes such rows."""
    rows = build.query(
        "select source_table, reject_reason, raw_record"
        " from staging.stg_app__rejected_rows"
    )
    if case not in ROW_CASES:
        return {(table, reason) for table, reason, _ in rows}
    id_less = [other for other in ROW_CASES if _id_less_rows(other)]
    assert id_less == ["nulls_in_every_column"], id_less
    reasons = set()
    for table, reason, record in rows:
        raw_ids = [str(json.loads(record).get(column) or "") for column in ID_COLUMNS]
        if any(raw_id.startswith(f"{case}-") for raw_id in raw_ids) or (
            case in id_less and not any(raw_ids)
        ):
            reasons.add((table, reason))
    return reasons


def _assert_sound(build: Build) -> None:
    assert build.returncode == 0, build.output[-4000:]
    assert "Traceback" not in build.output
    for table, raw, staged, rejected in build.query(
        "select source_table, raw_row_count, staged_row_count, rejected_row_count"
        " from marts.data_quality"
    ):
        assert raw == staged + rejected, table
    population = build.scalar(
        "select count(*) from intermediate.int_users_filtered_to_as_of"
    )
    rows, users = build.query(
        "select count(*), count(distinct user_id) from marts.user_segments"
    )[0]
    assert rows == users == population


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_builds_soundly(
    case: str, tmp_path: Path, monkeypatch, request: pytest.FixtureRequest
) -> None:
    if case in ROW_CASES:
        build = request.getfixturevalue("row_cases_build")
    else:
        # These files are mostly dirty on purpose: lift the stop gate.
        monkeypatch.setenv("SEGMENTS_MAX_REJECTED_SHARE", "1")
        data = _write(tmp_path / "data", CASES[case])
        build = run_build(tmp_path / "run", "--data", str(data))
    _assert_sound(build)
    reasons = _reasons_of(build, case)
    expected = {
        "nulls_in_every_column": {
            ("orders", "missing_order_id"),
            ("orders", "missing_user_id"),
            ("orders", "invalid_ordered_at"),
            ("orders", "invalid_amount"),
            ("users", "missing_user_id"),
            ("events", "missing_event_id"),
        },
        "duplicate_keys": {
            ("orders", "duplicate_order_id"),
            ("users", "duplicate_user_id"),
            ("events", "duplicate_event_id"),
        },
        "negative_zero_and_enormous_amounts": {
            ("orders", "negative_amount"),
            ("orders", "invalid_amount"),
        },
        "text_in_numeric_columns": {
            ("orders", "invalid_amount"),
            ("events", "invalid_duration"),
        },
        "unparseable_and_future_timestamps": {
            ("orders", "future_timestamp"),
            ("orders", "invalid_ordered_at"),
            ("events", "future_timestamp"),
        },
        "unknown_users": {("orders", "unknown_user"), ("events", "unknown_user")},
    }.get(case, set())
    assert expected <= reasons, reasons
    if case == "negative_zero_and_enormous_amounts":
        assert build.query(
            "select amount from staging.stg_app__orders where order_id = ?",
            [_tagged(case, "Z1")],
        ) == [(0,)]
    if case == "unparseable_and_future_timestamps":
        assert (
            str(
                build.scalar(
                    "select ordered_at from staging.stg_app__orders"
                    " where order_id = 'F3'"
                )
            )
            == "2025-02-02 08:00:00"
        )
    if case == "empty_users_and_events_files":
        assert "users.csv is empty (0 bytes): users read as absent" in build.stdout
        assert build.scalar(
            "select bool_and(is_inferred_from_activity) from marts.user_profiles"
        )
    if case == "non_ascii_and_mixed_case_text":
        assert build.query(
            "select user_id, gender, city, acquisition_channel,"
            " is_opted_in_to_marketing from staging.stg_app__users"
            " where starts_with(user_id, ?) order by 1",
            [_tagged(case, "")],
        ) == [
            (_tagged(case, "u0"), "female", "zürich", "e_mail", True),
            (_tagged(case, "u1"), "male", "北京市", "social", False),
            (_tagged(case, "u2"), "other", "москва", "referral", True),
            (_tagged(case, "u3"), "unknown", "ålesund", None, False),
        ]


def test_a_mostly_rejected_table_stops_the_build_with_its_name(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "data",
        {
            "orders.csv": ORDERS
            + _orders(10)
            # At least var min_rejected_rows_to_stop (20) rejected rows.
            + "".join(f"B{i},u1,?,1,x,y\n" for i in range(20))
        },
    )
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode != 0
    assert (
        "orders: 66.67% of 30 raw rows rejected (limit 5%, var max_rejected_share"
        " or env SEGMENTS_MAX_REJECTED_SHARE) — invalid_ordered_at 20, e.g. '?'"
    ) in build.output
    # make run repeats the gate's message last, without the engine's words.
    stop = build.stderr.split("The build stopped:\n", 1)[1]
    assert stop.startswith("  orders: 66.67% of 30 raw rows rejected")
    assert "Error" not in stop
    assert "Traceback" not in build.output


def test_a_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "data",
        {
            "orders.csv": ORDERS + _orders(),
            "events.csv": "event_id,user_id,occurred_at,event_type\n",
        },
    )
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode != 0
    assert "events.csv lacks the required events column(s) session_id" in (build.output)
    assert "Traceback" not in build.output


def test_an_empty_orders_file_is_refused(tmp_path: Path) -> None:
    data = _write(tmp_path / "data", {"orders.csv": ""})
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode != 0
    assert "orders.csv is empty (0 bytes): the orders table is required" in (
        build.output
    )


def test_a_second_season_after_a_quiet_spell_is_not_taken_for_typos(
    tmp_path: Path,
) -> None:
    # Two summers of orders with nothing in between (a seasonal business),
    # plus one typo far in the future.
    orders = ORDERS + "".join(
        f"S{year}{day:03d},u{day % 40},{year}-{6 + day // 30:02d}-{1 + day % 28:02d},"
        f"{20 + day}.00,completed,x\n"
        for year in (2024, 2025)
        for day in range(90)
    )
    data = _write(tmp_path / "data", {"orders.csv": orders + "T1,u1,2099-01-01,5,,\n"})
    build = run_build(tmp_path / "run", "--data", str(data))
    _assert_sound(build)
    assert build.query(
        "select reject_reason, count(*) from staging.stg_app__rejected_rows group by 1"
    ) == [("future_timestamp", 1)]
    assert str(build.scalar("select as_of_date from intermediate.int_as_of_date")) == (
        "2025-08-29"
    )


def test_the_row_cases_stay_apart_in_their_shared_build(
    row_cases_build: Build,
) -> None:
    """Unknown users and duplicates, the reasons that compare rows, come only
    from the cases about them: the tags keep the other cases' ids apart."""
    rows = row_cases_build.query(
        "select reject_reason, raw_key from staging.stg_app__rejected_rows"
        " where reject_reason = 'unknown_user' or reject_reason like 'duplicate_%'"
    )
    assert rows
    for reason, raw_key in rows:
        case = "unknown_users" if reason == "unknown_user" else "duplicate_keys"
        assert raw_key.startswith(_tagged(case, "")), (reason, raw_key)
