"""Purchase propensity and churn risk of every user as of the build's
as-of date: for each label, the gradient boosting model fitted on the eval
rows of its scoring window (the most recent fully labelled window) applied
to the users' features of the as-of date (int_user_features_accumulated).
Runs in every backfill date, so it fits one model per label and nothing
else.

Thin on purpose: the fits are segmentation.methods.propensity, called
through segmentation.dbt_python.propensity.
"""

from segmentation.dbt_python import as_of_date, propensity, snapshot_rows


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["propensity"]
    day = as_of_date(dbt.ref("int_as_of_date"))
    windows = dbt.ref("int_propensity_windows_checked").to_arrow_table()
    examples = dbt.ref("int_propensity_examples")
    users = snapshot_rows(dbt.ref("int_user_features_accumulated"), day)
    return propensity.scored_table(examples, windows, users, settings)
