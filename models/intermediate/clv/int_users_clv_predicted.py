"""Predicted customer lifetime value of every purchaser (BG/NBD with
Gamma-Gamma), from the parameters in int_btyd_models_fitted.

Thin on purpose: the logic is segmentation.methods.btyd, called through
segmentation.dbt_python.clv.
"""

from segmentation.dbt_python import clv


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clv"]
    summary = dbt.ref("int_users_btyd_summarized").to_arrow_table()
    fits = dbt.ref("int_btyd_models_fitted").to_arrow_table()
    return clv.user_clv_table(summary, fits, settings)
