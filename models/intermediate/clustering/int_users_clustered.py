"""K-Means cluster of every purchaser, with stable ids and a readable label
(the assignment step behind marts.user_clusters).

Thin on purpose: the logic is in segmentation.methods.clustering and
segmentation.dbt_python.clustering.
"""

from segmentation.dbt_python import clustering, read_previous


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    features = dbt.ref("int_users_featurized").to_arrow_table()
    k_scores = dbt.ref("int_clustering_k_selected").to_arrow_table()
    previous = read_previous(session, dbt.this, "user_id", "cluster_id")
    return clustering.user_clusters_table(features, k_scores, settings, previous)
