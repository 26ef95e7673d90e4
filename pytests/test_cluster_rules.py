"""Clusters explained by readable rules (int_clusters_explained, mart
cluster_rules): a shallow decision tree reproducing the cluster ids.

The unit tests need no build: clusters separable by known thresholds give
back those thresholds with agreement 1; the rounded rules put every
purchaser in the leaf the tree puts it in; degenerate inputs give a reason,
never a crash. The build test reads the shared demo build and checks the
mart against user_clusters and the features, evaluating every rule as SQL.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import Build
from sklearn.tree import DecisionTreeClassifier

from segmentation.dbt_python import cluster_rules as glue
from segmentation.methods import cluster_rules
from segmentation.project import project_vars
from segmentation.report import loaders, sections
from segmentation.report.formatting import escape, format_share

FEATURES = ["recency_days", "frequency", "monetary"]


def _separable(count: int = 3000, seed: int = 0):
    """Purchasers whose cluster is given by monetary > 420 and
    recency_days <= 60 (1), monetary > 420 otherwise (2), monetary <= 420
    (3); frequency is noise."""
    rng = np.random.default_rng(seed)
    recency = rng.integers(0, 365, count).astype(float)
    frequency = rng.integers(1, 20, count).astype(float)
    monetary = rng.uniform(10, 1000, count).round(2)
    ids = np.where(monetary > 420, np.where(recency <= 60, 1, 2), 3)
    return np.column_stack([recency, frequency, monetary]), ids


def test_separable_clusters_give_back_their_thresholds() -> None:
    values, ids = _separable()
    explanation = cluster_rules.explain_clusters(values, FEATURES, ids, 3, 42)
    rules = explanation.rules.set_index("cluster_id")
    assert explanation.tree_agreement == 1.0
    assert rules.loc[1, "rule"] == "monetary > 420 and recency_days <= 60"
    assert rules.loc[2, "rule"] == "monetary > 420 and recency_days > 60"
    assert rules.loc[3, "rule"] == "monetary <= 420"
    assert (rules["rule_precision"] == 1.0).all()
    assert (rules["rule_coverage"] == 1.0).all()
    assert (rules["cluster_rule_coverage"] == 1.0).all()
    assert (rules["tree_agreement"] == 1.0).all()
    for cluster in (1, 2, 3):
        assert rules.loc[cluster, "cluster_users"] == (ids == cluster).sum()
        assert rules.loc[cluster, "users_in_rule"] == (ids == cluster).sum()


def _overlapping(count: int = 4000, seed: int = 1, decimals: int = 0):
    """Three overlapping blobs: the tree cannot reproduce them exactly.
    Whole numbers by default (days, counts, whole money); with decimals,
    dense values whose gaps are too narrow for short thresholds."""
    rng = np.random.default_rng(seed)
    centres = np.array([[30.0, 8.0, 812.37], [120.0, 3.0, 301.11], [250.0, 1.0, 95.5]])
    ids = rng.integers(1, 4, count)
    values = centres[ids - 1] * rng.lognormal(0.0, 0.45, (count, 3))
    values[:, :2] = np.round(values[:, :2])
    values[:, 2] = np.round(values[:, 2], decimals)
    return values, ids


def _evaluate(rule: str, values: np.ndarray) -> np.ndarray:
    """Which rows a rule as written holds for (its own small parser)."""
    members = np.ones(len(values), dtype=bool)
    if rule == cluster_rules.EVERY_PURCHASER:
        return members
    for part in rule.split(" and "):
        name, operator, number = part.split(" ")
        column = values[:, FEATURES.index(name)]
        assert operator in ("<=", ">"), part
        if operator == "<=":
            members &= column <= float(number)
        else:
            members &= column > float(number)
    return members


def _check_rules_as_written(explanation, values, ids) -> None:
    """Every count of the rules is what the rule text says on the data,
    and the rules partition the purchasers."""
    rules = explanation.rules.dropna(subset=["rule"])
    covered = np.zeros(len(ids), dtype=int)
    for row in rules.itertuples():
        members = _evaluate(row.rule, values)
        covered += members
        assert row.users_in_rule == members.sum(), row.rule
        assert row.cluster_users_in_rule == (members & (ids == row.cluster_id)).sum()
    assert (covered == 1).all()
    agreement = rules["cluster_users_in_rule"].sum() / len(ids)
    assert explanation.tree_agreement == pytest.approx(agreement)
    for cluster, group in rules.groupby("cluster_id"):
        assert group["cluster_rule_coverage"].iloc[0] == pytest.approx(
            group["cluster_users_in_rule"].sum() / (ids == cluster).sum()
        )


def _thresholds(explanation) -> list[str]:
    return [
        token
        for rule in explanation.rules["rule"].dropna()
        for token in rule.split()
        if token[0].isdigit() or token[0] == "-"
    ]


def test_rounded_rules_put_every_purchaser_in_the_trees_leaf() -> None:
    values, ids = _overlapping()
    explanation = cluster_rules.explain_clusters(values, FEATURES, ids, 3, 42)
    tree = DecisionTreeClassifier(max_depth=3, random_state=42).fit(values, ids)
    np.testing.assert_array_equal(explanation.leaf_of_row, tree.apply(values))
    agreement = (tree.predict(values) == ids).mean()
    assert explanation.tree_agreement == pytest.approx(agreement)
    assert 0.5 < explanation.tree_agreement < 1.0
    _check_rules_as_written(explanation, values, ids)
    assert all(float(token).is_integer() for token in _thresholds(explanation))


def test_dense_decimals_get_three_significant_digits() -> None:
    values, ids = _overlapping(decimals=3)
    explanation = cluster_rules.explain_clusters(values, FEATURES, ids, 3, 42)
    _check_rules_as_written(explanation, values, ids)
    tokens = _thresholds(explanation)
    assert tokens
    for token in tokens:
        number = float(token)
        assert number.is_integer() or cluster_rules.significant_digits(number) <= 3
    # Rounding moves only the few purchasers near a threshold.
    tree = DecisionTreeClassifier(max_depth=3, random_state=42).fit(values, ids)
    agreement = (tree.predict(values) == ids).mean()
    assert explanation.tree_agreement == pytest.approx(agreement, abs=0.01)


@pytest.mark.parametrize(
    ("low", "high", "threshold", "expected"),
    [
        (412.5, 431.0, 421.75, 420.0),
        (57.0, 61.0, 59.0, 60.0),
        (10.0, 500.0, 255.0, 300.0),
        (0.0312, 0.0315, 0.03132, 0.0313),
        (3.0, 4.0, 3.5, 3.0),
        (-12.5, -7.0, -9.75, -10.0),
        (1234.0, 1235.0, 1234.5, 1234.0),
        # No short number in the gap: three significant digits.
        (208.41, 208.47, 208.44, 208.0),
        (0.031234, 0.031236, 0.031235, 0.0312),
    ],
)
def test_readable_threshold_is_the_roundest_in_the_gap(
    low: float, high: float, threshold: float, expected: float
) -> None:
    assert cluster_rules.readable_threshold(low, high, threshold) == expected


def test_roundest_in_gap_always_splits_the_gap() -> None:
    rng = np.random.default_rng(7)
    for _ in range(2000):
        low = float(rng.uniform(-1e4, 1e4) * 10.0 ** rng.integers(-6, 3))
        high = low + float(rng.uniform(1e-9, 50) * 10.0 ** rng.integers(-6, 2))
        if not low < high:
            continue
        chosen = cluster_rules.roundest_in_gap(low, high, (low + high) / 2)
        assert chosen is not None
        assert low <= chosen < high, (low, high, chosen)


def test_rule_text_merges_the_bounds_of_a_feature() -> None:
    condition = cluster_rules.Condition
    text = cluster_rules.rule_text(
        [
            condition(2, 100.0, True),
            condition(0, 60.0, False),
            condition(2, 900.0, False),
            condition(2, 420.0, True),
            condition(0, 30.0, False),
        ],
        FEATURES,
    )
    assert text == "monetary > 420 and monetary <= 900 and recency_days <= 30"
    assert cluster_rules.rule_text([], FEATURES) == cluster_rules.EVERY_PURCHASER
    assert cluster_rules.format_threshold(0.0313) == "0.0313"
    assert cluster_rules.format_threshold(1200.0) == "1200"


def test_degenerate_inputs_give_reasons_not_errors() -> None:
    empty = cluster_rules.explain_clusters(np.zeros((0, 3)), FEATURES, [], 3, 42)
    assert empty.rules.empty
    assert empty.tree_agreement is None

    values, _ = _separable(200)
    single = cluster_rules.explain_clusters(values, FEATURES, np.ones(200), 3, 42)
    assert single.rules["rule"].tolist() == [cluster_rules.EVERY_PURCHASER]
    assert single.tree_agreement == 1.0

    featureless = cluster_rules.explain_clusters(
        np.zeros((4, 0)), [], np.array([1, 1, 2, 2]), 3, 42
    )
    assert featureless.rules["rule"].isna().all()
    assert set(featureless.rules["no_rule_reason"]) == {cluster_rules.NO_FEATURE_REASON}

    # Cluster 4 is a few purchasers scattered among cluster 3: no leaf of a
    # depth-1 tree has them as majority.
    values, ids = _separable(3000)
    ids = ids.copy()
    ids[np.flatnonzero(ids == 3)[::50]] = 4
    explained = cluster_rules.explain_clusters(values, FEATURES, ids, 1, 42)
    lonely = explained.rules.loc[explained.rules["cluster_id"] == 4].iloc[0]
    assert pd.isna(lonely["rule"])
    assert lonely["no_rule_reason"] == cluster_rules.no_leaf_reason(1)
    assert lonely["cluster_rule_coverage"] == 0.0
    assert lonely["cluster_users"] == (ids == 4).sum()


def test_the_same_data_gives_the_same_rules() -> None:
    values, ids = _overlapping()
    first = cluster_rules.explain_clusters(values, FEATURES, ids, 3, 42)
    second = cluster_rules.explain_clusters(values.copy(), FEATURES, ids, 3, 42)
    assert first.rules.equals(second.rules)


def _settings() -> str:
    """The clustering JSON of the model's meta, from the committed vars."""
    variables = project_vars()
    keys = (
        "features",
        "log_features",
        "k_min",
        "k_max",
        "sample_size",
        "keep_k_tolerance",
        "minibatch_threshold",
        "pca_min_features",
        "pca_variance",
        "random_state",
    )
    return json.dumps({key: variables[f"cluster_{key}"] for key in keys})


def test_glue_fills_gaps_with_the_median_and_drops_empty_features() -> None:
    """Nulls of a feature count as the purchasers' median (the clustering's
    imputer); a feature with no value is left out; the result has the
    mart's types."""
    values, ids = _separable(600)
    count = len(ids)
    missing = np.arange(count) % 7 == 0
    monetary = [
        None if gap else float(v) for gap, v in zip(missing, values[:, 2], strict=True)
    ]
    nothing = pa.array([None] * count, pa.float64())
    columns = {
        "user_id": pa.array([f"u{i:04d}" for i in range(count)]),
        "recency_days": pa.array(values[:, 0].astype(int)),
        "frequency": pa.array(values[:, 1].astype(int)),
        "monetary": pa.array(monetary, pa.float64()),
        "average_order_value": pa.array(values[:, 2] / values[:, 1]),
        "tenure_days": pa.array(values[:, 0].astype(int) + 30),
        "sessions_90d": nothing,
        "browse_minutes_90d": nothing,
        "ctr_90d": nothing,
    }
    table = pa.table(columns)
    clusters = pa.table(
        {
            "user_id": columns["user_id"],
            "cluster_id": pa.array(ids, pa.int32()),
            "cluster_label": pa.array([f"label {i}" for i in ids]),
            "distance_to_centroid": pa.array(np.zeros(count)),
        }
    )
    result = glue.rules_table(table, clusters, _settings(), 2)
    assert result.schema == glue.RULES_SCHEMA
    rows = result.to_pandas()
    assert set(rows["cluster_id"]) == {1, 2, 3}
    assert rows.groupby("cluster_id")["cluster_users"].first().sum() == count
    assert rows["users_in_rule"].sum() == count
    text = " ".join(rows["rule"].dropna())
    for empty in ("sessions_90d", "browse_minutes_90d", "ctr_90d"):
        assert empty not in text
    # A purchaser without monetary counts as the median (above 420 here),
    # so the ones of cluster 3 (monetary <= 420) are the only ones the
    # rules put elsewhere.
    median = float(np.median(values[~missing, 2]))
    assert median > 420
    wrong = (missing & (ids == 3)).sum()
    assert wrong > 0
    assert rows["tree_agreement"].iloc[0] == pytest.approx(1 - wrong / count)
    labels = rows["cluster_id"].map(lambda cluster: f"label {cluster}")
    assert (rows["cluster_label"] == labels).all()

    no_clusters = glue.rules_table(table, clusters.slice(0, 0), _settings(), 3)
    assert no_clusters.num_rows == 0
    assert no_clusters.schema == glue.RULES_SCHEMA


def test_demo_rules_describe_the_clusters(demo_build: Build) -> None:
    """Every cluster has a rule or a reason; counts and shares agree with
    user_clusters and with the rules evaluated as SQL on the features (gaps
    filled with the median); agreement recomputed from the mart."""
    rules = demo_build.query(
        "select cluster_id, rule, users_in_rule, cluster_users_in_rule,"
        " rule_precision, rule_coverage, cluster_users, cluster_rule_coverage,"
        " tree_agreement, no_rule_reason"
        " from marts.cluster_rules order by cluster_id, rule_rank"
    )
    sizes = dict(
        demo_build.query(
            "select cluster_id, count(*) from marts.user_clusters group by 1"
        )
    )
    assert rules, "the demo has clusters, so the mart has rows"
    assert {row[0] for row in rules} == set(sizes)
    for cluster in sizes:
        own = [row for row in rules if row[0] == cluster]
        assert all(row[6] == sizes[cluster] for row in own)
        assert any(row[1] is not None for row in own) or all(row[9] for row in own)
        covered = sum(row[3] for row in own)
        assert own[0][7] == pytest.approx(covered / sizes[cluster])
    for row in rules:
        for share in (row[4], row[5], row[7], row[8]):
            assert share is None or 0.0 <= share <= 1.0
    clustered = sum(sizes.values())
    agreement = sum(row[3] for row in rules if row[1] is not None) / clustered
    assert len({row[8] for row in rules}) == 1
    assert rules[0][8] == pytest.approx(agreement)
    # Better than guessing the largest cluster for everyone, and near the
    # README's "about 82% of the demo's purchasers".
    assert agreement > max(sizes.values()) / clustered
    assert agreement > 0.7

    features = [
        name
        for name in project_vars()["cluster_features"]
        if demo_build.scalar(
            f"select count({name}) from intermediate.int_users_featurized"
        )
    ]
    filled = ", ".join(
        f"coalesce(f.{name}, (select median({name})"
        f" from intermediate.int_users_featurized)) as {name}"
        for name in features
    )
    for cluster, rule, users, in_cluster, *_ in rules:
        if rule is None:
            continue
        condition = "true" if rule == "every purchaser" else rule
        counted = demo_build.query(
            f"with filled as (select c.cluster_id, {filled}"
            " from intermediate.int_users_featurized as f"
            " inner join marts.user_clusters as c on f.user_id = c.user_id)"
            f" select count(*), count(*) filter (where cluster_id = {cluster})"
            f" from filled where {condition}"
        )[0]
        assert counted == (users, in_cluster), rule


def test_report_shows_the_rules_beside_the_cluster_profile(demo_build: Build) -> None:
    with duckdb.connect(str(demo_build.database), read_only=True) as connection:
        data = loaders.load_cluster_profiles(connection)
    rules = demo_build.query(
        "select cluster_id, rule, tree_agreement from marts.cluster_rules"
        " order by cluster_id, rule_rank"
    )
    assert [(item["cluster_id"], item["rule"]) for item in data["rules"]["rules"]] == [
        row[:2] for row in rules
    ]
    assert data["rules"]["tree_agreement"] == pytest.approx(rules[0][2], abs=1e-4)
    html = sections.cluster_section(data)
    assert "<h3>Cluster rules</h3>" in html
    # The rules table sits between the profile table and the scatter.
    assert (
        html.index("Mean monetary") < html.index("Cluster rules") < html.index("<svg")
    )
    for _, rule, _ in rules:
        assert escape(rule) in html
    assert format_share(rules[0][2]) in html


def test_report_of_a_warehouse_without_the_mart_says_so() -> None:
    cluster = {
        "cluster_id": 1,
        "cluster_label": "high spend, frequent, recent",
        "user_count": 10,
        "mean_monetary": 1.0,
        "mean_frequency": 1.0,
        "mean_recency_days": 1.0,
    }
    html = sections.cluster_section(
        {"clusters": [cluster], "scatter": None, "rules": None}
    )
    assert sections.NO_CLUSTER_RULES_SENTENCE in html
    assert "<h3>Cluster rules</h3>" not in html
