{#- The BI-facing user profile: one wide row per user of the population as
    of as_of_date, prospects included. Assembled once in int_users_profiled,
    only selected here, with the propensity scores, deciles and tier
    (int_users_propensity_tiered) and the top and next-best product
    categories (int_users_categories_picked). Personal data (e-mail, phone,
    birth date) stays in staging. -#}
with

profiled as (
    select * from {{ ref('int_users_profiled') }}
),

propensity as (
    select * from {{ ref('int_users_propensity_tiered') }}
),

categories as (
    select * from {{ ref('int_users_categories_picked') }}
),

final as (
    select
        profiled.user_id,
        profiled.user_key,
        profiled.as_of_date,
        profiled.signed_up_at,
        profiled.signed_up_at_source,
        profiled.is_inferred_from_activity,
        profiled.is_opted_in_to_marketing,
        profiled.gender,
        profiled.age,
        profiled.age_band,
        profiled.region,
        profiled.city,
        profiled.acquisition_channel,
        profiled.lifecycle_stage,
        profiled.rfm_segment,
        profiled.value_tier,
        profiled.activity_tier,
        profiled.recency_days,
        profiled.frequency,
        profiled.monetary,
        profiled.recency_score,
        profiled.frequency_score,
        profiled.monetary_score,
        profiled.frequency_monetary_score,
        profiled.rfm_cell,
        profiled.order_count,
        profiled.purchase_day_count,
        profiled.net_revenue,
        profiled.refund_count,
        profiled.refunded_amount,
        profiled.cancelled_order_count,
        profiled.average_order_value,
        profiled.tenure_days,
        profiled.arpu_monthly,
        profiled.historical_ltv,
        profiled.purchase_rate_monthly,
        profiled.retention_probability,
        profiled.predicted_ltv,
        profiled.probability_alive,
        profiled.predicted_clv,
        profiled.clv_source,
        profiled.value_percentile,
        profiled.first_purchased_at,
        profiled.last_purchased_at,
        profiled.days_since_first_purchase,
        profiled.days_between_last_two_purchases,
        profiled.has_behaviour_data,
        profiled.days_since_last_activity,
        profiled.sessions_30d,
        profiled.active_days_30d,
        profiled.browse_minutes_30d,
        profiled.impressions_30d,
        profiled.clicks_30d,
        profiled.page_views_30d,
        profiled.ctr_30d,
        profiled.add_to_cart_rate_30d,
        profiled.conversion_rate_30d,
        profiled.purchases_30d,
        profiled.sessions_90d,
        profiled.active_days_90d,
        profiled.browse_minutes_90d,
        profiled.impressions_90d,
        profiled.clicks_90d,
        profiled.page_views_90d,
        profiled.ctr_90d,
        profiled.add_to_cart_rate_90d,
        profiled.conversion_rate_90d,
        profiled.purchases_90d,
        profiled.high_conditions_met,
        profiled.medium_conditions_met,
        propensity.purchase_propensity,
        propensity.purchase_propensity_decile,
        propensity.churn_risk,
        propensity.churn_risk_decile,
        propensity.propensity_tier,
        categories.top_category,
        categories.next_best_category
    from profiled
    left join propensity on profiled.user_id = propensity.user_id
    left join categories on profiled.user_id = categories.user_id
)

select * from final
