"""Permutation feature importance of the gradient boosting propensity
model: for every ready window of int_propensity_windows_checked, the model
fitted on the train rows and the decrease in ROC-AUC when each feature is
shuffled, on a deterministic sample of the eval rows (5 shuffles).

Thin on purpose: the fit and the importance are
segmentation.methods.propensity, called through
segmentation.dbt_python.propensity.
"""

from segmentation.dbt_python import propensity


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["propensity"]
    windows = dbt.ref("int_propensity_windows_checked").to_arrow_table()
    examples = dbt.ref("int_propensity_examples")
    return propensity.importance_table(examples, windows, settings)
