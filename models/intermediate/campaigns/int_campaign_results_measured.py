"""Each campaign's treatment against its holdout, per target segment and
for the whole campaign ('(all)'): conversion lift with a Newcombe interval,
relative lift, p-values, Welch's revenue-per-user lift, the sample ratio
mismatch check, the minimum detectable lift and a verdict.

Thin on purpose: the statistics are segmentation.methods.campaigns, called
through segmentation.dbt_python.campaigns on the small table of group
counts and moments (never the orders).
"""

from segmentation.dbt_python import campaigns


def model(dbt, session):
    dbt.config(materialized="table")
    settings = dbt.config.get("meta")["campaign_measurement"]
    groups = dbt.ref("int_campaign_groups_measured").to_arrow_table()
    return campaigns.results_table(groups, settings)
