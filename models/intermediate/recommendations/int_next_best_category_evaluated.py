"""Offline evaluation of the next-best category: each repeat buyer's last
purchase held out, item-item collaborative filtering and the popularity
baseline built from the other purchases (int_purchases_categorized), hit
rate and coverage at k = 1, 3, 5 and next_best_category_k.

Thin on purpose: the split and the methods are
segmentation.methods.recommend, called through
segmentation.dbt_python.recommend.
"""

from segmentation.dbt_python import recommend


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["next_best_category"]
    purchases = dbt.ref("int_purchases_categorized")
    return recommend.evaluated_table(purchases, settings)
