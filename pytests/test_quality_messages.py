"""Messages that say what went wrong (issue 13, points 3, 11 and 12).

Small DATA folders written here, few builds: one that builds with warnings
(US birth dates cleared from every user, one duplicate user among 13 rows:
a share above the 5% gate on too few rows to stop), the same folder with
min_rejected_rows_to_stop 1 (the gate now stops and names the reason), and
one whose every amount has a decimal comma (no valid order: the stop names
the reason, an example and the var). The hints themselves are checked on
fixed values with a single ``dbt show``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import Build, run_build, run_dbt

ORDERS = "order_id,user_id,ordered_at,amount,status,product_category\n"
USERS = "user_id,signed_up_at,birth_date,gender\n"

AMBIGUOUS = "day/month order is ambiguous, check it"
CURRENCY_HINT = (
    "amounts must be plain numbers in one currency: export them without the"
    " currency sign or code"
)
US_DATE_HINT = (
    'dates must be ISO 8601 (YYYY-MM-DD), or set date_format (e.g. "%m/%d/%Y"; '
    + AMBIGUOUS
    + ")"
)


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _orders(users: int, amount: str = "12.50", delimiter: str = ",") -> str:
    rows = [
        (f"O{i}", f"u{i % users}", f"2025-0{1 + i % 9}-1{i % 10} 10:00:00", amount)
        for i in range(30)
    ]
    return "".join(delimiter.join((*row, "completed", "books")) + "\n" for row in rows)


def _tiny_users_folder(folder: Path) -> Path:
    """13 user rows with US birth dates, u7 given twice (12 users)."""
    users = [f"u{i},2024-12-01,03/{14 + i % 10}/1985,female\n" for i in range(12)]
    users.append("u7,2024-12-02,03/30/1990,male\n")
    files = {"orders.csv": ORDERS + _orders(12), "users.csv": USERS + "".join(users)}
    return _write(folder, files)


@pytest.fixture(scope="module")
def tiny_users_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("tiny_users")
    data = _tiny_users_folder(root / "data")
    return run_build(root / "run", "--data", str(data))


def _warnings_block(stdout: str) -> list[str]:
    """The lines of the summary's Warnings block."""
    lines = stdout.splitlines()
    start = lines.index("Warnings") + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line.strip())
    return block


def test_a_tiny_table_above_the_gate_warns_instead_of_stopping(
    tiny_users_build: Build,
) -> None:
    build = tiny_users_build
    assert build.returncode == 0, build.output
    assert build.query(
        "select raw_row_count, rejected_row_count from marts.data_quality"
        " where source_table = 'users'"
    ) == [(13, 1)]
    assert "users: 7.69% of 13 raw rows rejected (above the limit of 5%, var" in (
        "\n".join(_warnings_block(build.stdout))
    )
    assert (
        "but fewer than 20 rows, var min_rejected_rows_to_stop, so the build"
        " went on) — duplicate_user_id 1, e.g. 'u7'"
    ) in build.stdout
    warned = re.findall(r"Warning in test (\S+)", build.stdout)
    assert "data_quality_rejected_share_above_limit_on_few_rows" in warned


def test_a_mostly_cleared_column_warns_with_an_example_and_the_fix(
    tiny_users_build: Build,
) -> None:
    build = tiny_users_build
    assert build.returncode == 0, build.output
    # Every birth date is cleared; the sign-up dates are ISO and kept.
    assert build.query(
        "select column_name, given_value_count, cleared_value_count,"
        " cleared_share, example_value, hint, warning is not null"
        " from marts.data_quality_cleared_values order by column_name"
    ) == [
        ("birth_date", 12, 12, 1.0, "##/##/####", US_DATE_HINT, True),
        ("signed_up_at", 12, 0, 0.0, None, None, False),
    ]
    assert (
        "users.birth_date: 12 of 12 values (100%) could not be read and were"
        " cleared, e.g. '##/##/####' — " + US_DATE_HINT
    ) in _warnings_block(build.stdout)
    warned = re.findall(r"Warning in test (\S+)", build.stdout)
    assert "data_quality_cleared_share_above_warning_level" in warned
    # The birth dates are personal data: never shown unmasked past staging.
    assert "03/14/1985" not in build.stdout


def test_the_gate_stops_a_tiny_table_from_the_minimum_count(tmp_path: Path) -> None:
    # The key check of the minimum: with min_rejected_rows_to_stop 1, the
    # one duplicate of the 13-row users file stops the build, and the stop
    # names the table, the share, the limit and the reason with an example.
    data = _tiny_users_folder(tmp_path / "data")
    variables = {"data_dir": str(data), "min_rejected_rows_to_stop": 1}
    # Only the gate and what it reads: the rest of the build is not needed.
    build = run_dbt(
        tmp_path / "run",
        "build",
        "--select",
        "+int_raw_tables_reconciled",
        "--exclude-resource-type",
        "test",
        "unit_test",
        "--vars",
        json.dumps(variables),
    )
    assert build.returncode != 0
    assert (
        "users: 7.69% of 13 raw rows rejected (limit 5%, var max_rejected_share"
        " or env SEGMENTS_MAX_REJECTED_SHARE) — duplicate_user_id 1, e.g. 'u7'"
    ) in build.output


def test_no_valid_order_names_the_reason_an_example_and_the_var(
    tmp_path: Path,
) -> None:
    # A semicolon file with decimal commas read with a decimal point (the
    # var overrides the detection): every amount is unreadable.
    data = _write(
        tmp_path / "data",
        {"orders.csv": ORDERS.replace(",", ";") + _orders(4, "12,50", ";")},
    )
    variables = {"data_dir": str(data), "decimal_separator": "."}
    # Only the check that stops and what it reads (as make run would stop).
    build = run_dbt(
        tmp_path / "run",
        "build",
        "--select",
        "+int_as_of_date",
        "--exclude-resource-type",
        "test",
        "unit_test",
        "--vars",
        json.dumps(variables),
    )
    assert build.returncode != 0
    assert (
        "There are no valid orders, so there is nothing to segment: all 30 raw"
        " orders were rejected — invalid_amount 30, e.g. '12,50'"
        ' (set decimal_separator ",")'
    ) in build.output
    assert "see staging.stg_app__rejected_rows" not in build.output
    assert "Traceback" not in build.output


HINTS: dict[tuple[str, str], str | None] = {
    ("03/14/1985", "date"): US_DATE_HINT,
    ("14/03/1985", "date"): (
        'dates must be ISO 8601 (YYYY-MM-DD), or set date_format (e.g. "%d/%m/%Y"; '
        + AMBIGUOUS
        + ")"
    ),
    ("05/06/2024 10:30", "timestamp"): (
        "dates must be ISO 8601 (YYYY-MM-DD), or set date_format (e.g."
        ' "%m/%d/%Y %H:%M" or "%d/%m/%Y %H:%M"; ' + AMBIGUOUS + ")"
    ),
    ("14.03.1985", "date"): (
        'dates must be ISO 8601 (YYYY-MM-DD), or set date_format (e.g. "%d.%m.%Y")'
    ),
    ("19850314", "date"): (
        'dates must be ISO 8601 (YYYY-MM-DD), or set date_format (e.g. "%Y%m%d")'
    ),
    ("1700000000", "timestamp"): (
        'the values look like Unix epoch seconds: set date_format "epoch_s"'
    ),
    ("1700000000123", "timestamp"): (
        'the values look like Unix epoch milliseconds: set date_format "epoch_ms"'
    ),
    ("45123.25", "timestamp"): (
        'the values look like Excel serial dates: set date_format "excel"'
    ),
    ("12,50", "decimal"): 'set decimal_separator ","',
    ("1.234,50", "decimal"): 'set decimal_separator ","',
    ("$12.50", "decimal"): CURRENCY_HINT,
    ("12.50 EUR", "decimal"): CURRENCY_HINT,
    ("12.5x", "decimal"): None,
    ("1.0", "id"): "ids look like floats (1.0 for 1): write them as integers",
    ("maybe", "boolean"): "values must be true/false, yes/no or 1/0",
    ("2025-13-45", "date"): None,
    ("12.50", "decimal"): None,
    ("1.5", "id"): None,
    ("u1", "id"): None,
    (" ", "date"): None,
}


def test_format_hints_name_the_var_that_reads_the_value(tmp_path: Path) -> None:
    values = ", ".join(f"('{value}', '{kind}')" for value, kind in HINTS)
    sql = (
        "select v, k, {{ format_hint('v', 'k') }} as hint"
        f" from (values {values}) as t(v, k)"
    )
    build = run_dbt(
        tmp_path / "run",
        *("show", "-q", "--output", "json", "--limit", "100", "--inline", sql),
    )
    assert build.returncode == 0, build.output
    rows = json.loads(build.stdout)["show"]
    assert {(row["v"], row["k"]): row["hint"] for row in rows} == HINTS
