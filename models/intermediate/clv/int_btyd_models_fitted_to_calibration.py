"""Calibration and holdout mode: every transaction model and Gamma-Gamma
fitted on the calibration period only (int_users_btyd_holdout_summarized); no rows when
var clv_calibration_end_date is unset.

Thin on purpose: the logic is segmentation.methods.btyd, called through
segmentation.dbt_python.clv.
"""

from segmentation.dbt_python import clv


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clv_holdout"]
    summary = dbt.ref("int_users_btyd_holdout_summarized").to_arrow_table()
    return clv.calibration_fits_table(summary, settings)
