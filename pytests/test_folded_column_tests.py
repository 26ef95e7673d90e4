"""The models' plain not_null and accepted_range checks are folded into one
not_null_columns and one accepted_ranges test per model (tests/generic/):
one node and one scan instead of one per column. These tests show that the
folded tests still catch a fault in any of their columns and name it, and
that no plain column-level check is left to be folded."""

from __future__ import annotations

import re

import duckdb
from conftest import PROJECT_DIR, Build


def _compiled(build: Build, test: str, relation: re.Pattern[str]) -> str:
    """The build's compiled generic test of that name reading a relation."""
    found = [
        path.read_text()
        for path in sorted(
            (build.workdir / "target" / "compiled").rglob(f"{test}_*.sql")
        )
        if relation.search(path.read_text())
    ]
    assert len(found) == 1, len(found)
    return found[0]


def test_a_null_in_any_listed_column_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."marts"\."user_category_affinity"')
    sql = _compiled(demo_build, "not_null_columns", relation)
    assert demo_build.query(sql) == []
    columns = re.findall(r"'(\w+)' as column_name", sql)
    assert columns[0] == "user_id" and "affinity_rank" in columns, columns
    row = ", ".join(f"1 as {column}" for column in columns)
    with duckdb.connect() as connection:
        connection.execute(f"create table broken as select {row} from range(5) as r(i)")
        # Two nulls in the first listed column, one in the last.
        connection.execute("update broken set user_id = null where rowid in (0, 1)")
        connection.execute("update broken set affinity_rank = null where rowid = 4")
        failures = connection.execute(relation.sub("broken", sql)).fetchall()
    assert sorted(failures) == [("affinity_rank", 1), ("user_id", 2)]


def test_a_value_outside_any_listed_range_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."intermediate"\."int_users_rfm_scored"')
    sql = _compiled(demo_build, "accepted_ranges", relation)
    assert demo_build.query(sql) == []
    columns = re.findall(r"'(\w+)' as column_name", sql)
    assert {"recency_days", "recency_score", "monetary_score"} <= set(columns)
    row = ", ".join(f"1 as {column}" for column in columns)
    with duckdb.connect() as connection:
        connection.execute(f"create table broken as select {row} from range(4) as r(i)")
        # Below a minimum twice, above a maximum once; a null and the
        # bounds themselves are accepted.
        connection.execute("update broken set recency_days = 0 where rowid in (0, 1)")
        connection.execute("update broken set recency_score = null where rowid = 0")
        connection.execute("update broken set monetary_score = 5 where rowid = 1")
        connection.execute("update broken set monetary_score = 6 where rowid = 2")
        failures = connection.execute(relation.sub("broken", sql)).fetchall()
    assert sorted(failures) == [
        ("monetary_score", "1 to 5", 1),
        ("recency_days", ">= 1", 2),
    ]


def test_no_plain_column_check_is_left_unfolded() -> None:
    """A plain `- not_null` or `- accepted_range` (without a config of its
    own) under a column would be a test node of its own: it belongs in the
    model's not_null_columns or accepted_ranges list."""
    left = [
        f"{path.relative_to(PROJECT_DIR)}:{number}"
        for folder in ("models", "seeds")
        for path in sorted((PROJECT_DIR / folder).rglob("*.yml"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.fullmatch(r"\s*- not_null\s*", line)
        or (
            re.fullmatch(r"\s*- accepted_range:\s*", line)
            and "config:" not in path.read_text().splitlines()[number]
            and "config:" not in path.read_text().splitlines()[number + 1]
        )
    ]
    assert left == []
