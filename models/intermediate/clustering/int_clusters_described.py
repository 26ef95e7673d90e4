"""Centroid of every cluster in original feature units, one row per
cluster and feature (behind marts.cluster_centroids), for the build's
as-of date (int_users_clustered keeps every date; this reads the build's).

Thin on purpose: the logic is in segmentation.dbt_python.clustering.
"""

from segmentation.dbt_python import as_of_date, clustering, snapshot_rows


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    features = dbt.ref("int_users_featurized").to_arrow_table()
    day = as_of_date(dbt.ref("int_as_of_date"))
    clusters = snapshot_rows(dbt.ref("int_users_clustered"), day)
    return clustering.centroids_table(features, clusters, settings)
