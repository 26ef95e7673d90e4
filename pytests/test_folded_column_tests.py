"""The models' plain not_null, accepted_range, expression_is_true, unique
and accepted_values checks are folded into one row_checks test per model
(tests/generic/): one node and one scan instead of one per column or
condition. These tests show that the folded test still catches a fault in
any of its checks and names it, and that no plain check is left to be
folded. And the order models that
keep staged orders row for row check their keys with keys_match_filter
instead of a unique test: it catches the faults a unique test would (and a
lost row)."""

from __future__ import annotations

import re

import duckdb
import yaml
from conftest import PROJECT_DIR, Build


def _plain_accepted_values() -> list[tuple[str, str, str]]:
    """Every column-level accepted_values test without a config or name of
    its own (it would be a node of its own): (file, model, column)."""
    return [
        (str(path.relative_to(PROJECT_DIR)), model["name"], column["name"])
        for folder in ("models", "seeds")
        for path in sorted((PROJECT_DIR / folder).rglob("*.yml"))
        for documents in [yaml.safe_load(path.read_text()) or {}]
        for model in documents.get("models", []) + documents.get("seeds", [])
        for column in model.get("columns", []) or []
        for test in column.get("data_tests", []) or []
        if isinstance(test, dict)
        and "accepted_values" in test
        and set(test["accepted_values"] or {}) <= {"arguments"}
    ]


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


def _failures_when_broken(
    build: Build, relation: re.Pattern[str], sql: str, *faults: str
) -> list[tuple]:
    """The compiled test's failing rows on a copy of the table it reads
    (schema.table in the relation) with the faults (SQL statements on
    table broken) applied; it passes on the copy as built."""
    schema, table = re.findall(r'"(\w+)"', relation.pattern)[-2:]
    with duckdb.connect() as connection:
        connection.execute(f"attach '{build.database}' as warehouse (read_only)")
        connection.execute(
            f"create table broken as select * from warehouse.{schema}.{table}"
        )
        assert connection.execute(relation.sub("broken", sql)).fetchall() == []
        for fault in faults:
            connection.execute(fault)
        return sorted(connection.execute(relation.sub("broken", sql)).fetchall())


def test_a_null_in_any_listed_column_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."marts"\."user_category_affinity"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert demo_build.query(sql) == []
    # Two nulls in the first listed column, one in the last.
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "update broken set user_id = null where rowid in (0, 1)",
        "update broken set affinity_rank = null where rowid = 4",
    )
    assert failures == [("not_null affinity_rank", 1), ("not_null user_id", 2)]


def test_a_value_outside_any_listed_range_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."intermediate"\."int_users_rfm_scored"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert demo_build.query(sql) == []
    # Below a minimum twice, above a maximum once; the bounds themselves
    # are accepted, and a null passes the range (its not_null check fails).
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "update broken set recency_days = 0 where rowid in (0, 1)",
        "update broken set recency_score = null where rowid = 0",
        "update broken set monetary_score = 5 where rowid = 1",
        "update broken set monetary_score = 6 where rowid = 2",
        "update broken set monetary_score = 1 where rowid = 3",
    )
    assert failures == [
        ("accepted_range monetary_score 1 to 5", 1),
        ("accepted_range recency_days >= 1", 2),
        ("not_null recency_score", 1),
    ]


def test_a_false_or_null_condition_fails_and_is_named(demo_build: Build) -> None:
    relation = re.compile(r'"[^"]+"\."intermediate"\."int_orders_filtered_to_as_of"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert demo_build.query(sql) == []
    # A condition false on one row, another null on one (null is not true).
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "update broken set days_before_as_of = 0 where rowid = 0",
        "update broken set is_purchase = true, is_refund = null where rowid = 3",
    )
    assert failures == [
        ("condition days_before_as_of >= 1", 1),
        ("condition not (is_purchase and is_refund)", 1),
    ]


def test_kept_order_keys_catch_a_doubled_a_lost_or_a_swapped_order(
    demo_build: Build,
) -> None:
    """int_orders_filtered_to_as_of keeps the staged orders before as_of_date
    row for row: its keys_match_filter fails when an order is doubled (what
    its former unique test caught), lost, or doubled in place of another
    (the same row count)."""
    relation = re.compile(r'"[^"]+"\."intermediate"\."int_orders_filtered_to_as_of"')
    staged = re.compile(r'"[^"]+"\."staging"\."stg_app__orders"')
    sql = _compiled(demo_build, "keys_match_filter", staged)
    assert relation.search(sql)
    assert demo_build.query(sql) == []
    faults = {
        "doubled": "insert into broken select * from broken limit 1",
        "lost": "delete from broken where rowid = 0",
        "swapped": "update broken set order_id = (select max(order_id) from broken)"
        " where order_id = (select min(order_id) from broken)",
    }
    for fault, statement in faults.items():
        assert _failures_when_broken(demo_build, relation, sql, statement), fault


def test_no_plain_column_check_is_left_unfolded() -> None:
    """A plain `- not_null` or `- accepted_range` (without a config of its
    own) under a column would be a test node of its own: it belongs in the
    model's row_checks."""
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
    assert _plain_accepted_values() == []


def test_each_model_has_at_most_one_plain_row_check_test() -> None:
    """Two of a model's (or seed's) plain row-check tests (not_null_columns,
    accepted_ranges, expression_is_true or row_checks, or a column's
    accepted_values, without a config or name of their own) would be two
    nodes and two scans: they belong in its one row_checks."""
    kinds = {"not_null_columns", "accepted_ranges", "expression_is_true", "row_checks"}
    accepted = {(path, model) for path, model, _ in _plain_accepted_values()}
    doubled = []
    for path in [
        *sorted((PROJECT_DIR / "models").rglob("*.yml")),
        *sorted((PROJECT_DIR / "seeds").rglob("*.yml")),
    ]:
        document = yaml.safe_load(path.read_text()) or {}
        for model in document.get("models", []) + document.get("seeds", []):
            plain = [
                kind
                for test in model.get("data_tests", [])
                if isinstance(test, dict)
                for kind, spec in test.items()
                # row_checks is named after its model (row_checks_<model>).
                if kind in kinds
                and set(spec or {})
                <= {"arguments", *(["name"] if kind == "row_checks" else [])}
            ]
            if (str(path.relative_to(PROJECT_DIR)), model["name"]) in accepted:
                plain.append("accepted_values")
            if len(plain) > 1:
                doubled.append(f"{path.relative_to(PROJECT_DIR)}: {model['name']}")
    assert doubled == []


def test_a_repeated_value_in_a_unique_column_fails_and_is_named(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."intermediate"\."int_users_rfm_scored"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert "unique user_id" in sql
    # One user twice more (two rows beyond its first), another user's id
    # null (not_null fails; nulls are not repeats).
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "insert into broken select * from broken where rowid = 0",
        "insert into broken select * from broken where rowid = 0",
        "update broken set user_id = null where rowid = 1",
    )
    assert failures == [("not_null user_id", 1), ("unique user_id", 2)]


def test_a_value_not_accepted_fails_and_names_the_column_and_value(
    demo_build: Build,
) -> None:
    relation = re.compile(r'"[^"]+"\."marts"\."user_profiles"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert demo_build.query(sql) == []
    # Two values outside gender's list on three rows, one (with a quote)
    # outside propensity_tier's; a null passes (clv_source may be null).
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "update broken set gender = 'robot' where rowid in (0, 1)",
        "update broken set gender = 'alien' where rowid = 2",
        "update broken set propensity_tier = 'it''s' where rowid = 3",
        "update broken set clv_source = null where rowid = 4",
    )
    assert failures == [
        ("accepted_values gender: alien, robot", 3),
        ("accepted_values propensity_tier: it's", 1),
    ]


def test_an_unquoted_accepted_value_fails_when_another_number_is_there(
    demo_build: Build,
) -> None:
    """quote: false compares numbers as numbers (campaign_overlaps'
    users_assigned_to_both must be 0)."""
    relation = re.compile(r'"[^"]+"\."marts"\."campaign_overlaps"')
    sql = _compiled(demo_build, "row_checks", relation)
    assert "users_assigned_to_both not in (0)" in sql
    assert demo_build.query(sql) == []
    assert demo_build.scalar("select count(*) from marts.campaign_overlaps") > 0
    failures = _failures_when_broken(
        demo_build,
        relation,
        sql,
        "update broken set users_assigned_to_both = 12 where rowid = 0",
    )
    assert failures == [("accepted_values users_assigned_to_both: 12", 1)]
