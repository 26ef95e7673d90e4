"""The out-of-time predictions of the propensity classifiers: for every
window of int_propensity_windows_checked that is ready and each classifier
(gradient_boosting, logistic_regression), the model fitted on the window's
train rows (features of the earlier snapshot) and the predicted probability
of every eval row (features of the later snapshot), which the evaluation
marts score against the labels.

Thin on purpose: the fits are segmentation.methods.propensity, called
through segmentation.dbt_python.propensity.
"""

from segmentation.dbt_python import propensity


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["propensity"]
    windows = dbt.ref("int_propensity_windows_checked").to_arrow_table()
    examples = dbt.ref("int_propensity_examples")
    return propensity.predicted_table(examples, windows, settings)
