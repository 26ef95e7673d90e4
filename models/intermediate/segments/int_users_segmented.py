"""The segment assignment step behind marts.user_segments: one row per user
of the population with the primary segment, every tier, the cluster and a
readable reason.

Thin on purpose: the logic is segmentation.methods.segments, called through
segmentation.dbt_python.segments.
"""

from segmentation.dbt_python import segments


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["segment_rules"]
    profiles = dbt.ref("int_users_profiled").to_arrow_table()
    clusters = dbt.ref("int_users_clustered").to_arrow_table()
    return segments.segments_table(profiles, clusters, settings)
