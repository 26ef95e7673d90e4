"""The marts are a public interface: the reshapes behind them change nothing.

Every marts and lookups table of a demo build must have the content recorded
in fixtures/mart_digests.json (see fixtures/README.md); tables added since
are allowed, tables removed or changed are not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
from conftest import Build

from tools.digest import changed_fingerprints, table_fingerprints

DIGESTS = Path(__file__).resolve().parent / "fixtures" / "mart_digests.json"
COMPARED = ("marts", "lookups")


def recorded(size: str) -> dict[str, dict]:
    """The fingerprints recorded for a data set ('demo' or 'S')."""
    return json.loads(DIGESTS.read_text())[size]


def test_demo_marts_have_the_recorded_content(demo_build: Build) -> None:
    expected = recorded("demo")
    assert len(expected) >= 20
    found = table_fingerprints(demo_build.database, COMPARED)
    assert changed_fingerprints(expected, found) == []


def test_the_comparison_names_a_changed_and_a_missing_table(
    demo_build: Build, tmp_path: Path
) -> None:
    copy = tmp_path / "altered.duckdb"
    shutil.copy(demo_build.database, copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update marts.user_segments set primary_segment = 'prospect'"
            " where user_id = (select min(user_id) from marts.user_segments"
            " where primary_segment <> 'prospect')"
        )
        connection.execute("drop table marts.daily_active_users")
    found = table_fingerprints(copy, COMPARED)
    assert changed_fingerprints(recorded("demo"), found) == [
        "marts.daily_active_users",
        "marts.user_segments",
    ]


def test_doubles_tolerate_last_bits_but_not_a_changed_value(
    demo_build: Build, tmp_path: Path
) -> None:
    """Fits end a little apart on other CPUs (numpy's AVX-512 paths: up to
    1.3e-6 in a parameter): doubles that moved that little are the same
    result; one purchaser's CLV raised by 1,000 is not."""
    copy = tmp_path / "altered.duckdb"
    shutil.copy(demo_build.database, copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update marts.user_clv set predicted_clv = predicted_clv * (1 + 1e-6)"
        )
    found = table_fingerprints(copy, COMPARED)
    assert changed_fingerprints(recorded("demo"), found) == []
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update marts.user_clv set predicted_clv = predicted_clv + 1000"
            " where user_id = (select max(user_id) from marts.user_clv)"
        )
    found = table_fingerprints(copy, COMPARED)
    assert changed_fingerprints(recorded("demo"), found) == ["marts.user_clv"]
