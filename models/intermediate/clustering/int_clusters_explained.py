"""Every cluster of the build's as-of date explained by readable rules: a
shallow decision tree reproducing the cluster ids from the clustering
features in original units (behind marts.cluster_rules).

Thin on purpose: the logic is in segmentation.methods.cluster_rules and
segmentation.dbt_python.cluster_rules.
"""

from segmentation.dbt_python import as_of_date, cluster_rules, snapshot_rows


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta")
    day = as_of_date(dbt.ref("int_as_of_date"))
    features = dbt.ref("int_users_featurized").to_arrow_table()
    clusters = snapshot_rows(dbt.ref("int_users_clustered"), day)
    return cluster_rules.rules_table(
        features,
        clusters,
        meta["clustering"],
        int(meta["cluster_rules_max_depth"]),
    )
