"""Every transaction model of the registry (BG/NBD, MBG/NBD, Pareto/NBD)
and Gamma-Gamma fitted on the purchasers' BTYD summary as of as_of_date:
the parameters every per-user prediction reads.

Thin on purpose: the logic is segmentation.methods.btyd, called through
segmentation.dbt_python.clv.
"""

from segmentation.dbt_python import clv


def model(dbt, session):
    dbt.config(materialized="table")
    summary = dbt.ref("int_users_btyd_summarized").to_arrow_table()
    return clv.fits_table(summary)
