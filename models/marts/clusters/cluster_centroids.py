"""Centroid of every cluster in original feature units, one row per
cluster and feature.

Thin on purpose: the logic is in segmentation.dbt_models.
"""

from segmentation import dbt_models


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    features = dbt.ref("int_users_featurized").to_arrow_table()
    clusters = dbt.ref("user_clusters").to_arrow_table()
    return dbt_models.centroids_table(features, clusters, settings)
