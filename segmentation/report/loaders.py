"""Loaders: read-only queries on the marts returning JSON-ready dicts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
from sklearn.decomposition import PCA

from segmentation.report.formatting import as_money, as_ratio, display_label

SCATTER_SAMPLE_SIZE = 2_000
TIER_ORDER = ("high", "medium", "low", "none")
ACTIVITY_ORDER = ("high", "medium", "low")
SCORES = (1, 2, 3, 4, 5)

# Every table the report reads, by role: the marts (and the roll-ups of the
# final tables in models/marts/reporting) named once, here. The segment_report
# exposure in models/_exposures.yml lists the same tables.
MARTS_SCHEMA = "marts"
TABLES = {
    "summary": "population_summary",
    "segments": "primary_segments",
    "rfm": "rfm_grid",
    "value_activity": "value_activity_matrix",
    "clusters": "cluster_overview",
    "activity": "activity_tiers",
    "lifecycle": "monthly_lifecycle",
    "arpu": "monthly_arpu",
    "profiles": "user_profiles",
    "user_clusters": "user_clusters",
}
# The purchaser features the cluster scatter projects to 2-D, all columns of
# marts.user_profiles: the clustering features and the other per-purchaser
# measures next to them. A feature with no value at all (no events) is left
# out of the projection.
PROJECTION_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "average_order_value",
    "tenure_days",
    "arpu_monthly",
    "sessions_90d",
    "active_days_90d",
    "browse_minutes_90d",
    "ctr_90d",
    "add_to_cart_rate_90d",
    "conversion_rate_90d",
)


def _mart(role: str) -> str:
    """The schema-qualified table the report reads for ``role``."""
    return f"{MARTS_SCHEMA}.{TABLES[role]}"


def _rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return connection.execute(sql).fetchall()


def load_header(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """As-of date, its source, population and purchaser counts."""
    rows = _rows(
        connection,
        "select as_of_date, as_of_date_source, user_count, purchaser_count"
        f" from {_mart('summary')}",
    )
    as_of_date, source, population, purchasers = rows[0] if rows else (None,) * 4
    return {
        "as_of_date": None if as_of_date is None else str(as_of_date),
        "as_of_date_source": source,
        "population": int(population or 0),
        "purchasers": int(purchasers or 0),
    }


def load_segment_sizes(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Primary segment sizes, largest first."""
    rows = _rows(
        connection,
        f"select segment, user_count, user_share from {_mart('segments')}"
        " order by user_count desc, segment",
    )
    segments = [
        {"segment": segment, "user_count": int(count), "user_share": as_ratio(share)}
        for segment, count, share in rows
    ]
    return {
        "segments": segments,
        "total_users": sum(item["user_count"] for item in segments),
    }


def load_rfm_grid(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Purchasers and their net revenue per recency x frequency score cell.

    Matrices run rows R 5..1 and columns F 1..5; empty cells hold 0.
    """
    rows = _rows(
        connection,
        "select recency_score, frequency_score, user_count, net_revenue"
        f" from {_mart('rfm')}",
    )
    cells: dict[tuple[int, int], tuple[int, float]] = {}
    unscored = 0
    for recency, frequency, count, revenue in rows:
        if recency in SCORES and frequency in SCORES:
            cells[(recency, frequency)] = (int(count), as_money(revenue) or 0.0)
        else:
            unscored += int(count)
    recency_scores = list(reversed(SCORES))
    users = [[cells.get((r, f), (0, 0.0))[0] for f in SCORES] for r in recency_scores]
    revenue = [[cells.get((r, f), (0, 0.0))[1] for f in SCORES] for r in recency_scores]
    return {
        "recency_scores": recency_scores,
        "frequency_scores": list(SCORES),
        "users": users,
        "net_revenue": revenue,
        "purchasers": sum(map(sum, users)),
        "total_net_revenue": round(sum(map(sum, revenue)), 2),
        "unscored_purchasers": unscored,
    }


def _ordered(found: set[str | None], canonical: Sequence[str]) -> list[str | None]:
    extras = sorted((item for item in found if item not in canonical), key=str)
    return [*canonical, *extras]


def load_value_activity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """User counts per value tier x activity tier (all users)."""
    rows = _rows(
        connection,
        f"select value_tier, activity_tier, user_count from {_mart('value_activity')}",
    )
    counts = {(value, activity): int(count) for value, activity, count in rows}
    value_tiers = _ordered({value for value, _ in counts}, TIER_ORDER)
    activity_tiers = _ordered({activity for _, activity in counts}, ACTIVITY_ORDER)
    matrix = [
        [counts.get((value, activity), 0) for activity in activity_tiers]
        for value in value_tiers
    ]
    return {
        "value_tiers": [display_label(tier) for tier in value_tiers],
        "activity_tiers": [display_label(tier) for tier in activity_tiers],
        "users": matrix,
        "total_users": sum(map(sum, matrix)),
    }


def project_to_2d(matrix: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Project feature rows to 2-D: median-fill, log1p, standardise, PCA.

    Columns with no values at all are dropped; negatives are clipped to 0
    before log1p. Returns the (rows, 2) coordinates and the explained
    variance ratio of each component (0 where a component cannot exist).
    """
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        return np.zeros((0, 2)), [0.0, 0.0]
    kept = ~np.all(np.isnan(matrix), axis=0)
    values = matrix[:, kept]
    if values.shape[1] == 0:
        return np.zeros((matrix.shape[0], 2)), [0.0, 0.0]
    medians = np.nanmedian(values, axis=0)
    values = np.where(np.isnan(values), medians, values)
    values = np.log1p(np.clip(values, 0.0, None))
    spread = values.std(axis=0)
    values = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    components = min(2, values.shape[0], values.shape[1])
    coordinates = np.zeros((values.shape[0], 2))
    ratios = [0.0, 0.0]
    if components >= 1 and np.any(values):
        pca = PCA(n_components=components, random_state=0)
        coordinates[:, :components] = pca.fit_transform(values)
        ratios[:components] = [float(ratio) for ratio in pca.explained_variance_ratio_]
    return coordinates, ratios


def load_cluster_profiles(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Cluster sizes and feature means, plus a 2-D sample of purchasers.

    The sample is deterministic (ordered by hash of user id, at most
    SCATTER_SAMPLE_SIZE rows) and carries no user ids.
    """
    clusters = [
        {
            "cluster_id": int(cluster_id),
            "cluster_label": label,
            "user_count": int(count),
            "mean_monetary": as_ratio(monetary, 4),
            "mean_frequency": as_ratio(frequency, 4),
            "mean_recency_days": as_ratio(recency, 4),
        }
        for cluster_id, label, count, monetary, frequency, recency in _rows(
            connection,
            "select cluster_id, cluster_label, user_count, mean_monetary,"
            " mean_frequency, mean_recency_days"
            f" from {_mart('clusters')} order by cluster_id",
        )
    ]
    columns_sql = ", ".join(f"profiles.{name}" for name in PROJECTION_FEATURES)
    rows = _rows(
        connection,
        f"select {columns_sql}, clusters.cluster_id"
        f" from {_mart('profiles')} as profiles"
        f" inner join {_mart('user_clusters')} as clusters"
        " on profiles.user_id = clusters.user_id"
        " order by hash(profiles.user_id), profiles.user_id"
        f" limit {SCATTER_SAMPLE_SIZE}",
    )
    features: list[str] = []
    columns: list[list[float]] = []
    for position, name in enumerate(PROJECTION_FEATURES):
        column = [
            math.nan if row[position] is None else float(row[position]) for row in rows
        ]
        if rows and not all(math.isnan(value) for value in column):
            features.append(name)
            columns.append(column)
    scatter: dict[str, Any] | None = None
    if rows and features:
        matrix = np.array(columns, dtype=float).T
        coordinates, ratios = project_to_2d(matrix)
        cluster_ids = [int(row[-1]) for row in rows]
        scatter = {
            "sample_size": len(rows),
            "features": features,
            "explained_variance_ratio": [round(ratio, 4) for ratio in ratios],
            "points": [
                [round(float(x), 4), round(float(y), 4), cluster_id]
                for (x, y), cluster_id in zip(coordinates, cluster_ids, strict=True)
            ],
        }
    return {"clusters": clusters, "scatter": scatter}


def load_lifecycle_trend(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Monthly growth accounting: new, retained, resurrected, dormant users."""
    rows = _rows(
        connection,
        "select date_month, new_users, retained_users, resurrected_users,"
        f" dormant_users from {_mart('lifecycle')} order by date_month",
    )
    names = ("new_users", "retained_users", "resurrected_users", "dormant_users")
    return {
        "months": [str(row[0]) for row in rows],
        **{
            name: [None if row[i + 1] is None else int(row[i + 1]) for row in rows]
            for i, name in enumerate(names)
        },
    }


def load_arpu_trend(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Monthly ARPU (active and registered users) and ARPPU."""
    rows = _rows(
        connection,
        "select date_month, arpu_active, arpu_registered, arppu,"
        f" is_complete_month from {_mart('arpu')} order by date_month",
    )
    return {
        "months": [str(row[0]) for row in rows],
        "arpu_active": [as_money(row[1]) for row in rows],
        "arpu_registered": [as_money(row[2]) for row in rows],
        "arppu": [as_money(row[3]) for row in rows],
        "is_complete_month": [bool(row[4]) for row in rows],
    }


def load_activity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Activity tier sizes and, when events exist, behaviour per tier."""
    flag = _rows(connection, f"select has_behaviour_data from {_mart('summary')}")
    has_behaviour = bool(flag and flag[0][0])
    rows = {
        tier: rest
        for tier, *rest in _rows(
            connection,
            "select activity_tier, user_count, user_share, mean_sessions_90d,"
            " mean_browse_minutes_90d, mean_ctr_90d"
            f" from {_mart('activity')}",
        )
    }
    total = sum(int(count) for count, *_ in rows.values())
    tiers = [
        {
            "activity_tier": display_label(tier),
            "user_count": int(rows[tier][0]) if tier in rows else 0,
            "user_share": (as_ratio(rows[tier][1]) if tier in rows else 0.0)
            if total
            else None,
        }
        for tier in _ordered(set(rows), ACTIVITY_ORDER)
    ]
    behaviour: list[dict[str, Any]] = []
    if has_behaviour:
        for tier in _ordered(set(rows), ACTIVITY_ORDER):
            if tier not in rows:
                continue
            _, _, sessions, minutes, ctr = rows[tier]
            behaviour.append(
                {
                    "activity_tier": display_label(tier),
                    "mean_sessions_90d": as_ratio(sessions, 4),
                    "mean_browse_minutes_90d": as_ratio(minutes, 4),
                    "mean_ctr_90d": as_ratio(ctr, 6),
                }
            )
    return {
        "has_behaviour_data": has_behaviour,
        "tiers": tiers,
        "total_users": total,
        "behaviour": behaviour,
    }


def load_playbook(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Each primary segment's size and its recommended use."""
    rows = _rows(
        connection,
        "select segment, user_count, user_share, description, marketing,"
        f" service, product from {_mart('segments')}"
        " order by user_count desc, segment",
    )
    keys = ("description", "marketing", "service", "product")
    return {
        "segments": [
            {
                "segment": segment,
                "user_count": int(count),
                "user_share": as_ratio(share),
                **dict(zip(keys, uses, strict=True)),
            }
            for segment, count, share, *uses in rows
        ]
    }
