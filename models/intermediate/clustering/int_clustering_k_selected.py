"""Scores of every k tried for the user clusters, and the k chosen (the
fit step behind marts.cluster_k_selection).

Thin on purpose: the logic is segmentation.methods.clustering.choose_k.
"""

from segmentation.dbt_python import clustering, read_previous


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    features = dbt.ref("int_users_featurized").to_arrow_table()
    previous = read_previous(session, dbt.this, "k", "is_chosen")
    return clustering.k_selection_table(features, settings, previous)
