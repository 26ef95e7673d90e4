"""K-Means cluster of every purchaser, with stable ids and a readable label
(the assignment step behind marts.user_clusters), kept per as-of date.

The table is the state: a build replaces the rows of its as-of date and
keeps the others (segmentation.dbt_python.replace_snapshot). Cluster ids
are matched to those of the previous snapshot (the latest earlier as-of
date), so a date's rows never depend on a later build.

Thin on purpose: the logic is in segmentation.methods.clustering and
segmentation.dbt_python.clustering.
"""

from segmentation.dbt_python import (
    as_of_date,
    clustering,
    read_previous,
    replace_snapshot,
    snapshot_rows,
)


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    day = as_of_date(dbt.ref("int_as_of_date"))
    features = dbt.ref("int_users_featurized").to_arrow_table()
    k_scores = snapshot_rows(dbt.ref("int_clustering_k_selected"), day)
    previous = read_previous(session, dbt.this, day, "user_id", "cluster_id")
    clusters = clustering.user_clusters_table(features, k_scores, settings, previous)
    return replace_snapshot(session, dbt.this, day, clusters)
