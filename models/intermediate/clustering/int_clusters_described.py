"""Centroid of every cluster in original feature units, one row per
cluster and feature (behind marts.cluster_centroids).

Thin on purpose: the logic is in segmentation.dbt_python.clustering.
"""

from segmentation.dbt_python import clustering


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    features = dbt.ref("int_users_featurized").to_arrow_table()
    clusters = dbt.ref("int_users_clustered").to_arrow_table()
    return clustering.centroids_table(features, clusters, settings)
