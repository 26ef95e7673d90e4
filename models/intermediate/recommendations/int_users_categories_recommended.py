"""Next-best categories of every purchaser as of the build's as-of date:
the top next_best_category_k categories they have not bought, by item-item
collaborative filtering on the user x category purchases
(int_users_categories_aggregated).

Thin on purpose: the method is segmentation.methods.recommend, called
through segmentation.dbt_python.recommend.
"""

from segmentation.dbt_python import recommend


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["next_best_category"]
    categories = dbt.ref("int_users_categories_aggregated")
    return recommend.recommended_table(categories, settings)
