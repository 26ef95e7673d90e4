"""Loaders: read-only queries on the marts returning JSON-ready dicts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np

from segmentation.report.formatting import (
    as_float,
    as_money,
    as_ratio,
    display_label,
)

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
    "cluster_rules": "cluster_rules",
    "activity": "activity_tiers",
    "lifecycle": "monthly_lifecycle",
    "arpu": "monthly_arpu",
    "profiles": "user_profiles",
    "user_clusters": "user_clusters",
    "user_segments": "user_segments",
    "holdout": "clv_holdout_comparison",
    "clv_fits": "clv_model_fits",
    "history": "primary_segment_sizes_over_time",
    "migrations": "segment_migrations",
    "stability": "segment_stability",
    "campaigns": "campaigns",
    "campaign_results": "campaign_results",
    "campaign_overlaps": "campaign_overlaps",
    "segment_conversion": "segment_conversion_monthly",
    "propensity_evaluation": "propensity_evaluation",
    "propensity_deciles": "propensity_deciles",
    "propensity_calibration": "propensity_calibration",
    "propensity_importance": "propensity_feature_importance",
    "category_affinity": "segment_category_affinity",
    "association_rules": "category_association_rules",
    "next_best_evaluation": "next_best_category_evaluation",
    "next_best": "user_next_best_categories",
    "lookalike_scores": "lookalike_scores",
    "lookalike_evaluation": "lookalike_evaluation",
    "funnels": "segment_funnels",
    "session_paths": "session_paths",
    "segment_behaviour": "segment_behaviour",
}
# The dbt model of a table the report reads, where the two names differ (a
# model alias): marts.campaigns is the model campaign_overview, because the
# demo seed of the raw campaigns table is named campaigns.
MODEL_OF_TABLE = {"campaigns": "campaign_overview"}
# The history and campaign marts are newer than some warehouses: a warehouse
# built before them lacks them, and the report and summary say so instead of
# failing.
OPTIONAL_ROLES = (
    "history",
    "migrations",
    "stability",
    "campaigns",
    "campaign_results",
    "campaign_overlaps",
    "segment_conversion",
    "propensity_evaluation",
    "propensity_deciles",
    "propensity_calibration",
    "propensity_importance",
    "cluster_rules",
    "category_affinity",
    "association_rules",
    "next_best_evaluation",
    "next_best",
    "lookalike_scores",
    "lookalike_evaluation",
    "funnels",
    "session_paths",
    "segment_behaviour",
)
# The campaign statuses of marts.campaigns, in the order shown.
CAMPAIGN_STATUSES = ("running", "ended", "scheduled")
# The target_segment of marts.campaign_results that holds a campaign's whole
# audience (every target segment together).
ALL_SEGMENTS = "(all)"
# The measures of one group (treatment or holdout) in marts.campaign_results.
GROUP_MEASURES = (
    "users",
    "converters",
    "conversion_rate",
    "orders",
    "revenue",
    "revenue_per_user",
)
# The comparison of the treatment with its holdout, on the treatment row of
# marts.campaign_results only.
COMPARISON_MEASURES = (
    "conversion_lift",
    "conversion_lift_lower",
    "conversion_lift_upper",
    "conversion_lift_relative",
    "conversion_lift_relative_lower",
    "conversion_lift_relative_upper",
    "conversion_p_value",
    "revenue_per_user_lift",
    "revenue_per_user_lift_lower",
    "revenue_per_user_lift_upper",
    "revenue_per_user_p_value",
    "sample_ratio_p_value",
    "is_sample_ratio_mismatch",
    "minimum_detectable_lift",
    "is_interim",
    "verdict",
)
# Money-valued measures among the above (rounded to cents).
MONEY_MEASURES = {
    "revenue",
    "revenue_per_user",
    "revenue_per_user_lift",
    "revenue_per_user_lift_lower",
    "revenue_per_user_lift_upper",
}
# The dimensions the migration matrices show, in the order shown.
MIGRATION_DIMENSIONS = ("primary_segment", "rfm_segment")
# Markers of segment_migrations: users who joined between the two dates come
# from NEW, users who left go to GONE, and NONE stands for no value (RFM
# segment and cluster of users who never purchased).
NEW, GONE, NONE = "(new)", "(gone)", "(none)"
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
        # Imported here: the summary of make run reads the migration loader
        # and need not load scikit-learn for it.
        from sklearn.decomposition import PCA

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
    return {
        "clusters": clusters,
        "scatter": scatter,
        "rules": load_cluster_rules(connection),
    }


def load_cluster_rules(connection: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The readable rules of every cluster (marts.cluster_rules) and the
    tree's agreement with the clusters; None when the warehouse predates
    the mart."""
    if not has_mart(connection, "cluster_rules"):
        return None
    rows = _rows(
        connection,
        "select cluster_id, cluster_label, rule_rank, rule, users_in_rule,"
        " cluster_users_in_rule, rule_precision, rule_coverage, cluster_users,"
        " cluster_rule_coverage, tree_agreement, no_rule_reason"
        f" from {_mart('cluster_rules')} order by cluster_id, rule_rank",
    )
    rules = [
        {
            "cluster_id": int(cluster_id),
            "cluster_label": label,
            "rule_rank": None if rank is None else int(rank),
            "rule": rule,
            "users_in_rule": int(users),
            "cluster_users_in_rule": int(in_cluster),
            "rule_precision": as_ratio(precision, 4),
            "rule_coverage": as_ratio(coverage, 4),
            "cluster_users": int(cluster_users),
            "cluster_rule_coverage": as_ratio(cluster_coverage, 4),
            "no_rule_reason": reason,
        }
        for (
            cluster_id,
            label,
            rank,
            rule,
            users,
            in_cluster,
            precision,
            coverage,
            cluster_users,
            cluster_coverage,
            _,
            reason,
        ) in rows
    ]
    agreement = as_ratio(rows[0][10], 4) if rows else None
    return {"tree_agreement": agreement, "rules": rules}


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


def has_mart(connection: duckdb.DuckDBPyConnection, role: str) -> bool:
    """Whether the warehouse holds the mart of ``role`` (see OPTIONAL_ROLES)."""
    return bool(
        _rows(
            connection,
            "select 1 from information_schema.tables"
            f" where table_schema = '{MARTS_SCHEMA}'"
            f" and table_name = '{TABLES[role]}'",
        )
    )


def load_segment_history(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Users per primary segment at every as-of date of the history (the
    roll-up marts.primary_segment_sizes_over_time).

    Segments run largest first at the latest date; a segment absent at a
    date counts 0 there. ``has_history`` is false on a warehouse built
    before the history mart existed.
    """
    if not has_mart(connection, "history"):
        return {"has_history": False, "dates": [], "segments": [], "totals": []}
    rows = _rows(
        connection,
        "select as_of_date, primary_segment, user_count"
        f" from {_mart('history')} order by 1, 2",
    )
    dates = sorted({str(as_of_date) for as_of_date, _, _ in rows})
    counts = {(str(as_of_date), segment): int(n) for as_of_date, segment, n in rows}
    latest = dates[-1] if dates else None
    names = sorted(
        {segment for _, segment, _ in rows},
        key=lambda segment: (-counts.get((latest, segment), 0), segment),
    )
    return {
        "has_history": True,
        "dates": dates,
        "segments": [
            {
                "segment": segment,
                "user_counts": [counts.get((date, segment), 0) for date in dates],
            }
            for segment in names
        ],
        "totals": [
            sum(counts.get((date, segment), 0) for segment in names) for date in dates
        ],
    }


def _by_size(sizes: dict[str, int]) -> list[str]:
    """Segment labels largest first (markers left out)."""
    plain = (label for label in sizes if label not in (NEW, GONE, NONE))
    return sorted(plain, key=lambda label: (-sizes[label], label))


def _matrix_axes(
    from_sizes: dict[str, int], to_sizes: dict[str, int]
) -> tuple[list[str], list[str]]:
    """Rows: from-segments largest first, then (none) and (new). Columns:
    the rows' segments in the same order, so users who stayed run down the
    diagonal, then segments only the later date has, (none) and (gone)."""
    sources = _by_size(from_sizes) + [m for m in (NONE, NEW) if m in from_sizes]
    targets = [label for label in sources if label in to_sizes]
    targets += [label for label in _by_size(to_sizes) if label not in targets]
    targets += [m for m in (NONE, GONE) if m in to_sizes and m not in targets]
    return sources, targets


def latest_migrations(
    connection: duckdb.DuckDBPyConnection, dimensions: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The rows of segment_migrations for the latest pair of as-of dates:
    (dimension, from_as_of_date, to_as_of_date, from_segment, to_segment,
    user_count, from_segment_share, revenue_between, is_stayed). Empty when
    the mart is missing or the history has fewer than two dates."""
    if not has_mart(connection, "migrations"):
        return []
    placeholders = ", ".join("?" for _ in dimensions)
    return connection.execute(
        "select dimension, from_as_of_date, to_as_of_date, from_segment,"
        " to_segment, user_count, from_segment_share, revenue_between, is_stayed"
        f" from {_mart('migrations')}"
        f" where dimension in ({placeholders})"
        f" and to_as_of_date = (select max(to_as_of_date) from {_mart('migrations')})"
        " order by dimension, user_count desc, from_segment, to_segment",
        list(dimensions),
    ).fetchall()


def _migration_matrix(
    dimension: str, cells: dict[tuple[str, str], tuple[Any, ...]]
) -> dict[str, Any]:
    """One dimension's matrices from its cells (from, to) -> (user_count,
    from_segment_share, revenue_between, is_stayed)."""
    from_sizes: dict[str, int] = {}
    to_sizes: dict[str, int] = {}
    for (source, target), (count, *_) in cells.items():
        from_sizes[source] = from_sizes.get(source, 0) + int(count)
        to_sizes[target] = to_sizes.get(target, 0) + int(count)
    sources, targets = _matrix_axes(from_sizes, to_sizes)
    empty = (0, None, 0, False)

    def grid(position: int) -> list[list[Any]]:
        return [
            [cells.get((source, target), empty)[position] for target in targets]
            for source in sources
        ]

    return {
        "dimension": dimension,
        "from_segments": sources,
        "to_segments": targets,
        "users": [[int(value) for value in row] for row in grid(0)],
        "from_segment_shares": [
            [None if source == NEW else as_ratio(value) or 0.0 for value in row]
            for source, row in zip(sources, grid(1), strict=True)
        ],
        "revenue_between": [
            [as_money(value) or 0.0 for value in row] for row in grid(2)
        ],
        "stayed": [[bool(value) for value in row] for row in grid(3)],
        "from_sizes": [from_sizes[source] for source in sources],
        "to_sizes": [to_sizes[target] for target in targets],
    }


def _stability(
    connection: duckdb.DuckDBPyConnection, to_date: object
) -> dict[str, dict[str, Any]]:
    """Per dimension of MIGRATION_DIMENSIONS, from segment_stability for the
    pair of dates ending at ``to_date``: the share of the users present at
    both dates who stayed in their segment, and the segments whose share
    moved more than var segment_drift_max_points (largest move first)."""
    if not has_mart(connection, "stability"):
        return {}
    placeholders = ", ".join("?" for _ in MIGRATION_DIMENSIONS)
    found: dict[str, dict[str, Any]] = {}
    for dimension, segment, stayed, points, drifted in connection.execute(
        "select dimension, segment, dimension_stayed_share, share_change_points,"
        f" is_drifted from {_mart('stability')}"
        f" where dimension in ({placeholders}) and to_as_of_date = ?"
        " order by dimension, abs(share_change_points) desc, segment",
        [*MIGRATION_DIMENSIONS, to_date],
    ).fetchall():
        entry = found.setdefault(
            dimension, {"stayed_share": as_ratio(stayed), "drifted": []}
        )
        if drifted:
            entry["drifted"].append(
                {"segment": segment, "share_change_points": as_ratio(points, 2)}
            )
    return found


def load_migrations(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Migration matrices (rows from, columns to) of the latest two dates.

    Per dimension of MIGRATION_DIMENSIONS: users, their share of the
    from-segment and the revenue they brought between the dates; an empty
    cell holds 0 users, share 0 and revenue 0, and the (new) row has no share
    (None); from segment_stability, the share of users who stayed
    (``stayed_share``) and the drifted segments. ``has_migrations`` is false
    on a warehouse built before the migrations mart existed; ``dimensions``
    is empty when the history has fewer than two dates.
    """
    rows = latest_migrations(connection, MIGRATION_DIMENSIONS)
    if not rows:
        return {
            "has_migrations": has_mart(connection, "migrations"),
            "from_as_of_date": None,
            "to_as_of_date": None,
            "dimensions": [],
        }
    to_date = rows[0][2]
    stability = _stability(connection, to_date)
    dimensions = [
        _migration_matrix(
            dimension,
            {(row[3], row[4]): tuple(row[5:]) for row in rows if row[0] == dimension},
        )
        | stability.get(dimension, {"stayed_share": None, "drifted": []})
        for dimension in MIGRATION_DIMENSIONS
    ]
    return {
        "has_migrations": True,
        "from_as_of_date": str(rows[0][1]),
        "to_as_of_date": str(rows[0][2]),
        "dimensions": dimensions,
    }


def load_clv(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Predicted CLV and probability alive per primary segment, the
    transaction model behind them with the reason it was chosen (None when
    no model could be used: historical LTV), and, in calibration and
    holdout mode, the holdout comparison (load_clv_holdout).

    Segments run largest first; a segment without purchasers has no CLV
    (None).
    """
    chosen = _rows(
        connection,
        f"select model, choice_reason from {_mart('clv_fits')} where is_chosen",
    )
    rows = _rows(
        connection,
        "select segments.primary_segment, count(*),"
        " count(profiles.predicted_clv), avg(profiles.predicted_clv),"
        " median(profiles.predicted_clv), avg(profiles.probability_alive),"
        " sum(profiles.predicted_clv)"
        f" from {_mart('user_segments')} as segments"
        f" inner join {_mart('profiles')} as profiles"
        " on segments.user_id = profiles.user_id"
        " group by 1 order by 2 desc, 1",
    )
    segments = [
        {
            "segment": segment,
            "user_count": int(users),
            "users_with_clv": int(with_clv),
            "mean_predicted_clv": as_money(mean_clv),
            "median_predicted_clv": as_money(median_clv),
            "mean_probability_alive": as_ratio(alive, 4),
            "total_predicted_clv": as_money(total_clv),
        }
        for segment, users, with_clv, mean_clv, median_clv, alive, total_clv in rows
    ]
    return {
        "model": chosen[0][0] if chosen else None,
        "choice_reason": chosen[0][1] if chosen else None,
        "segments": segments,
        "holdout": load_clv_holdout(connection),
    }


def load_clv_holdout(connection: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The holdout comparison per calibration frequency bucket and in total
    (the last bucket, ``is_total``), or None when calibration and holdout
    mode is off (clv_holdout_comparison has no rows)."""
    rows = _rows(
        connection,
        "select calibration_frequency_bucket, is_total, customers,"
        " actual_purchases, predicted_purchases, actual_purchases_per_customer,"
        " predicted_purchases_per_customer, purchases_error_share,"
        " actual_revenue, predicted_revenue, calibration_end_date,"
        f" holdout_end_date, time_unit from {_mart('holdout')}"
        " order by bucket_order",
    )
    if not rows:
        return None
    return {
        "calibration_end_date": str(rows[0][10]),
        "holdout_end_date": str(rows[0][11]),
        "time_unit": rows[0][12],
        "buckets": [
            {
                "bucket": row[0],
                "is_total": bool(row[1]),
                "customers": int(row[2]),
                "actual_purchases": int(row[3]),
                "predicted_purchases": as_ratio(row[4], 4),
                "actual_purchases_per_customer": as_ratio(row[5], 4),
                "predicted_purchases_per_customer": as_ratio(row[6], 4),
                "purchases_error_share": as_ratio(row[7], 4),
                "actual_revenue": as_money(row[8]),
                "predicted_revenue": as_money(row[9]),
            }
            for row in rows
        ],
    }


def _json_value(name: str, value: Any) -> Any:
    """A mart value as JSON: dates and text as text, counts as int, money
    to cents, other numbers as ratios, flags as bool, lists as lists."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(name, item) for item in value]
    if isinstance(value, int):
        return int(value)
    if hasattr(value, "isoformat"):
        return str(value)
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return None
    return as_money(number) if name in MONEY_MEASURES else as_ratio(number, 8)


def _records(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    cursor = connection.execute(sql, list(parameters))
    names = [column[0] for column in cursor.description]
    return [
        {name: _json_value(name, value) for name, value in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


CAMPAIGN_COLUMNS = (
    "campaign_id",
    "campaign_name",
    "channel",
    "priority",
    "target_primary_segments",
    "target_rfm_segments",
    "target_lifecycle_stages",
    "target_value_tiers",
    "start_date",
    "end_date",
    "campaign_end_date",
    "conversion_window_end",
    "holdout_share",
    "campaign_status",
    "is_interim",
    "eligibility_as_of_date",
    "eligible_users",
    "users_eligible_elsewhere",
    "excluded_users",
    "treatment_users",
    "holdout_users",
    "realised_holdout_share",
    "status_note",
)


def _group(row: dict[str, Any]) -> dict[str, Any]:
    """One group's measures, with the 95% Wilson score interval of its
    conversion rate (the interval the lift's Newcombe interval combines,
    from segmentation.methods.campaigns: computed there once)."""
    # Imported here: scipy is only loaded when a warehouse has campaigns.
    from segmentation.methods.campaigns import wilson_interval

    interval = None
    if row["users"] is not None and row["converters"] is not None:
        interval = wilson_interval(int(row["converters"]), int(row["users"]))
    lower, upper = interval if interval else (None, None)
    return {name: row[name] for name in GROUP_MEASURES} | {
        "conversion_rate_lower": as_ratio(lower, 8),
        "conversion_rate_upper": as_ratio(upper, 8),
    }


def _campaign_results(
    connection: duckdb.DuckDBPyConnection,
) -> dict[str, list[dict[str, Any]]]:
    """Per campaign id, its rows of marts.campaign_results paired by target
    segment: the whole audience ('(all)') first, then the segments largest
    first; each with the treatment and holdout measures and the comparison
    (read from the treatment row)."""
    if not has_mart(connection, "campaign_results"):
        return {}
    rows = _records(
        connection,
        "select campaign_id, target_segment, campaign_group, "
        + ", ".join(GROUP_MEASURES + COMPARISON_MEASURES)
        + f" from {_mart('campaign_results')}"
        " where campaign_group in ('treatment', 'holdout')"
        " order by campaign_id, target_segment, campaign_group",
    )
    paired: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["campaign_id"], row["target_segment"])
        entry = paired.setdefault(
            key,
            {
                "target_segment": row["target_segment"],
                "treatment": None,
                "holdout": None,
            },
        )
        entry[row["campaign_group"]] = _group(row)
        if row["campaign_group"] == "treatment":
            entry.update({name: row[name] for name in COMPARISON_MEASURES})
    found: dict[str, list[dict[str, Any]]] = {}
    for (campaign_id, _), entry in paired.items():
        for name in COMPARISON_MEASURES:
            entry.setdefault(name, None)
        found.setdefault(campaign_id, []).append(entry)

    def order(entry: dict[str, Any]) -> tuple[bool, int, str]:
        users = sum(
            (entry[group] or {}).get("users") or 0 for group in ("treatment", "holdout")
        )
        return (
            entry["target_segment"] != ALL_SEGMENTS,
            -users,
            entry["target_segment"],
        )

    return {key: sorted(entries, key=order) for key, entries in found.items()}


def load_campaigns(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every defined campaign (marts.campaigns) with its status, window,
    sizes before and after priority and, once measured, its results per
    target segment (marts.campaign_results); and the overlapping pairs of
    same-channel campaigns (marts.campaign_overlaps).

    Campaigns run by start date, then priority (none last) and id.
    ``has_campaigns`` is false on a warehouse built before the campaign
    marts existed; ``status_counts`` counts campaigns per status.
    """
    if not has_mart(connection, "campaigns"):
        return {
            "has_campaigns": False,
            "status_counts": {status: 0 for status in CAMPAIGN_STATUSES},
            "campaigns": [],
            "overlaps": [],
        }
    campaigns = _records(
        connection,
        f"select {', '.join(CAMPAIGN_COLUMNS)} from {_mart('campaigns')}"
        " order by start_date, priority nulls last, campaign_id",
    )
    results = _campaign_results(connection)
    for campaign in campaigns:
        campaign["results"] = results.get(campaign["campaign_id"], [])
    overlaps = (
        _records(
            connection,
            "select campaign_id, other_campaign_id, channel,"
            " users_eligible_for_both, users_assigned_to_both"
            f" from {_mart('campaign_overlaps')}"
            " order by channel, campaign_id, other_campaign_id",
        )
        if has_mart(connection, "campaign_overlaps")
        else []
    )
    counts = {status: 0 for status in CAMPAIGN_STATUSES}
    for campaign in campaigns:
        status = campaign["campaign_status"]
        counts[status] = counts.get(status, 0) + 1
    return {
        "has_campaigns": True,
        "status_counts": counts,
        "campaigns": campaigns,
        "overlaps": overlaps,
    }


def load_segment_conversion(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Conversion rate and revenue per user per primary segment and month
    (marts.segment_conversion_monthly), months oldest first, segments
    largest first in the latest month; a segment absent in a month has no
    value there (None). ``has_segment_conversion`` is false on a warehouse
    built before the mart existed."""
    if not has_mart(connection, "segment_conversion"):
        return {
            "has_segment_conversion": False,
            "months": [],
            "is_partial_month": [],
            "segments": [],
        }
    rows = _records(
        connection,
        "select month_start, primary_segment, users, converters, conversion_rate,"
        " orders, revenue, revenue_per_user, is_partial_month, campaign_users"
        f" from {_mart('segment_conversion')} order by month_start, primary_segment",
    )
    months = sorted({row["month_start"] for row in rows})
    partial = {row["month_start"]: bool(row["is_partial_month"]) for row in rows}
    cells = {(row["month_start"], row["primary_segment"]): row for row in rows}
    latest = months[-1] if months else None
    names = sorted(
        {row["primary_segment"] for row in rows},
        key=lambda name: (-((cells.get((latest, name)) or {}).get("users") or 0), name),
    )
    measures = (
        "users",
        "converters",
        "conversion_rate",
        "orders",
        "revenue",
        "revenue_per_user",
        "campaign_users",
    )
    return {
        "has_segment_conversion": True,
        "months": months,
        "is_partial_month": [partial[month] for month in months],
        "segments": [
            {
                "segment": name,
                **{
                    measure: [
                        (cells.get((month, name)) or {}).get(measure)
                        for month in months
                    ]
                    for measure in measures
                },
            }
            for name in names
        ],
    }


# The propensity marts (models/marts/propensity): the evaluation of every
# window (one row per model, fallback windows one row per classifier), lift
# and capture by decile, calibration bins and permutation importance. A
# window is one (window_kind, label, horizon_days).
PROPENSITY_WINDOW_KEY = ("window_kind", "label", "horizon_days")
PROPENSITY_WINDOW_COLUMNS = (
    "status",
    "fallback_reason",
    "fallback_note",
    "train_snapshot_date",
    "eval_snapshot_date",
    "eval_label_end_date",
    "eval_label_days",
    "train_rows",
    "eval_rows",
    "eval_positives",
    "base_rate",
    "best_ranker_roc_auc",
)
PROPENSITY_MODEL_COLUMNS = (
    "model",
    "model_kind",
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier_score",
    "top_decile_lift",
    "top_decile_capture",
    "roc_auc_gain_over_best_ranker",
    "is_scoring_model",
)
# The score columns of marts.user_profiles, per label (the scoring window's
# label), and the tiers of propensity_tier in the order shown.
PROPENSITY_SCORES = {"will_purchase": "purchase_propensity", "will_churn": "churn_risk"}
PROPENSITY_TIERS = ("high", "medium", "low")
# Features of the permutation importance shown per window, most important
# first.
PROPENSITY_TOP_FEATURES = 10


def _by_window(rows: Sequence[dict[str, Any]]) -> dict[tuple, list[dict[str, Any]]]:
    """Rows grouped by window key, the rows' order kept."""
    found: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        key = tuple(row[name] for name in PROPENSITY_WINDOW_KEY)
        found.setdefault(key, []).append(
            {
                name: value
                for name, value in row.items()
                if name not in PROPENSITY_WINDOW_KEY
            }
        )
    return found


def _propensity_scores(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Users scored per score column of marts.user_profiles and users per
    propensity tier (none of them on a warehouse built before the scores)."""
    columns = {
        name
        for (name,) in _rows(
            connection,
            "select column_name from information_schema.columns"
            f" where table_schema = '{MARTS_SCHEMA}'"
            f" and table_name = '{TABLES['profiles']}'",
        )
    }
    scored = {
        score: (
            int(
                _rows(
                    connection,
                    f"select count({score}) from {_mart('profiles')}",
                )[0][0]
            )
            if score in columns
            else None
        )
        for score in PROPENSITY_SCORES.values()
    }
    tiers = (
        dict(
            _rows(
                connection,
                "select propensity_tier, count(*)"
                f" from {_mart('profiles')} where propensity_tier is not null"
                " group by 1",
            )
        )
        if "propensity_tier" in columns
        else {}
    )
    return {
        "users": int(
            _rows(connection, f"select count(*) from {_mart('profiles')}")[0][0]
        ),
        "scored_users": scored,
        "tier_users": {tier: int(tiers.get(tier, 0)) for tier in PROPENSITY_TIERS},
    }


def load_propensity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every propensity window of marts.propensity_evaluation with its
    status (and, for a fallback, the reason and the note saying what to
    do), its dates and row counts, and its models: classifiers first, then
    the rankers users already have (probability alive, RFM score), each
    with its ranking metrics; per ready window the lift and capture by
    decile (marts.propensity_deciles), the calibration bins of the
    classifiers (marts.propensity_calibration) and the most important
    features (marts.propensity_feature_importance, top
    PROPENSITY_TOP_FEATURES); and the users scored in marts.user_profiles.

    Windows run out of time first, then the calibration holdout, labels
    will_purchase before will_churn, shorter horizons first. A scoring
    window (``is_scoring_window``) is one whose model scores the users
    (a row with is_scoring_model). ``has_propensity`` is false on a
    warehouse built before the propensity marts existed.
    """
    if not has_mart(connection, "propensity_evaluation"):
        return {"has_propensity": False, "windows": [], "scores": None}
    order = "window_kind <> 'out_of_time', window_kind, label desc, horizon_days"
    evaluation = _records(
        connection,
        "select "
        + ", ".join(
            PROPENSITY_WINDOW_KEY + PROPENSITY_WINDOW_COLUMNS + PROPENSITY_MODEL_COLUMNS
        )
        + f" from {_mart('propensity_evaluation')}"
        f" order by {order}, model_kind, roc_auc desc nulls last, model",
    )
    deciles = _by_window(
        _records(
            connection,
            "select window_kind, label, horizon_days, model, decile, users,"
            " positives, positive_rate, lift, cumulative_positives,"
            f" cumulative_capture from {_mart('propensity_deciles')}"
            f" order by {order}, model, decile",
        )
        if has_mart(connection, "propensity_deciles")
        else []
    )
    calibration = _by_window(
        _records(
            connection,
            "select window_kind, label, horizon_days, model, bin, users,"
            " mean_predicted_probability, observed_rate"
            f" from {_mart('propensity_calibration')}"
            f" order by {order}, model, bin",
        )
        if has_mart(connection, "propensity_calibration")
        else []
    )
    importance = _by_window(
        _records(
            connection,
            "select window_kind, label, horizon_days, model, feature,"
            " importance_mean, importance_std, importance_rank"
            f" from {_mart('propensity_importance')}"
            f" where importance_rank <= {PROPENSITY_TOP_FEATURES}"
            f" order by {order}, model, importance_rank, feature",
        )
        if has_mart(connection, "propensity_importance")
        else []
    )
    windows = []
    for key, rows in _by_window(evaluation).items():
        window = dict(zip(PROPENSITY_WINDOW_KEY, key, strict=True))
        window |= {name: rows[0][name] for name in PROPENSITY_WINDOW_COLUMNS}
        window["is_scoring_window"] = any(row["is_scoring_model"] for row in rows)
        window["models"] = [
            {name: row[name] for name in PROPENSITY_MODEL_COLUMNS} for row in rows
        ]
        window["deciles"] = _by_model(deciles.get(key, []))
        window["calibration"] = _by_model(calibration.get(key, []))
        window["importance"] = importance.get(key, [])
        windows.append(window)
    return {
        "has_propensity": True,
        "windows": windows,
        "scores": _propensity_scores(connection),
    }


def is_featured_window(window: dict[str, Any]) -> bool:
    """Whether the report draws a window's charts and the summary prints
    it: a scoring window (its model scores the users) or a window of the
    calibration holdout (the validation mode of var clv_calibration_end_date)."""
    return bool(
        window["is_scoring_window"] or window["window_kind"] == "calibration_holdout"
    )


def _by_model(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A window's rows grouped by model, the model column left out."""
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["model"], []).append(
            {name: value for name, value in row.items() if name != "model"}
        )
    return found


# ---------------------------------------------------------------------------
# Behaviour and affinity (issue 17): category affinity, next-best category,
# lookalikes, funnels and paths.

# Association rules the report and the summary show, strongest lift first.
AFFINITY_TOP_RULES = 10
AFFINITY_COLUMNS = (
    "primary_segment",
    "product_category",
    "users",
    "purchasers",
    "purchaser_share",
    "revenue",
    "segment_spend_share",
    "population_spend_share",
    "lift",
    "purchaser_share_lift",
)
RULE_COLUMNS = (
    "antecedent",
    "consequent",
    "users_with_both",
    "support",
    "antecedent_support",
    "consequent_support",
    "confidence",
    "lift",
)


def _segment_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The primary segments of ``rows`` (each with ``primary_segment`` and
    ``users``) largest first, ties by name."""
    users: dict[str, int] = {}
    for row in rows:
        users[row["primary_segment"]] = max(
            users.get(row["primary_segment"], 0), row["users"] or 0
        )
    return sorted(users, key=lambda segment: (-users[segment], str(segment)))


def load_affinity(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Category affinity per primary segment (marts.segment_category_affinity)
    as segment x category matrices of lift and purchaser share, and the
    strongest association rules between categories
    (marts.category_association_rules, top AFFINITY_TOP_RULES by lift, then
    confidence).

    Segments run largest first; categories by their share of all revenue,
    largest first (ties by name); a segment x category pair without a row
    holds None. ``has_affinity`` is false on a warehouse built before the
    affinity marts; ``rule_count`` counts every rule above the minimum
    support.
    """
    if not has_mart(connection, "category_affinity"):
        return {
            "has_affinity": False,
            "segments": [],
            "categories": [],
            "lift": [],
            "purchaser_share": [],
            "rules": [],
            "rule_count": 0,
        }
    rows = _records(
        connection,
        f"select {', '.join(AFFINITY_COLUMNS)} from {_mart('category_affinity')}"
        " order by primary_segment, product_category",
    )
    shares: dict[str, float] = {}
    for row in rows:
        shares[row["product_category"]] = row["population_spend_share"] or 0.0
    categories = sorted(shares, key=lambda name: (-shares[name], str(name)))
    segments = _segment_order(rows)
    cells = {(row["primary_segment"], row["product_category"]): row for row in rows}

    def matrix(measure: str) -> list[list[Any]]:
        return [
            [
                (cells.get((segment, category)) or {}).get(measure)
                for category in categories
            ]
            for segment in segments
        ]

    users = {row["primary_segment"]: row["users"] for row in rows}
    rules: list[dict[str, Any]] = []
    rule_count = 0
    if has_mart(connection, "association_rules"):
        rule_count = int(
            _rows(connection, f"select count(*) from {_mart('association_rules')}")[0][
                0
            ]
        )
        rules = _records(
            connection,
            f"select {', '.join(RULE_COLUMNS)} from {_mart('association_rules')}"
            " order by lift desc, confidence desc, antecedent, consequent"
            f" limit {AFFINITY_TOP_RULES}",
        )
    return {
        "has_affinity": True,
        "segments": [
            {"segment": segment, "users": users[segment]} for segment in segments
        ],
        "categories": [
            {"category": category, "population_spend_share": shares[category]}
            for category in categories
        ],
        "lift": matrix("lift"),
        "purchaser_share": matrix("purchaser_share"),
        "rules": rules,
        "rule_count": rule_count,
    }


NEXT_BEST_COLUMNS = (
    "method",
    "k",
    "users_evaluated",
    "hits",
    "hit_rate",
    "coverage",
    "categories",
    "repeat_buyers",
    "repeat_buyers_last_category_known",
)
# The method that recommends, and the baseline it must beat, as in
# marts.next_best_category_evaluation.
NEXT_BEST_METHOD = "item_item"
NEXT_BEST_BASELINE = "popularity"
# Rank-1 categories shown (most recommended first).
NEXT_BEST_TOP_CATEGORIES = 10


def load_next_best(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The offline evaluation of next-best category
    (marts.next_best_category_evaluation: per method and k, hit rate and
    coverage on the repeat buyers whose last purchase was a new category)
    and the recommendations (marts.user_next_best_categories): users with
    one, and how often each category is the first recommendation.

    ``ks`` are the evaluated k, smallest first; ``methods`` the methods,
    the recommending one first. ``has_next_best`` is false on a warehouse
    built before these marts.
    """
    if not has_mart(connection, "next_best_evaluation"):
        return {
            "has_next_best": False,
            "ks": [],
            "methods": [],
            "evaluation": [],
            "recommended_users": 0,
            "top_categories": [],
        }
    evaluation = _records(
        connection,
        f"select {', '.join(NEXT_BEST_COLUMNS)}"
        f" from {_mart('next_best_evaluation')}"
        f" order by k, method <> '{NEXT_BEST_METHOD}', method",
    )
    methods = list(dict.fromkeys(row["method"] for row in evaluation))
    recommended, top = 0, []
    if has_mart(connection, "next_best"):
        recommended = int(
            _rows(
                connection, f"select count(distinct user_id) from {_mart('next_best')}"
            )[0][0]
        )
        top = _records(
            connection,
            "select product_category, count(*) as users"
            f" from {_mart('next_best')} where recommendation_rank = 1"
            f" group by 1 order by 2 desc, 1 limit {NEXT_BEST_TOP_CATEGORIES}",
        )
    return {
        "has_next_best": True,
        "ks": sorted({row["k"] for row in evaluation}),
        "methods": methods,
        "evaluation": evaluation,
        "recommended_users": recommended,
        "top_categories": top,
    }


def next_best_hit_rates(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Per k, the evaluation row of each method (load_next_best's rows
    keyed k -> method -> row)."""
    found: dict[int, dict[str, Any]] = {}
    for row in data["evaluation"]:
        found.setdefault(row["k"], {})[row["method"]] = row
    return found


# The columns of marts.lookalike_evaluation repeated on every row: the
# evaluation (fitted at snapshot_date, checked at evaluated_at) and the
# scoring of today's users (scoring_*), each with its status and, when it
# fell back, the reason and a note saying what to do.
LOOKALIKE_SUMMARY_COLUMNS = (
    "seed_column",
    "seed_value",
    "snapshot_date",
    "evaluated_at",
    "horizon_days",
    "status",
    "fallback_reason",
    "note",
    "seed_users_at_snapshot",
    "non_members_at_snapshot",
    "overall_join_rate",
    "top_decile_join_rate",
    "bottom_half_join_rate",
    "scoring_status",
    "scoring_fallback_reason",
    "scoring_note",
    "seed_users",
    "non_members",
    "audience_users",
)
# Per decile of the evaluation (null decile on a fallback row).
LOOKALIKE_DECILE_COLUMNS = ("lookalike_decile", "users", "joined", "join_rate", "lift")


def load_lookalike(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Lookalikes of the seed audience (var lookalike_seed), from
    marts.lookalike_evaluation: the seed and its size, the status of the
    scoring of today's users and of the evaluation (with the reason and
    the note saying what to do when one fell back), and the join rate and
    lift per decile of the earlier snapshot's scores, and the audience
    size; from marts.lookalike_scores, the users scored and those of them
    who accept marketing.

    ``deciles`` run 1 (most similar) to 10 and are empty when the
    evaluation fell back. ``has_lookalike`` is false on a warehouse built
    before the lookalike marts.
    """
    found: dict[str, Any] = {
        "has_lookalike": has_mart(connection, "lookalike_evaluation"),
        **{name: None for name in LOOKALIKE_SUMMARY_COLUMNS},
        "deciles": [],
        "scored_users": 0,
        "opted_in_users": 0,
    }
    if not found["has_lookalike"]:
        return found
    rows = _records(
        connection,
        "select "
        + ", ".join(LOOKALIKE_SUMMARY_COLUMNS + LOOKALIKE_DECILE_COLUMNS)
        + f" from {_mart('lookalike_evaluation')} order by lookalike_decile",
    )
    if rows:
        found |= {name: rows[0][name] for name in LOOKALIKE_SUMMARY_COLUMNS}
    found["deciles"] = [
        {name: row[name] for name in LOOKALIKE_DECILE_COLUMNS}
        for row in rows
        if row["lookalike_decile"] is not None
    ]
    if has_mart(connection, "lookalike_scores"):
        scored, opted_in = _rows(
            connection,
            "select count(*), count(*) filter (where marketing_opt_in)"
            f" from {_mart('lookalike_scores')}",
        )[0]
        found |= {"scored_users": int(scored), "opted_in_users": int(opted_in)}
    return found


# Top session paths shown (marts.session_paths holds var session_paths_top_n).
FUNNEL_BEHAVIOUR_COLUMNS = (
    "primary_segment",
    "users",
    "users_with_events",
    "sessions",
    "impressions",
    "clicks",
    "ctr",
    "add_to_cart_sessions",
    "checkout_sessions",
    "purchase_sessions",
    "session_purchase_rate",
    "events_without_session",
)
PATH_COLUMNS = (
    "path_rank",
    "path",
    "steps",
    "sessions",
    "session_share",
    "purchase_sessions",
    "purchase_rate",
)


def funnel_totals(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Sessions reaching each funnel step, every segment and month of
    marts.segment_funnels together (counts summed; no rate), steps in
    funnel order; empty without the mart or without events."""
    if not has_mart(connection, "funnels"):
        return []
    return _records(
        connection,
        "select step_number, step, sum(sessions) as sessions,"
        " sum(events_without_session) as events_without_session"
        f" from {_mart('funnels')} group by 1, 2 order by 1",
    )


def _funnel_month(connection: duckdb.DuckDBPyConnection) -> Any:
    """The month the per-segment funnel shows: the latest activity month of
    marts.segment_funnels that is complete (marts.monthly_arpu's
    is_complete_month), else the latest one."""
    return _rows(
        connection,
        "select max(activity_month) filter (where arpu.is_complete_month),"
        " max(activity_month)"
        f" from {_mart('funnels')} as funnels"
        f" left join {_mart('arpu')} as arpu"
        " on arpu.date_month = funnels.activity_month",
    )[0]


def load_funnels(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Funnels and paths: per primary segment, the sessions reaching each
    step of var funnel_steps with the step conversion and the conversion
    from the first step, for one month (``month``: the latest complete
    month, see _funnel_month) and the last step's conversion from the first
    in every month (marts.segment_funnels); the top session paths
    (marts.session_paths); CTR, sessions and purchases per segment
    (marts.segment_behaviour); and the funnel of all sessions
    (funnel_totals).

    ``has_behaviour_data`` is false without events (the marts are then
    empty); ``has_funnels`` is false on a warehouse built before these
    marts.
    """
    flag = _rows(connection, f"select has_behaviour_data from {_mart('summary')}")
    has_behaviour = bool(flag and flag[0][0])
    found: dict[str, Any] = {
        "has_funnels": has_mart(connection, "funnels"),
        "has_behaviour_data": has_behaviour,
        "month": None,
        "is_complete_month": None,
        "steps": [],
        "segments": [],
        "months": [],
        "monthly_conversion": [],
        "totals": [],
        "paths": [],
        "behaviour": [],
    }
    if not found["has_funnels"]:
        return found
    complete, latest = _funnel_month(connection)
    month = None if latest is None else str(complete or latest)
    rows = _records(
        connection,
        "select primary_segment, activity_month, step_number, step, sessions,"
        f" step_conversion, conversion_from_first from {_mart('funnels')}"
        " order by step_number, activity_month, primary_segment",
    )
    cells = {
        (row["activity_month"], row["primary_segment"], row["step"]): row
        for row in rows
    }
    steps = list(dict.fromkeys(row["step"] for row in rows))
    months = sorted({row["activity_month"] for row in rows})
    first = {
        segment: row["sessions"] or 0
        for (month_, segment, step), row in cells.items()
        if month_ == month and step == steps[0]
    }
    segments = sorted(first, key=lambda segment: (-first[segment], str(segment)))

    def measure(month_: str, segment: str, name: str) -> list[Any]:
        return [(cells.get((month_, segment, step)) or {}).get(name) for step in steps]

    found |= {
        "month": month,
        "is_complete_month": complete is not None,
        "steps": steps,
        "segments": [
            {
                "segment": segment,
                **{
                    name: measure(month, segment, name)
                    for name in ("sessions", "step_conversion", "conversion_from_first")
                },
            }
            for segment in segments
        ],
        "months": months,
        "monthly_conversion": [
            {
                "segment": segment,
                "conversion_from_first": [
                    (cells.get((month_, segment, steps[-1])) or {}).get(
                        "conversion_from_first"
                    )
                    for month_ in months
                ],
            }
            for segment in segments
        ],
        "totals": funnel_totals(connection),
    }
    if has_mart(connection, "session_paths"):
        found["paths"] = _records(
            connection,
            f"select {', '.join(PATH_COLUMNS)} from {_mart('session_paths')}"
            " order by path_rank",
        )
    if has_mart(connection, "segment_behaviour"):
        found["behaviour"] = _records(
            connection,
            f"select {', '.join(FUNNEL_BEHAVIOUR_COLUMNS)}"
            f" from {_mart('segment_behaviour')}"
            " order by users desc, primary_segment",
        )
    return found
