"""Category affinity (issue 17): the user x category table and the three
affinity marts, recomputed independently in pandas from the purchases of a
real build (int_orders_filtered_to_as_of rows with is_purchase, the same
purchases every other metric counts: staging's cleaning and the as-of filter
are tested elsewhere), and orders-only data without a product_category
column, where every purchase is 'uncategorized'."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from conftest import PROJECT_DIR, Build, build_selection

UNCATEGORIZED = "uncategorized"
MIN_SUPPORT = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"][
    "affinity_min_support"
]


def _frame(build: Build, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.sql(sql).df()


def _purchases(build: Build) -> pd.DataFrame:
    """The build's purchases, with the amount in whole cents (exact sums)."""
    purchases = _frame(
        build,
        "select order_id, user_id, ordered_at, product_category,"
        " cast(round(amount * 100) as bigint) as cents"
        " from intermediate.int_orders_filtered_to_as_of where is_purchase",
    )
    purchases["product_category"] = purchases["product_category"].fillna(UNCATEGORIZED)
    return purchases


def _share(part: pd.Series, whole: pd.Series, count: pd.Series, total: pd.Series):
    """Revenue share, or purchase share where the whole has no revenue."""
    by_revenue = part / whole.where(whole > 0)
    return by_revenue.where(whole > 0, count / total)


def expected_user_categories(purchases: pd.DataFrame) -> pd.DataFrame:
    table = (
        purchases.groupby(["user_id", "product_category"])
        .agg(
            purchases=("order_id", "size"),
            cents=("cents", "sum"),
            first_purchased_at=("ordered_at", "min"),
            last_purchased_at=("ordered_at", "max"),
        )
        .reset_index()
    )
    by_user = table.groupby("user_id")
    table["spend_share"] = _share(
        table["cents"],
        by_user["cents"].transform("sum"),
        table["purchases"],
        by_user["purchases"].transform("sum"),
    )
    categories = table.groupby("product_category")[["cents", "purchases"]].sum()
    population = _share(
        categories["cents"],
        pd.Series(categories["cents"].sum(), index=categories.index),
        categories["purchases"],
        pd.Series(categories["purchases"].sum(), index=categories.index),
    )
    table["population_spend_share"] = table["product_category"].map(population)
    table["affinity_index"] = table["spend_share"] / table[
        "population_spend_share"
    ].where(table["population_spend_share"] > 0)
    table = table.sort_values(
        ["user_id", "spend_share", "product_category"], ascending=[True, False, True]
    )
    table["affinity_rank"] = table.groupby("user_id").cumcount() + 1
    table["revenue"] = table["cents"] / 100
    return table.drop(columns="cents").reset_index(drop=True)


def expected_segment_categories(
    user_categories: pd.DataFrame, segments: pd.DataFrame
) -> pd.DataFrame:
    bought = user_categories.merge(segments, on="user_id", how="inner")
    assert len(bought) == len(user_categories)
    grid = pd.MultiIndex.from_product(
        [
            sorted(bought["primary_segment"].unique()),
            sorted(user_categories["product_category"].unique()),
        ],
        names=["primary_segment", "product_category"],
    )
    cells = (
        bought.groupby(["primary_segment", "product_category"])
        .agg(
            purchasers=("user_id", "size"),
            purchases=("purchases", "sum"),
            revenue=("revenue", "sum"),
        )
        .reindex(grid, fill_value=0)
        .reset_index()
    )
    cells["users"] = cells["primary_segment"].map(
        segments["primary_segment"].value_counts()
    )
    cells["purchaser_share"] = cells["purchasers"] / cells["users"]
    by_segment = cells.groupby("primary_segment")
    cells["segment_spend_share"] = _share(
        cells["revenue"],
        by_segment["revenue"].transform("sum"),
        cells["purchases"],
        by_segment["purchases"].transform("sum"),
    )
    population = user_categories.groupby("product_category")[
        "population_spend_share"
    ].first()
    cells["population_spend_share"] = cells["product_category"].map(population)
    cells["lift"] = cells["segment_spend_share"] / cells["population_spend_share"]
    buyers = user_categories["product_category"].value_counts()
    cells["purchaser_share_lift"] = cells["purchaser_share"] / (
        cells["product_category"].map(buyers) / len(segments)
    )
    return cells.drop(columns="purchases")


def expected_rules(user_categories: pd.DataFrame) -> pd.DataFrame:
    baskets = user_categories[["user_id", "product_category"]]
    purchasers = baskets["user_id"].nunique()
    buyers = baskets["product_category"].value_counts()
    pairs = baskets.merge(baskets, on="user_id", suffixes=("_a", "_c"))
    pairs = pairs[pairs["product_category_a"] != pairs["product_category_c"]]
    rules = (
        pairs.groupby(["product_category_a", "product_category_c"])
        .size()
        .rename("users_with_both")
        .reset_index()
        .rename(
            columns={
                "product_category_a": "antecedent",
                "product_category_c": "consequent",
            }
        )
    )
    rules["support"] = rules["users_with_both"] / purchasers
    rules["antecedent_support"] = rules["antecedent"].map(buyers) / purchasers
    rules["consequent_support"] = rules["consequent"].map(buyers) / purchasers
    rules["confidence"] = rules["support"] / rules["antecedent_support"]
    rules["lift"] = rules["confidence"] / rules["consequent_support"]
    rules["purchasers"] = purchasers
    return rules[rules["support"] >= MIN_SUPPORT]


def assert_same(found: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    """The same rows (by keys) and, column by column, the same values."""
    assert len(found) == len(expected) > 0
    merged = found.merge(
        expected, on=keys, how="outer", suffixes=("", "_expected"), indicator=True
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    for column in expected.columns.difference(keys):
        got, want = merged[column], merged[f"{column}_expected"]
        if pd.api.types.is_numeric_dtype(want):
            assert ((got - want).abs() < 1e-9).where(want.notna(), got.isna()).all(), (
                column
            )
        else:
            assert (got == want).all(), column


@pytest.fixture
def demo(demo_build: Build) -> dict[str, pd.DataFrame]:
    user_categories = expected_user_categories(_purchases(demo_build))
    return {
        "user_categories": user_categories,
        "segments": _frame(
            demo_build, "select user_id, primary_segment from marts.user_segments"
        ),
    }


def test_user_category_affinity_matches_a_recomputation(
    demo_build: Build, demo: dict[str, pd.DataFrame]
) -> None:
    found = _frame(demo_build, "select * from marts.user_category_affinity")
    assert_same(found, demo["user_categories"], ["user_id", "product_category"])
    # Every purchaser has exactly one top category; users have several.
    assert found.groupby("user_id")["affinity_rank"].min().eq(1).all()
    assert found["affinity_rank"].max() > 1
    # The user key is the users' pseudonymous key, as in user_segments.
    keys = _frame(demo_build, "select user_id, user_key from marts.user_segments")
    joined = found.merge(keys, on="user_id", suffixes=("", "_segments"))
    assert len(joined) == len(found)
    assert (joined["user_key"] == joined["user_key_segments"]).all()


def test_segment_category_affinity_matches_a_recomputation(
    demo_build: Build, demo: dict[str, pd.DataFrame]
) -> None:
    found = _frame(demo_build, "select * from marts.segment_category_affinity")
    expected = expected_segment_categories(demo["user_categories"], demo["segments"])
    assert_same(found, expected, ["primary_segment", "product_category"])
    # Prospects (no purchase) have no row; a grid of every other segment.
    assert "prospect" in set(demo["segments"]["primary_segment"])
    assert "prospect" not in set(found["primary_segment"])


def test_category_association_rules_match_a_recomputation(
    demo_build: Build, demo: dict[str, pd.DataFrame]
) -> None:
    found = _frame(demo_build, "select * from marts.category_association_rules")
    expected = expected_rules(demo["user_categories"])
    assert_same(found, expected, ["antecedent", "consequent"])


def test_orders_only_data_builds_the_affinity_tables(
    orders_only_build: Build,
) -> None:
    # Without users or events (but with the orders' categories) the tables
    # are the same recomputation: every purchaser has a segment.
    user_categories = expected_user_categories(_purchases(orders_only_build))
    found = _frame(orders_only_build, "select * from marts.user_category_affinity")
    assert_same(found, user_categories, ["user_id", "product_category"])
    segments = _frame(
        orders_only_build, "select user_id, primary_segment from marts.user_segments"
    )
    assert_same(
        _frame(orders_only_build, "select * from marts.segment_category_affinity"),
        expected_segment_categories(user_categories, segments),
        ["primary_segment", "product_category"],
    )


# Four columns, no product_category (a missing status means completed):
# three purchasers, one of whom (u3) bought a free order only.
ORDERS_WITHOUT_CATEGORY = """order_id,user_id,ordered_at,amount
o1,u1,2025-03-01 10:00:00,30.00
o2,u1,2025-03-02 10:00:00,10.00
o3,u2,2025-03-03 10:00:00,60.00
o4,u3,2025-03-04 10:00:00,0
o5,u2,2025-03-05 10:00:00,0
"""


def test_orders_without_a_category_column_are_all_uncategorized(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS_WITHOUT_CATEGORY)
    workdir = tmp_path / "build"
    workdir.mkdir()
    build = build_selection(
        workdir,
        data,
        "+int_users_categories_aggregated",
        "category_association_rules",
        "user_category_affinity",
    )
    assert build.returncode == 0, build.output[-3000:]
    rows = build.query(
        "select user_id, product_category, purchases, revenue, spend_share,"
        " population_spend_share, affinity_index, affinity_rank"
        " from marts.user_category_affinity order by user_id"
    )
    assert rows == [
        ("u1", UNCATEGORIZED, 2, 40, 1.0, 1.0, 1.0, 1),
        ("u2", UNCATEGORIZED, 2, 60, 1.0, 1.0, 1.0, 1),
        ("u3", UNCATEGORIZED, 1, 0, 1.0, 1.0, 1.0, 1),
    ]
    # A single category: no pair, no rule.
    assert build.scalar("select count(*) from marts.category_association_rules") == 0
