"""Next-best category by item-item collaborative filtering: pure functions
behind the dbt Python models ``int_users_categories_recommended`` and
``int_next_best_category_evaluated`` (marts ``user_next_best_categories``
and ``next_best_category_evaluation``).

The input is the implicit-feedback user x category matrix: one row per
purchaser, one column per category (sorted by name, as read from the data:
nothing here knows the labels), a user's value in a column is
:data:`WEIGHTING` of their purchases of that category:

``binary`` (the one used)
    1 if the user bought the category at least once, else 0.
``log_purchases``
    log(1 + purchases), so repeat purchases count, with diminishing weight.

Both were measured with :func:`evaluate` on the demo (hold-out of the last
purchase, see below) and ``binary`` ranked at least as well at k = 1, 3 and 5
(``log_purchases`` lets a user's favourite category dominate the scores,
while the next new category follows from the breadth of what they bought).

``item_item``
    the cosine similarity between two category columns (zero on the
    diagonal); a user's score for a category they have not bought is the sum
    of its similarities to the categories they bought, weighted by their
    value (with ``binary``: the plain sum). Not normalised: a category
    close to several of the user's categories scores above one close to
    a single one. The top k unbought categories by score, ties by category
    name; an unbought category with no co-purchase with the user's
    categories scores 0 and still fills the list, so every purchaser with
    at least one unbought category gets min(k, unbought) rows.
``popularity`` (the baseline)
    categories by number of purchasers, the same for everyone; a user gets
    the most popular ones they have not bought (ties by category name).

Evaluation (:func:`evaluate`): each repeat buyer's last purchase (latest
``ordered_at``, ties by the largest ``order_id``) is held out; the matrix,
the similarities and the popularity are built from all the other purchases
(:func:`hold_out_last`), so nothing of a held-out order reaches training.
The target is the held-out order's category; repeat buyers who had already
bought it are counted apart (``repeat_buyers_last_category_known``): the
product recommends unbought categories. A hit at k: the target is among the
user's top k. Coverage at k: the share of the categories (training columns)
recommended to at least one evaluated user.

Deterministic: users and categories are sorted, ties are broken by name,
there is no random step; matrix products run on one thread
(:data:`THREADS`). Fewer than :data:`MIN_CATEGORIES` categories: nothing to
recommend, empty results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from threadpoolctl import threadpool_limits

ITEM_ITEM = "item_item"
POPULARITY = "popularity"
#: The methods of the evaluation, in order (recommendations: item_item).
METHODS = (ITEM_ITEM, POPULARITY)

BINARY = "binary"
LOG_PURCHASES = "log_purchases"
WEIGHTINGS = (BINARY, LOG_PURCHASES)
#: The weighting of the user x category matrix (see the module docstring).
WEIGHTING = BINARY

#: The k of the evaluation, besides the next_best_category_k var.
EVALUATION_KS = (1, 3, 5)

#: Fewer categories than this: nothing to recommend.
MIN_CATEGORIES = 2

#: Users scored at a time (bounds the dense score block: rows x categories).
CHUNK_USERS = 100_000

THREADS = 1

RECOMMENDATION_COLUMNS = [
    "user_id",
    "recommendation_rank",
    "product_category",
    "score",
    "method",
]

EVALUATION_COLUMNS = [
    "method",
    "k",
    "users_evaluated",
    "hits",
    "hit_rate",
    "categories_recommended",
    "categories",
    "coverage",
    "repeat_buyers",
    "repeat_buyers_last_category_known",
]


@dataclass(frozen=True)
class Matrix:
    """The user x category matrix: ``values[i, j]`` is the weight of user
    ``users[i]`` for category ``categories[j]`` (0: not bought). Users and
    categories are sorted."""

    users: np.ndarray
    categories: np.ndarray
    values: sparse.csr_matrix

    @property
    def bought(self) -> sparse.csr_matrix:
        """1 where the user bought the category."""
        return (self.values > 0).astype(np.float64).tocsr()


def user_category_matrix(purchases: pd.DataFrame, weighting: str = WEIGHTING) -> Matrix:
    """The matrix of ``purchases`` (columns ``user_id``,
    ``product_category``, ``purchases``: one row per user and category
    bought, purchases > 0; the rows of int_users_categories_aggregated)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}: one of {WEIGHTINGS}")
    rows = purchases[purchases["purchases"] > 0]
    users, user_index = np.unique(rows["user_id"].astype(str), return_inverse=True)
    categories, category_index = np.unique(
        rows["product_category"].astype(str), return_inverse=True
    )
    counts = rows["purchases"].to_numpy(dtype=np.float64)
    weights = np.ones_like(counts) if weighting == BINARY else np.log1p(counts)
    values = sparse.csr_matrix(
        (weights, (user_index, category_index)),
        shape=(len(users), len(categories)),
    )
    values.sum_duplicates()
    return Matrix(users, categories, values)


def category_similarity(matrix: Matrix) -> np.ndarray:
    """Cosine similarity between the category columns (categories x
    categories, symmetric, zero diagonal; a column of zeros is similar to
    nothing)."""
    with threadpool_limits(THREADS):
        gram = (matrix.values.T @ matrix.values).toarray()
    norms = np.sqrt(np.diag(gram))
    scale = np.where(norms > 0, norms, 1.0)
    similarity = gram / scale[:, None] / scale[None, :]
    np.fill_diagonal(similarity, 0.0)
    return similarity


def popularity(matrix: Matrix) -> np.ndarray:
    """Purchasers per category (column order)."""
    return np.asarray(matrix.bought.sum(axis=0), dtype=np.float64).ravel()


def _scores(method: str, values, similarity, purchasers) -> np.ndarray:
    if method == ITEM_ITEM:
        with threadpool_limits(THREADS):
            return np.asarray(values @ similarity, dtype=np.float64)
    if method == POPULARITY:
        return np.broadcast_to(purchasers, (values.shape[0], len(purchasers))).copy()
    raise ValueError(f"unknown method {method!r}: one of {METHODS}")


def _top_k(scores: np.ndarray, bought: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's top k unbought columns by score, ties by
    column (= category name) order; -1 where a row has fewer unbought."""
    masked = np.where(bought, -np.inf, scores)
    # A stable sort on the negated scores keeps name order among ties.
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    picked_bought = np.take_along_axis(bought, order, axis=1)
    return np.where(picked_bought, -1, order)


def recommend(
    matrix: Matrix,
    k: int,
    method: str = ITEM_ITEM,
    similarity: np.ndarray | None = None,
    users: np.ndarray | None = None,
) -> pd.DataFrame:
    """Up to k rows per user of ``users`` (row indices of the matrix, all by
    default): user_id, recommendation_rank (1..k), product_category, score,
    method. Users who bought every category get none."""
    if len(matrix.categories) < MIN_CATEGORIES or k < 1:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    if similarity is None and method == ITEM_ITEM:
        similarity = category_similarity(matrix)
    purchasers = popularity(matrix)
    rows = np.arange(len(matrix.users)) if users is None else np.asarray(users)
    k = min(k, len(matrix.categories))
    parts = []
    for start in range(0, len(rows), CHUNK_USERS):
        chunk = rows[start : start + CHUNK_USERS]
        values = matrix.values[chunk]
        scores = _scores(method, values, similarity, purchasers)
        bought = values.toarray() > 0
        picked = _top_k(scores, bought, k)
        user_pos, rank_pos = np.nonzero(picked >= 0)
        columns = picked[user_pos, rank_pos]
        parts.append(
            pd.DataFrame(
                {
                    "user_id": matrix.users[chunk[user_pos]],
                    "recommendation_rank": rank_pos + 1,
                    "product_category": matrix.categories[columns],
                    "score": scores[user_pos, columns],
                    "method": method,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["user_id", "recommendation_rank"], ignore_index=True)


def hold_out_last(orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split purchase orders (columns ``order_id``, ``user_id``,
    ``ordered_at``, ``product_category``) into (training, held_out):
    held_out is each repeat buyer's (two or more orders) last order, latest
    ``ordered_at`` then largest ``order_id``; training is every other order,
    one-time buyers' included. Both sorted by user, time and order id."""
    ordered = orders.sort_values(
        ["user_id", "ordered_at", "order_id"], ignore_index=True
    )
    per_user = ordered.groupby("user_id", sort=False)["order_id"].transform("size")
    is_last = ~ordered["user_id"].duplicated(keep="last")
    held = is_last & (per_user >= 2)
    return ordered[~held].reset_index(drop=True), ordered[held].reset_index(drop=True)


def purchases_of(orders: pd.DataFrame) -> pd.DataFrame:
    """Purchases per user and category of purchase orders: the input of
    :func:`user_category_matrix`."""
    return (
        orders.groupby(["user_id", "product_category"], sort=True)
        .size()
        .rename("purchases")
        .reset_index()
    )


def evaluation_ks(k: int) -> list[int]:
    """The k of the evaluation: :data:`EVALUATION_KS` and ``k``, sorted."""
    return sorted({*EVALUATION_KS, int(k)})


def evaluate(
    orders: pd.DataFrame,
    ks: Iterable[int],
    weighting: str = WEIGHTING,
    methods: Iterable[str] = METHODS,
) -> pd.DataFrame:
    """The hold-out evaluation of each method at each k (rows method x k,
    :data:`EVALUATION_COLUMNS`) on purchase orders (see
    :func:`hold_out_last`). Empty with fewer than :data:`MIN_CATEGORIES`
    training categories."""
    ks = sorted({int(k) for k in ks})
    orders = orders.astype({"user_id": str, "product_category": str})
    training, held_out = hold_out_last(orders)
    bought = purchases_of(training)
    matrix = user_category_matrix(bought, weighting)
    if len(matrix.categories) < MIN_CATEGORIES or not ks:
        return pd.DataFrame(columns=EVALUATION_COLUMNS)
    known = (
        held_out[["user_id", "product_category"]]
        .merge(bought, on=["user_id", "product_category"], how="left")["purchases"]
        .notna()
        .to_numpy()
    )
    evaluated = pd.DataFrame(
        {
            "user_id": held_out["user_id"].to_numpy()[~known],
            "target": held_out["product_category"].to_numpy()[~known],
        }
    )
    rows = np.searchsorted(matrix.users, evaluated["user_id"].to_numpy())
    similarity = category_similarity(matrix)
    out = []
    for method in methods:
        picked = recommend(matrix, max(ks), method, similarity, rows)
        picked = picked.merge(evaluated, on="user_id")
        for k in ks:
            top = picked[picked["recommendation_rank"] <= k]
            hits = int((top["product_category"] == top["target"]).sum())
            recommended = top["product_category"].nunique()
            out.append(
                {
                    "method": method,
                    "k": k,
                    "users_evaluated": len(evaluated),
                    "hits": hits,
                    "hit_rate": hits / len(evaluated) if len(evaluated) else np.nan,
                    "categories_recommended": recommended,
                    "categories": len(matrix.categories),
                    "coverage": recommended / len(matrix.categories),
                    "repeat_buyers": len(held_out),
                    "repeat_buyers_last_category_known": int(known.sum()),
                }
            )
    return pd.DataFrame(out, columns=EVALUATION_COLUMNS)
