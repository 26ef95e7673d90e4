"""Next-best category (segmentation.methods.recommend): the item-item
similarities, scores, top-k and the hold-out evaluation on small matrices
with answers worked out by hand, the leakage guard of the hold-out, and
determinism; on the shared demo build, the marts and item_item beating the
popularity baseline at k = 3 (the issue's done-when)."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import Build

from segmentation.methods import recommend

# Four purchasers over three categories:
#   a: x, y    b: x, y    c: x, z    d: z
# cos(x, y) = 2 / (sqrt(3) sqrt(2)), cos(x, z) = 1 / (sqrt(3) sqrt(2)),
# cos(y, z) = 0; purchasers: x 3, y 2, z 2.
BOUGHT = {"a": ["x", "y"], "b": ["x", "y"], "c": ["x", "z"], "d": ["z"]}
XY = 2 / math.sqrt(6)
XZ = 1 / math.sqrt(6)
# The matrix value of a category bought once (log(1 + 1)): every user's
# score is the sum of similarities times it.
ONCE = math.log(2)


def _purchases(bought: dict[str, list[str]], counts: dict | None = None):
    rows = [
        {
            "user_id": user,
            "product_category": category,
            "purchases": (counts or {}).get((user, category), 1),
        }
        for user, categories in bought.items()
        for category in categories
    ]
    return pd.DataFrame(rows)


def _held_out(pairs: dict[str, str]) -> pd.DataFrame:
    """One held-out purchase per repeat buyer: user -> category."""
    return pd.DataFrame(
        {"user_id": list(pairs), "product_category": list(pairs.values())}
    )


def _split(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test's own hold-out split of purchase orders (the oracle of
    int_purchases_categorized.is_held_out): each repeat buyer's last order
    (latest ordered_at, then largest order_id) held out; training purchases
    per user and category of the other orders."""
    ordered = orders.sort_values(["user_id", "ordered_at", "order_id"])
    last = ~ordered["user_id"].duplicated(keep="last")
    repeat = ordered.groupby("user_id")["order_id"].transform("size") >= 2
    held = last & repeat
    training = (
        ordered[~held]
        .groupby(["user_id", "product_category"])
        .size()
        .rename("purchases")
        .reset_index()
    )
    return training, ordered.loc[held, ["user_id", "product_category"]]


def _as_lists(frame: pd.DataFrame) -> dict[str, list[str]]:
    return {
        user: list(group.sort_values("recommendation_rank")["product_category"])
        for user, group in frame.groupby("user_id")
    }


def test_similarity_is_the_cosine_of_the_category_columns():
    matrix = recommend.user_category_matrix(_purchases(BOUGHT))
    assert list(matrix.categories) == ["x", "y", "z"]
    assert list(matrix.users) == ["a", "b", "c", "d"]
    similarity = recommend.category_similarity(matrix)
    expected = np.array([[0, XY, XZ], [XY, 0, 0], [XZ, 0, 0]])
    np.testing.assert_allclose(similarity, expected)
    np.testing.assert_allclose(recommend.popularity(matrix), [3, 2, 2])


def test_item_item_scores_sum_the_similarities_to_the_bought_categories():
    matrix = recommend.user_category_matrix(_purchases(BOUGHT))
    picked = recommend.recommend(matrix, k=3)
    assert _as_lists(picked) == {"a": ["z"], "b": ["z"], "c": ["y"], "d": ["x", "y"]}
    scores = picked.set_index(["user_id", "product_category"])["score"]
    assert scores["a", "z"] == pytest.approx(ONCE * XZ)
    assert scores["c", "y"] == pytest.approx(ONCE * XY)
    assert scores["d", "x"] == pytest.approx(ONCE * XZ)
    # No co-purchase of y with z: score 0, still in d's list (after x).
    assert scores["d", "y"] == 0
    assert set(picked["method"]) == {"item_item"}
    assert list(picked.columns) == recommend.RECOMMENDATION_COLUMNS


def test_k_limits_the_rows_and_users_with_every_category_get_none():
    bought = {**BOUGHT, "e": ["x", "y", "z"]}
    matrix = recommend.user_category_matrix(_purchases(bought))
    picked = recommend.recommend(matrix, k=1)
    assert set(picked["recommendation_rank"]) == {1}
    assert "e" not in set(picked["user_id"])
    assert _as_lists(picked)["d"] == ["x"]


def test_ties_are_broken_by_category_name():
    # u bought m only; n and o were bought with m equally often: same score.
    bought = {"u": ["m"], "v": ["m", "o"], "w": ["m", "n"], "z": ["n", "o"]}
    matrix = recommend.user_category_matrix(_purchases(bought))
    picked = _as_lists(recommend.recommend(matrix, k=2))
    assert picked["u"] == ["n", "o"]
    shuffled = {"u": ["m"], "v": ["m", "n"], "w": ["m", "o"], "z": ["o", "n"]}
    matrix = recommend.user_category_matrix(_purchases(shuffled))
    assert _as_lists(recommend.recommend(matrix, k=2))["u"] == ["n", "o"]


def test_popularity_recommends_the_most_bought_unbought_categories():
    matrix = recommend.user_category_matrix(_purchases(BOUGHT))
    picked = recommend.recommend(matrix, k=2, method="popularity")
    # y and z tie at 2 purchasers: y first by name.
    assert _as_lists(picked) == {"a": ["z"], "b": ["z"], "c": ["y"], "d": ["x", "y"]}
    assert picked.set_index("user_id").loc["a", "score"] == 2


def test_log_weighting_counts_repeat_purchases():
    counts = {("c", "z"): 3}
    binary = recommend.user_category_matrix(
        _purchases(BOUGHT, counts), recommend.BINARY
    )
    logged = recommend.user_category_matrix(_purchases(BOUGHT, counts))
    assert binary.values[2, 2] == 1
    assert logged.values[2, 2] == pytest.approx(math.log(4))
    assert logged.values[2, 0] == pytest.approx(math.log(2))
    # u bought m once and n five times; p goes with m, q with n, equally
    # often. Bought or not: p and q tie (p first by name); with the log
    # of the purchases q, the partner of the category u keeps buying, wins:
    # q scores log(6) cos(n, q), p log(2) cos(m, p).
    bought = {"u": ["m", "n"], "v": ["m", "p"], "w": ["n", "q"]}
    repeat = _purchases(bought, {("u", "n"): 5})
    plain = recommend.recommend(
        recommend.user_category_matrix(repeat, recommend.BINARY), k=2
    )
    assert _as_lists(plain)["u"] == ["p", "q"]
    weighted = recommend.recommend(recommend.user_category_matrix(repeat), k=2)
    assert _as_lists(weighted)["u"] == ["q", "p"]
    scores = weighted[weighted["user_id"] == "u"].set_index("product_category")
    n_q = math.log(2) / math.hypot(math.log(6), math.log(2))
    assert scores.loc["q", "score"] == pytest.approx(math.log(6) * n_q)
    assert scores.loc["p", "score"] == pytest.approx(ONCE / math.sqrt(2))
    with pytest.raises(ValueError, match="unknown weighting"):
        recommend.user_category_matrix(_purchases(BOUGHT), "tf_idf")


def test_fewer_than_two_categories_give_empty_results():
    matrix = recommend.user_category_matrix(_purchases({"a": ["x"], "b": ["x"]}))
    assert recommend.recommend(matrix, k=3).empty
    evaluation = recommend.evaluate(
        _purchases({"a": ["x"], "b": ["x"]}), _held_out({"a": "x"}), [1, 3]
    )
    assert evaluation.empty
    assert list(evaluation.columns) == recommend.EVALUATION_COLUMNS


def test_evaluation_builds_the_matrix_from_the_training_purchases_only():
    # Held-out categories w and v are bought nowhere in training: were the
    # held-out purchases in the matrix, they would be columns (categories
    # 4) and w, co-bought with x by a, could be recommended and hit.
    training = _purchases({"a": ["x"], "b": ["x", "y"], "c": ["y"]})
    held_out = _held_out({"a": "w", "b": "v"})
    evaluation = recommend.evaluate(training, held_out, [1, 3])
    assert set(evaluation["categories"]) == {2}  # x and y only
    assert set(evaluation["users_evaluated"]) == {2}
    assert set(evaluation["hits"]) == {0}
    assert set(evaluation["repeat_buyers"]) == {2}
    with pytest.raises(ValueError, match="training purchase"):
        recommend.evaluate(training, _held_out({"zz": "x"}), [1])


def test_evaluation_counts_hits_and_coverage_on_unbought_targets():
    # Training: a x; b x, y; c x; d x; e y; f x; g z. Held out: a y, b z,
    # c z, d y and f x (already bought: left out of the evaluation).
    training = _purchases(
        {
            "a": ["x"],
            "b": ["x", "y"],
            "c": ["x"],
            "d": ["x"],
            "e": ["y"],
            "f": ["x"],
            "g": ["z"],
        }
    )
    held_out = _held_out({"a": "y", "b": "z", "c": "z", "d": "y", "f": "x"})
    evaluation = recommend.evaluate(training, held_out, [1, 2])
    evaluation = evaluation.set_index(["method", "k"])
    row = evaluation.loc[("item_item", 1)]
    assert row["repeat_buyers"] == 5
    assert row["repeat_buyers_last_category_known"] == 1
    assert row["users_evaluated"] == 4
    assert set(evaluation["categories"]) == {3}
    # cos(x, y) = 1 / (sqrt(5) sqrt(2)); z is similar to nothing.
    # item_item@1 for a, c, d (bought x): y; for b (x, y): z (score 0).
    # Targets: a y (hit), b z (hit), c z (miss), d y (hit).
    assert row["hits"] == 3
    assert row["hit_rate"] == pytest.approx(0.75)
    assert row["categories_recommended"] == 2
    assert row["coverage"] == pytest.approx(2 / 3)
    # popularity: x 5 purchasers, y 2, z 1: the same lists here.
    assert evaluation.loc[("popularity", 1), "hits"] == 3
    assert evaluation.loc[("item_item", 2), "hits"] == 4


def test_the_split_of_the_tests_holds_out_each_repeat_buyers_last_order():
    """The oracle the demo-build test checks int_purchases_categorized
    against."""
    orders = pd.DataFrame(
        [
            ("o3", "a", "2024-03-01", "z"),
            ("o1", "a", "2024-01-01", "x"),
            ("o2", "a", "2024-03-01", "y"),  # same time as o3: o3 is last
            ("o4", "b", "2024-01-05", "x"),  # one-time buyer: training
            ("o6", "c", "2024-02-01", "y"),
            ("o5", "c", "2024-01-01", "x"),
        ],
        columns=["order_id", "user_id", "ordered_at", "product_category"],
    )
    training, held_out = _split(orders)
    assert held_out.values.tolist() == [["a", "z"], ["c", "y"]]
    assert training.values.tolist() == [
        ["a", "x", 1],
        ["a", "y", 1],
        ["b", "x", 1],
        ["c", "x", 1],
    ]


def test_evaluation_and_recommendations_are_deterministic():
    rng = np.random.default_rng(7)
    users = [f"u{i:03d}" for i in range(200)]
    categories = list("abcdefg")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i:05d}" for i in range(1500)],
            "user_id": [users[i] for i in rng.integers(len(users), size=1500)],
            "ordered_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(10**7, size=1500), unit="s"),
            "product_category": [
                categories[i] for i in rng.integers(len(categories), size=1500)
            ],
        }
    )
    training, held_out = _split(orders)
    first = recommend.evaluate(training, held_out, [1, 3, 5])
    again = recommend.evaluate(
        training.sample(frac=1, random_state=1),
        held_out.sample(frac=1, random_state=3),
        [1, 3, 5],
    )
    pd.testing.assert_frame_equal(first, again)
    assert (first["users_evaluated"] > 50).all()
    one = recommend.recommend(recommend.user_category_matrix(training), 3)
    two = recommend.recommend(
        recommend.user_category_matrix(training.sample(frac=1, random_state=2)), 3
    )
    pd.testing.assert_frame_equal(one, two)
    assert recommend.evaluation_ks(3) == [1, 3, 5]
    assert recommend.evaluation_ks(10) == [1, 3, 5, 10]


def test_a_bad_k_is_reported_and_the_default_used(capsys):
    from segmentation.dbt_python import recommend as glue

    assert glue.k_of('{"k": 5}') == 5
    for bad in ('{"k": 0}', '{"k": "three"}', '{"k": 2.5}', '{"k": true}'):
        assert glue.k_of(bad) == glue.DEFAULT_K
        assert "next_best_category_k must be a positive whole number" in (
            capsys.readouterr().out
        )


# --- on the shared demo build -----------------------------------------------


def _frame(build: Build, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.execute(sql).df()


def test_item_item_beats_popularity_at_3_on_the_demo(demo_build: Build) -> None:
    assert demo_build.returncode == 0, demo_build.output[-3000:]
    evaluation = _frame(
        demo_build, "select * from marts.next_best_category_evaluation"
    ).set_index(["method", "k"])
    assert sorted(evaluation.index) == [
        (method, k) for method in ("item_item", "popularity") for k in (1, 3, 5)
    ]
    assert (evaluation["users_evaluated"] >= 100).all()
    assert (
        evaluation.loc[("item_item", 3), "hit_rate"]
        > (evaluation.loc[("popularity", 3), "hit_rate"])
    )
    # The SQL split is the test's own (each repeat buyer's last purchase
    # held out, nothing else), and the mart is what the method gives on it:
    # the training matrix holds no held-out order.
    purchases = _frame(
        demo_build, "select * from intermediate.int_purchases_categorized"
    )
    training, held_out = _split(purchases)
    flagged = purchases[purchases["is_held_out"]]
    assert sorted(flagged["user_id"]) == sorted(held_out["user_id"])
    assert (
        flagged.set_index("user_id")
        .loc[held_out["user_id"], "product_category"]
        .tolist()
        == held_out["product_category"].tolist()
    )
    expected = recommend.evaluate(training, held_out, [1, 3, 5])
    expected = expected.set_index(["method", "k"])
    for column in recommend.EVALUATION_COLUMNS[2:]:
        np.testing.assert_allclose(
            evaluation[column].astype(float),
            expected.loc[evaluation.index, column].astype(float),
            err_msg=column,
        )


def test_the_recommendations_reach_the_profiles_on_the_demo(demo_build: Build):
    assert demo_build.returncode == 0, demo_build.output[-3000:]
    recommended = _frame(demo_build, "select * from marts.user_next_best_categories")
    bought = _frame(
        demo_build,
        "select user_id, product_category, affinity_rank"
        " from intermediate.int_users_categories_aggregated",
    )
    categories = bought["product_category"].nunique()
    assert categories >= 2
    assert set(recommended["recommendation_rank"]) == {1, 2, 3}
    # Every purchaser who has not bought every category gets min(3, unbought).
    unbought = categories - bought.groupby("user_id").size()
    rows = recommended.groupby("user_id").size()
    expected_rows = unbought[unbought > 0].clip(upper=3)
    pd.testing.assert_series_equal(
        rows.sort_index(), expected_rows.sort_index(), check_names=False
    )
    pairs = recommended.merge(bought, on=["user_id", "product_category"])
    assert pairs.empty, "a bought category was recommended"
    for mart in ("user_profiles", "user_segments"):
        profiles = _frame(
            demo_build,
            f"select user_id, top_category, next_best_category from marts.{mart}",
        ).set_index("user_id")
        first = recommended[recommended["recommendation_rank"] == 1]
        assert profiles.loc[first["user_id"], "next_best_category"].tolist() == (
            first["product_category"].tolist()
        )
        top = bought[bought["affinity_rank"] == 1].set_index("user_id")
        assert profiles.loc[top.index, "top_category"].tolist() == (
            top["product_category"].tolist()
        )
        without = profiles.drop(index=top.index)
        assert without["top_category"].isna().all()
        assert without["next_best_category"].isna().all()


def test_data_without_categories_gives_empty_recommendations(
    cdnow_build: Build,
) -> None:
    """Orders-only data without a product_category column (the CDNOW
    sample, shared build): every order is uncategorized, one category,
    nothing to recommend or evaluate; the top category is uncategorized."""
    build = cdnow_build
    assert build.returncode == 0, build.output[-3000:]
    assert build.scalar("select count(*) from marts.user_next_best_categories") == 0
    assert build.scalar("select count(*) from marts.next_best_category_evaluation") == 0
    assert "nothing to recommend" in build.output
    picked = build.query(
        "select top_category, count(next_best_category), count(*)"
        " from intermediate.int_users_categories_picked group by 1"
    )
    assert len(picked) == 1
    assert picked[0][0] == "uncategorized"
    assert picked[0][1] == 0
    assert picked[0][2] > 0
