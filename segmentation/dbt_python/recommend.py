"""Glue of the next-best category models (``int_users_categories_recommended``,
``int_next_best_category_evaluated``): the item-item collaborative filtering
of segmentation.methods.recommend on the user x category purchases of
``int_users_categories_aggregated`` and, for the evaluation, on the purchase
orders of ``int_purchases_categorized`` (whose ``is_held_out`` is the one
place the hold-out split is made: the training purchases are aggregated per
user and category in DuckDB from the other orders).

Only the needed columns cross into Python (aggregated in DuckDB first);
results go back as typed Arrow tables (an empty result keeps its column
types). The number of
categories recommended (var ``next_best_category_k``) comes from the model's
``config.meta``; a value that is not a positive whole number is reported in
the log and the default is used.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import recommend

#: The default of the next_best_category_k var.
DEFAULT_K = 3

RECOMMENDED_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("user_key", pa.string()),
        ("recommendation_rank", pa.int32()),
        ("product_category", pa.string()),
        ("score", pa.float64()),
        ("method", pa.string()),
    ]
)

EVALUATED_SCHEMA = pa.schema(
    [
        ("method", pa.string()),
        ("k", pa.int32()),
        ("users_evaluated", pa.int64()),
        ("hits", pa.int64()),
        ("hit_rate", pa.float64()),
        ("categories_recommended", pa.int64()),
        ("categories", pa.int64()),
        ("coverage", pa.float64()),
        ("repeat_buyers", pa.int64()),
        ("repeat_buyers_last_category_known", pa.int64()),
    ]
)


def k_of(settings: str) -> int:
    """next_best_category_k from the model's meta JSON (``{"k": ...}``): a
    positive whole number, else :data:`DEFAULT_K` with a log line."""
    value = json.loads(settings).get("k")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    log(
        f"next_best_category_k must be a positive whole number, got {value!r}:"
        f" recommending {DEFAULT_K} categories"
    )
    return DEFAULT_K


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    if frame.empty:
        return schema.empty_table()
    frame = frame.reindex(columns=schema.names)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def recommended_table(categories, settings: str) -> pa.Table:
    """Rows of int_users_categories_recommended: each purchaser's top k
    unbought categories by item-item score. ``categories`` is the relation
    of int_users_categories_aggregated."""
    k = k_of(settings)
    started = time.perf_counter()
    purchases = categories.project("user_id, product_category, purchases").to_df()
    matrix = recommend.user_category_matrix(purchases)
    if len(matrix.categories) < recommend.MIN_CATEGORIES:
        log(
            f"next-best category: {len(matrix.categories)} category in the"
            " purchases, nothing to recommend (at least"
            f" {recommend.MIN_CATEGORIES} needed)"
        )
        return RECOMMENDED_SCHEMA.empty_table()
    picked = recommend.recommend(matrix, k)
    keys = (
        categories.aggregate("user_id, min(user_key) as user_key", "user_id")
        .to_df()
        .set_index("user_id")["user_key"]
    )
    picked["user_key"] = picked["user_id"].map(keys)
    log(
        f"next-best category: {len(matrix.users):,} purchasers x"
        f" {len(matrix.categories)} categories, {len(picked):,} recommendations"
        f" (k = {k}) in {time.perf_counter() - started:.1f} s"
    )
    return _table(picked, RECOMMENDED_SCHEMA)


def evaluated_table(purchases, settings: str) -> pa.Table:
    """Rows of int_next_best_category_evaluated: hit rate and coverage of
    item_item and popularity at k = 1, 3, 5 and next_best_category_k on
    each repeat buyer's held-out last purchase (is_held_out). ``purchases``
    is the relation of int_purchases_categorized."""
    ks = recommend.evaluation_ks(k_of(settings))
    started = time.perf_counter()
    training = (
        purchases.filter("not is_held_out")
        .aggregate(
            "user_id, product_category, count(*) as purchases",
            "user_id, product_category",
        )
        .to_df()
    )
    held_out = (
        purchases.filter("is_held_out").project("user_id, product_category").to_df()
    )
    evaluation = recommend.evaluate(training, held_out, ks)
    if evaluation.empty:
        log("next-best category: fewer than 2 categories, no evaluation")
        return EVALUATED_SCHEMA.empty_table()
    at_3 = evaluation[evaluation["k"] == 3].set_index("method")["hit_rate"]
    figures = ", ".join(f"{method} {rate:.3f}" for method, rate in at_3.items())
    log(
        f"next-best category: {int(evaluation['users_evaluated'].iloc[0]):,}"
        f" repeat buyers evaluated, hit rate@3 {figures}"
        f" ({time.perf_counter() - started:.1f} s)"
    )
    return _table(evaluation, EVALUATED_SCHEMA)
