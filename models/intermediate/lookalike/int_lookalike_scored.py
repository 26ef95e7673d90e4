"""The lookalike scores: for every purpose of int_lookalike_seed_checked
that is ready (scoring: the build's as-of date; evaluation: the earlier
snapshot of the history check), the seed-vs-rest gradient boosting
classifier fitted on the users of int_lookalike_population (the fit
sample) with their point-in-time features, and the score of every
non-member of the seed.

Thin on purpose: the fit is segmentation.methods.lookalike (on the
propensity fit functions), called through segmentation.dbt_python.lookalike.
"""

from segmentation.dbt_python import lookalike


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["lookalike"]
    checked = dbt.ref("int_lookalike_seed_checked").to_arrow_table()
    population = dbt.ref("int_lookalike_population")
    features = dbt.ref("int_user_features_accumulated")
    return lookalike.scored_table(checked, population, features, settings)
