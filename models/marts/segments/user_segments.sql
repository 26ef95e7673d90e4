{#- The final segment table, for BI and the marketing audiences: assigned
    once in int_users_segmented (a dbt Python model), with each user's time
    in the primary segment from the segment history
    (int_users_segment_tenure) and the propensity scores, deciles and tier
    (int_users_propensity_tiered) and the top and next-best product
    categories (int_users_categories_picked), only selected here. -#}
with

segmented as (
    select * from {{ ref('int_users_segmented') }}
),

tenure as (
    select * from {{ ref('int_users_segment_tenure') }}
),

propensity as (
    select * from {{ ref('int_users_propensity_tiered') }}
),

categories as (
    select * from {{ ref('int_users_categories_picked') }}
),

final as (
    select
        segmented.user_id,
        segmented.user_key,
        segmented.as_of_date,
        segmented.primary_segment,
        segmented.segment_source,
        segmented.segment_reason,
        segmented.lifecycle_stage,
        segmented.value_tier,
        segmented.activity_tier,
        segmented.rfm_segment,
        segmented.cluster_id,
        segmented.cluster_label,
        segmented.is_engaged,
        segmented.is_opted_in_to_marketing,
        tenure.previous_primary_segment,
        tenure.primary_segment_since,
        tenure.days_in_primary_segment,
        tenure.primary_segment_changes,
        propensity.purchase_propensity,
        propensity.purchase_propensity_decile,
        propensity.churn_risk,
        propensity.churn_risk_decile,
        propensity.propensity_tier,
        categories.top_category,
        categories.next_best_category
    from segmented
    left join tenure on segmented.user_id = tenure.user_id
    left join propensity on segmented.user_id = propensity.user_id
    left join categories on segmented.user_id = categories.user_id
)

select * from final
