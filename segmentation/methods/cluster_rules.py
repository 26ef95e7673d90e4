"""Clusters explained by readable rules: pure functions behind the dbt
Python model ``int_clusters_explained`` (mart ``cluster_rules``).

A shallow decision tree (``DecisionTreeClassifier``, depth var
``cluster_rules_max_depth``) is trained to reproduce the K-Means cluster ids
from the clustering features in their original units (nulls filled with the
purchasers' median, as the clustering fills them). Each leaf is a
conjunction of the conditions on its path, merged per feature into a range
("monetary > 420 and recency_days <= 60"); the leaves whose majority is a
cluster are that cluster's rules.

Thresholds are made readable: a split at threshold t separates the
largest value sent left (a) from the smallest value sent right (b), and any
r with a <= r < b splits the purchasers the same way. The threshold shown is
the roundest such number (the coarsest power-of-ten step that has a
multiple in [a, b), the multiple nearest t) when it is a whole number or has
at most three significant digits, so counts, days and money read as 60 or
420 rather than 59.5 or 418.725, and the rule puts every purchaser in the
leaf the tree puts it in. When the gap is too narrow for that (dense
decimal data), t is rounded to three significant digits and the few
purchasers between t and the rounded value move to the other side. Every
count of the result is computed by evaluating the rules as written on the
data (and a leaf's cluster is the majority of the purchasers its rule holds
for), so the shares describe the rules shown.

The tree's agreement with the clusters (the share of clustered purchasers
whose leaf's majority is their own cluster) is the brief's segment accuracy:
how well the clusters can be told apart by a few readable conditions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

RULE_COLUMNS = [
    "cluster_id",
    "rule_rank",
    "leaf_id",
    "rule",
    "users_in_rule",
    "cluster_users_in_rule",
    "rule_precision",
    "rule_coverage",
    "cluster_users",
    "cluster_rule_coverage",
    "tree_agreement",
    "no_rule_reason",
]
# The rule of a tree with a single leaf (a single cluster, or features that
# do not split): it holds for every purchaser.
EVERY_PURCHASER = "every purchaser"
NO_FEATURE_REASON = "no clustering feature has a value, so no rule can be drawn"


def no_leaf_reason(max_depth: int) -> str:
    """Why a cluster has no rule: no leaf of the tree has it as majority."""
    return (
        f"no leaf of the depth-{max_depth} tree has a majority of this cluster's"
        " purchasers (they fall in leaves where other clusters dominate);"
        " a deeper tree (var cluster_rules_max_depth) may give it a rule"
    )


# Most significant digits of a threshold that is not a whole number.
SIGNIFICANT_DIGITS = 3


def roundest_in_gap(low: float, high: float, threshold: float) -> float | None:
    """The roundest number r with low <= r < high, nearest ``threshold``;
    None when the gap is empty.

    ``low`` is the largest value on the left of a split (x <= threshold),
    ``high`` the smallest on the right, so any such r splits the values the
    same way. The coarsest power-of-ten step with a multiple in [low, high)
    wins; among its multiples, the one nearest the tree's threshold.
    """
    if not low < high:
        return None
    scale = max(abs(low), abs(high), 1e-12)
    top = math.ceil(math.log10(scale)) + 1
    for exponent in range(top, -13, -1):
        step = 10.0**exponent
        first = math.ceil(low / step)
        last = math.ceil(high / step) - 1
        if first > last:
            continue
        multiple = min(max(round(threshold / step), first), last)
        candidate = round(multiple * step, max(0, -exponent))
        if low <= candidate < high:
            return float(candidate)
    return None


def significant_digits(value: float) -> int:
    """Significant digits of a threshold as written (1200 -> 2, 0.0313 -> 3)."""
    digits = format_threshold(value).lstrip("-").replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) if digits else 0


def round_significant(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return float(value)
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return float(round(value, decimals))


def readable_threshold(low: float, high: float, threshold: float) -> float:
    """The threshold a rule shows for a split of the tree.

    The roundest number of the gap [low, high) (:func:`roundest_in_gap`)
    when it is a whole number or has at most SIGNIFICANT_DIGITS significant
    digits: it splits the purchasers exactly as the tree does. Otherwise
    (dense data, a gap too narrow for a short number) the tree's threshold
    rounded to SIGNIFICANT_DIGITS significant digits, which may move the few
    purchasers between the two; the counts are taken with the rule as
    written.
    """
    exact = roundest_in_gap(low, high, threshold)
    if exact is not None and (
        exact.is_integer() or significant_digits(exact) <= SIGNIFICANT_DIGITS
    ):
        return exact
    return round_significant(threshold)


def format_threshold(value: float) -> str:
    """A threshold as written in a rule: no trailing zeros, no exponent."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.12f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


@dataclass(frozen=True)
class Condition:
    """One side of a split: ``feature <= threshold`` or ``feature >
    threshold`` (``above``)."""

    feature: int
    threshold: float
    above: bool


@dataclass
class Leaf:
    """A leaf of the tree: its node id, the conditions on its path (root
    first, thresholds already readable) and the cluster of its majority."""

    node: int
    conditions: list[Condition]
    cluster_id: int


def _readable_thresholds(tree, values: np.ndarray) -> dict[int, float]:
    """Per split node, the readable threshold splitting ``values`` (the
    training rows) as the tree does. The tree compares float32 values with
    float64 thresholds; the bounds are taken from the rows it sends each way,
    in the original float64 values, so the readable rule holds on them."""
    readable = {}
    as_seen = values.astype(np.float32).astype(np.float64)
    for node in range(tree.node_count):
        if tree.children_left[node] == tree.children_right[node]:
            continue
        feature = int(tree.feature[node])
        threshold = float(tree.threshold[node])
        left = as_seen[:, feature] <= threshold
        column = values[:, feature]
        if left.all() or not left.any():
            readable[node] = threshold
            continue
        readable[node] = readable_threshold(
            float(column[left].max()), float(column[~left].min()), threshold
        )
    return readable


def _leaves(tree, classes: np.ndarray, readable: dict[int, float]) -> list[Leaf]:
    """Every leaf with its path, depth first, left before right."""
    leaves: list[Leaf] = []
    stack: list[tuple[int, list[Condition]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = tree.children_left[node], tree.children_right[node]
        if left == right:
            majority = classes[int(np.argmax(tree.value[node][0]))]
            leaves.append(Leaf(node, path, int(majority)))
            continue
        feature = int(tree.feature[node])
        threshold = readable[node]
        stack.append((right, [*path, Condition(feature, threshold, True)]))
        stack.append((left, [*path, Condition(feature, threshold, False)]))
    return leaves


def rule_text(conditions: Sequence[Condition], features: Sequence[str]) -> str:
    """The conditions of a path merged per feature (the tightest bound on
    each side), features in the order of their first split: e.g.
    ``monetary > 420 and monetary <= 900 and recency_days <= 60``. Also a
    valid SQL condition on the feature columns."""
    order: list[int] = []
    lower: dict[int, float] = {}
    upper: dict[int, float] = {}
    for condition in conditions:
        if condition.feature not in order:
            order.append(condition.feature)
        if condition.above:
            lower[condition.feature] = max(
                lower.get(condition.feature, -math.inf), condition.threshold
            )
        else:
            upper[condition.feature] = min(
                upper.get(condition.feature, math.inf), condition.threshold
            )
    parts = []
    for feature in order:
        name = features[feature]
        if feature in lower:
            parts.append(f"{name} > {format_threshold(lower[feature])}")
        if feature in upper:
            parts.append(f"{name} <= {format_threshold(upper[feature])}")
    return " and ".join(parts) if parts else EVERY_PURCHASER


def rule_members(conditions: Sequence[Condition], values: np.ndarray) -> np.ndarray:
    """Which rows satisfy every condition (the readable rule evaluated on
    the data)."""
    members = np.ones(len(values), dtype=bool)
    for condition in conditions:
        column = values[:, condition.feature]
        if condition.above:
            members &= column > condition.threshold
        else:
            members &= column <= condition.threshold
    return members


@dataclass
class Explanation:
    """The rules of every cluster and how well the tree reproduces them.

    Attributes:
        rules: one row per (cluster, rule), columns RULE_COLUMNS; a cluster
            without any rule has one row with rule null and a reason.
        tree_agreement: share of the purchasers the rules put in their own
            cluster (null when there are none).
        leaf_of_row: per row of the input, the leaf id (tree node) whose
            readable rule it satisfies (the rules partition the rows).
    """

    rules: pd.DataFrame
    tree_agreement: float | None
    leaf_of_row: np.ndarray


def explain_clusters(
    values: np.ndarray,
    features: Sequence[str],
    cluster_ids: np.ndarray,
    max_depth: int,
    random_state: int,
) -> Explanation:
    """Fit the tree reproducing ``cluster_ids`` from ``values`` (rows =
    purchasers in a fixed order, columns = ``features`` in original units,
    no nulls) and turn its leaves into rules.

    Every count comes from the readable rules evaluated on ``values``.
    Deterministic: same rows in the same order, same result.
    """
    values = np.asarray(values, dtype=float)
    cluster_ids = np.asarray(cluster_ids, dtype=int)
    count = len(cluster_ids)
    if count == 0:
        return Explanation(
            pd.DataFrame(columns=RULE_COLUMNS), None, np.zeros(0, dtype=int)
        )
    clusters, cluster_sizes = np.unique(cluster_ids, return_counts=True)
    size_of = dict(zip(clusters.tolist(), cluster_sizes.tolist(), strict=True))
    if values.ndim != 2 or values.shape[1] == 0:
        rows = [
            {
                "cluster_id": int(cluster),
                "users_in_rule": 0,
                "cluster_users_in_rule": 0,
                "cluster_users": int(size_of[cluster]),
                "cluster_rule_coverage": 0.0,
                "tree_agreement": 0.0,
                "no_rule_reason": NO_FEATURE_REASON,
            }
            for cluster in clusters
        ]
        return Explanation(
            pd.DataFrame(rows, columns=RULE_COLUMNS), 0.0, np.zeros(count, dtype=int)
        )
    depth = max(1, int(max_depth))
    model = DecisionTreeClassifier(max_depth=depth, random_state=random_state)
    model.fit(values, cluster_ids)
    tree = model.tree_
    readable = _readable_thresholds(tree, values)
    leaves = _leaves(tree, model.classes_, readable)
    leaf_of_row = np.full(count, -1, dtype=int)
    found = []
    for leaf in leaves:
        members = rule_members(leaf.conditions, values)
        if not members.any():
            continue
        leaf_of_row[members] = leaf.node
        # The majority of the purchasers the rule holds for (the tree's
        # majority unless a rounded threshold moved some; a tie keeps the
        # tree's).
        found_ids, found_counts = np.unique(cluster_ids[members], return_counts=True)
        tied = found_ids[found_counts == found_counts.max()]
        if leaf.cluster_id not in tied:
            leaf.cluster_id = int(tied[0])
        in_cluster = int((members & (cluster_ids == leaf.cluster_id)).sum())
        found.append((leaf, int(members.sum()), in_cluster))
    agreed = sum(in_cluster for _, _, in_cluster in found)
    agreement = agreed / count
    rows = []
    for cluster in clusters:
        cluster = int(cluster)
        size = int(size_of[cluster])
        own = [item for item in found if item[0].cluster_id == cluster]
        own.sort(key=lambda item: (-item[2], -item[1], item[0].node))
        covered = sum(in_cluster for _, _, in_cluster in own)
        if not own:
            rows.append(
                {
                    "cluster_id": cluster,
                    "users_in_rule": 0,
                    "cluster_users_in_rule": 0,
                    "cluster_users": size,
                    "cluster_rule_coverage": 0.0,
                    "tree_agreement": agreement,
                    "no_rule_reason": no_leaf_reason(depth),
                }
            )
            continue
        for rank, (leaf, users, in_cluster) in enumerate(own, start=1):
            rows.append(
                {
                    "cluster_id": cluster,
                    "rule_rank": rank,
                    "leaf_id": leaf.node,
                    "rule": rule_text(leaf.conditions, features),
                    "users_in_rule": users,
                    "cluster_users_in_rule": in_cluster,
                    "rule_precision": in_cluster / users,
                    "rule_coverage": in_cluster / size,
                    "cluster_users": size,
                    "cluster_rule_coverage": covered / size,
                    "tree_agreement": agreement,
                    "no_rule_reason": None,
                }
            )
    return Explanation(pd.DataFrame(rows, columns=RULE_COLUMNS), agreement, leaf_of_row)
