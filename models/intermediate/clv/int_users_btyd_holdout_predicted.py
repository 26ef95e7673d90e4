"""Calibration and holdout mode: each calibration customer's predicted
purchases and revenue over the holdout period, from each transaction model
fitted on the calibration period (one row per customer and model); no rows
when the mode is off.

Thin on purpose: the logic is segmentation.methods.btyd, called through
segmentation.dbt_python.clv.
"""

from segmentation.dbt_python import clv


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_users_btyd_holdout_summarized").to_arrow_table()
    fits = dbt.ref("int_btyd_models_fitted_to_calibration").to_arrow_table()
    return clv.holdout_predictions_table(summary, fits)
