"""Glue between the dbt Python models and the pure functions.

Each function takes and returns Arrow tables, so only the per-user feature
table crosses from DuckDB into Python and the results go back typed (an
empty result still has the right column types). Problems are reported with
a ``[segmentation]`` log line and a fallback, never an exception.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import clustering

K_SELECTION_SCHEMA = pa.schema(
    [
        ("k", pa.int32()),
        ("silhouette", pa.float64()),
        ("davies_bouldin", pa.float64()),
        ("calinski_harabasz", pa.float64()),
        ("inertia", pa.float64()),
        ("sample_rows", pa.int64()),
        ("is_chosen", pa.bool_()),
        ("fallback_reason", pa.string()),
    ]
)

USER_CLUSTERS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("cluster_id", pa.int32()),
        ("cluster_label", pa.string()),
        ("distance_to_centroid", pa.float64()),
    ]
)

CENTROIDS_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.int32()),
        ("cluster_label", pa.string()),
        ("user_count", pa.int64()),
        ("feature", pa.string()),
        ("centroid_value", pa.float64()),
        ("mean_value", pa.float64()),
        ("median_value", pa.float64()),
    ]
)


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    frame = frame.reindex(columns=schema.names)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


# The last features prepared, and what _prepare made of them: the four
# clustering models of a build (k selection, assignment, centroids, rules)
# prepare the same int_users_featurized rows with the same settings, so
# only the first computes it. One entry, replaced by the next other input
# and dropped once it has served PREPARED_USES calls, so that at L (a
# million purchasers, a few hundred MB) it is not held for the rest of
# the build.
_PREPARED: dict[str, list] = {}
_PREPARED_LOCK = threading.Lock()
PREPARED_USES = 4


def _prepare(features: pa.Table, settings: str):
    """The clustering settings, the features as floats in the prepared row
    order, and the prepared features (clustering.prepare_features).

    Computed once for equal inputs: when ``features`` equals (Arrow
    ``Table.equals``: same schema, same values in the same order) the table
    of the previous call with the same settings, its result is returned
    again (nothing downstream modifies it), so the result never depends on
    the cache; the notes are logged on every call, as before. The entry is
    dropped after PREPARED_USES calls (the four models of a build)."""
    with _PREPARED_LOCK:
        cached = _PREPARED.get(settings)
        if cached is None or not cached[0].equals(features):
            cached = [features, _prepared_afresh(features, settings), 0]
            _PREPARED.clear()
            _PREPARED[settings] = cached
        cached[2] += 1
        if cached[2] >= PREPARED_USES:
            _PREPARED.clear()
    config, ordered, prepared = cached[1]
    for note in prepared.notes:
        log(f"clustering: {note}")
    return config, ordered, prepared


def _prepared_afresh(features: pa.Table, settings: str):
    config = clustering.ClusteringConfig.from_json(settings)
    frame = features.to_pandas()
    numeric = [column for column in frame.columns if column != "user_id"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce").astype(float)
    frame["user_id"] = frame["user_id"].astype(str)
    prepared = clustering.prepare_features(frame, config)
    ordered = frame.set_index("user_id").loc[prepared.user_ids].reset_index()
    return config, ordered, prepared


def _previous_ids(prepared, previous_clusters: pa.Table | None, k: int | None):
    """Each user's cluster id in the previous snapshot (0 if none), in the
    prepared row order, when that snapshot had k clusters; else None."""
    if k is None or previous_clusters is None or previous_clusters.num_rows == 0:
        return None
    frame = previous_clusters.to_pandas()
    if int(frame["cluster_id"].max()) != k:
        return None
    before = dict(zip(frame["user_id"], frame["cluster_id"], strict=True))
    return clustering.previous_assignments(prepared.user_ids, before)


def k_selection_table(
    features: pa.Table,
    settings: str,
    previous: pa.Table | None,
    previous_clusters: pa.Table | None = None,
) -> pa.Table:
    """Rows of int_clustering_k_selected (mart cluster_k_selection): the
    scores of every k tried. ``previous_clusters`` (user_id, cluster_id of
    the previous snapshot) lets the previous k be scored with the fit
    warm-started from its clusters."""
    config, _, prepared = _prepare(features, settings)
    previous_k = None
    if previous is not None:
        chosen = previous.to_pandas().query("is_chosen")
        if len(chosen) and chosen["k"].iloc[0] > 1:
            previous_k = int(chosen["k"].iloc[0])
    choice = clustering.choose_k(
        prepared.model_space,
        config,
        previous_k,
        _previous_ids(prepared, previous_clusters, previous_k),
    )
    if choice.fallback_reason:
        log(f"clustering: a single cluster ({choice.fallback_reason})")
    else:
        best = choice.scores.loc[choice.scores["is_chosen"]].iloc[0]
        log(
            f"clustering: k = {choice.k} of {config.k_min}-{config.k_max}"
            f" (silhouette {best['silhouette']:.3f} on"
            f" {int(best['sample_rows']):,} sampled purchasers)"
        )
    return _table(choice.scores, K_SELECTION_SCHEMA)


def _chosen_k(k_scores: pa.Table) -> int:
    scores = k_scores.to_pandas()
    chosen = scores.loc[scores["is_chosen"].fillna(False).astype(bool), "k"]
    return int(chosen.iloc[0]) if len(chosen) else 1


def user_clusters_table(
    features: pa.Table,
    k_scores: pa.Table,
    settings: str,
    previous: pa.Table | None,
) -> pa.Table:
    """Rows of int_users_clustered (mart user_clusters): every purchaser's
    stable cluster."""
    config, frame, prepared = _prepare(features, settings)
    if len(frame) == 0:
        log("clustering: no purchasers, so no clusters")
        return _table(pd.DataFrame(), USER_CLUSTERS_SCHEMA)
    k = _chosen_k(k_scores)
    previous_ids = _previous_ids(prepared, previous, k)
    if previous is not None and previous.num_rows and previous_ids is None:
        previous_k = int(previous["cluster_id"].to_pandas().max())
        log(
            f"clustering: k changed from {previous_k} to {k}, so the fit is fresh"
            " and cluster ids are ordered afresh by mean monetary value"
        )
    init = clustering.warm_centroids(prepared.model_space, previous_ids, k)
    labels = clustering.fit_clusters(prepared, k, config, init)
    result = clustering.assign(
        prepared,
        labels,
        frame["monetary"].astype(float).to_numpy(),
        previous_ids,
        warm_started=init is not None,
    )
    frame = frame.assign(cluster_id=result.cluster_ids)
    summary = (
        frame.groupby("cluster_id")[["monetary", "frequency", "recency_days"]]
        .median()
        .reset_index()
    )
    names = clustering.profile_labels(summary, frame)
    log(
        "clustering: "
        + "; ".join(
            f"{cluster} = {names[cluster]} ({(result.cluster_ids == cluster).sum():,})"
            for cluster in sorted(names)
        )
    )
    out = pd.DataFrame(
        {
            "user_id": prepared.user_ids,
            "cluster_id": result.cluster_ids,
            "cluster_label": [names[cluster] for cluster in result.cluster_ids],
            "distance_to_centroid": result.distances,
        }
    )
    return _table(out, USER_CLUSTERS_SCHEMA)


def centroids_table(features: pa.Table, clusters: pa.Table, settings: str) -> pa.Table:
    """Rows of int_clusters_described (mart cluster_centroids): each
    cluster's centroid in original units (the inverse transform of its
    members' mean in the standardised space), with the plain mean and median
    of each feature."""
    _, frame, prepared = _prepare(features, settings)
    assigned = clusters.to_pandas().set_index("user_id")
    if len(frame) == 0 or len(assigned) == 0 or not prepared.columns:
        return _table(pd.DataFrame(), CENTROIDS_SCHEMA)
    ids = assigned.loc[prepared.user_ids, "cluster_id"].to_numpy().astype(int)
    labels = assigned.loc[prepared.user_ids, "cluster_label"].to_numpy()
    rows = []
    for cluster in np.unique(ids):
        members = ids == cluster
        centroid = prepared.to_original_units(
            prepared.standardised[members].mean(axis=0, keepdims=True)
        )[0]
        for position, feature in enumerate(prepared.columns):
            values = frame.loc[members, feature].astype(float)
            rows.append(
                {
                    "cluster_id": int(cluster),
                    "cluster_label": labels[members][0],
                    "user_count": int(members.sum()),
                    "feature": feature,
                    "centroid_value": float(centroid[position]),
                    "mean_value": float(values.mean()),
                    "median_value": float(values.median()),
                }
            )
    return _table(pd.DataFrame(rows), CENTROIDS_SCHEMA)
