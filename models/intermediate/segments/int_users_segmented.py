"""The segment assignment step behind marts.user_segments: one row per user
of the population with the primary segment, every tier, the cluster and a
readable reason.

Thin on purpose: the logic is segmentation.methods.segments, called through
segmentation.dbt_python.segments. The clusters are the build's as-of date's
(int_users_clustered keeps every date). The propensity scores, deciles and
tier (int_users_propensity_tiered) join the profiles, so the rules may use
them as conditions. Only the profile columns the rules and the reasons read
are loaded.
"""

from segmentation.dbt_python import as_of_date, segments, snapshot_rows


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["segment_rules"]
    profiles = segments.profiles_needed(dbt.ref("int_users_profiled"), settings)
    day = as_of_date(dbt.ref("int_as_of_date"))
    clusters = snapshot_rows(dbt.ref("int_users_clustered"), day)
    propensity = dbt.ref("int_users_propensity_tiered").to_arrow_table()
    return segments.segments_table(profiles, clusters, settings, propensity)
