"""The models' plain not_null checks are folded into one not_null_columns
test per model (tests/generic/not_null_columns.sql): one node and one scan
instead of one per column. These tests show that the folded test still
catches a null in any of its columns and names it, and that no plain
column-level not_null is left to be folded."""

from __future__ import annotations

import re

import duckdb
from conftest import PROJECT_DIR, Build


def _compiled(build: Build, relation: re.Pattern[str]) -> str:
    """The build's compiled not_null_columns test that reads a relation."""
    found = [
        path.read_text()
        for path in sorted(
            (build.workdir / "target" / "compiled").rglob("not_null_columns_*.sql")
        )
        if relation.search(path.read_text())
    ]
    assert len(found) == 1, len(found)
    return found[0]


def test_a_null_in_any_listed_column_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."marts"\."user_category_affinity"')
    sql = _compiled(demo_build, relation)
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


def test_no_plain_column_not_null_is_left_unfolded() -> None:
    """A plain `- not_null` under a column would be a test node of its own:
    it belongs in the model's not_null_columns list."""
    left = [
        f"{path.relative_to(PROJECT_DIR)}:{number}"
        for folder in ("models", "seeds")
        for path in sorted((PROJECT_DIR / folder).rglob("*.yml"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.fullmatch(r"\s*- not_null\s*", line)
    ]
    assert left == []
