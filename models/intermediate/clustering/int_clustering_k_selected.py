"""Scores of every k tried for the user clusters, and the k chosen (the
fit step behind marts.cluster_k_selection), kept per as-of date.

The table is the state: a build replaces the rows of its as-of date and
keeps the others (segmentation.dbt_python.replace_snapshot). The k kept
while within tolerance is the chosen k of the previous snapshot (the latest
earlier as-of date), scored with the fit warm-started from that snapshot's
clusters (read from int_users_clustered's rows of that date: a table, not a
ref, since int_users_clustered refs this model), so a date's rows never
depend on a later build.

Thin on purpose: the logic is segmentation.methods.clustering.choose_k.
"""

from segmentation.dbt_python import (
    Sibling,
    as_of_date,
    clustering,
    read_previous,
    replace_snapshot,
)


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clustering"]
    day = as_of_date(dbt.ref("int_as_of_date"))
    features = dbt.ref("int_users_featurized").to_arrow_table()
    previous = read_previous(session, dbt.this, day, "k", "is_chosen")
    previous_clusters = read_previous(
        session, Sibling(dbt.this, "int_users_clustered"), day, "user_id", "cluster_id"
    )
    scores = clustering.k_selection_table(
        features, settings, previous, previous_clusters
    )
    return replace_snapshot(session, dbt.this, day, scores)
