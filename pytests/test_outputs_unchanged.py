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

from tools.digest import table_hashes

DIGESTS = Path(__file__).resolve().parent / "fixtures" / "mart_digests.json"
COMPARED = ("marts", "lookups")


def recorded(size: str) -> dict[str, str]:
    """The digests recorded for a data set ('demo' or 'S')."""
    return json.loads(DIGESTS.read_text())[size]


def changed_tables(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    """Recorded tables that are missing or whose content differs."""
    return sorted(name for name in expected if found.get(name) != expected[name])


def test_demo_marts_have_the_recorded_content(demo_build: Build) -> None:
    expected = recorded("demo")
    assert len(expected) >= 20
    found = table_hashes(demo_build.database, COMPARED)
    assert changed_tables(expected, found) == []


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
    found = table_hashes(copy, COMPARED)
    assert changed_tables(recorded("demo"), found) == [
        "marts.daily_active_users",
        "marts.user_segments",
    ]
