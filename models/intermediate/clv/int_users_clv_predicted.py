"""Predicted customer lifetime value of every purchaser (the chosen
transaction model with Gamma-Gamma, with p10/p50/p90 intervals), from the
parameters in int_btyd_models_fitted and the model int_btyd_model_chosen
picked.

Thin on purpose: the logic is segmentation.methods.btyd, called through
segmentation.dbt_python.clv.
"""

from segmentation.dbt_python import clv


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["clv"]
    summary = dbt.ref("int_users_btyd_summarized").to_arrow_table()
    fits = dbt.ref("int_btyd_models_fitted").to_arrow_table()
    chosen = dbt.ref("int_btyd_model_chosen").to_arrow_table()
    model_name = chosen.column("btyd_model")[0].as_py() if chosen.num_rows else None
    return clv.user_clv_table(summary, fits, settings, model_name)
