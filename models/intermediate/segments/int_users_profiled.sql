{#- The user profile assembled: one wide row per user of the population as
    of as_of_date, prospects included. Every metric is computed upstream
    and only joined here; marts.user_profiles publishes it. Personal data
    (e-mail, phone, birth date) stays in staging. -#}
with

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

demographics as (
    select * from {{ ref('int_users_age_banded') }}
),

orders_per_user as (
    select * from {{ ref('int_orders_aggregated_to_users') }}
),

rfm as (
    select * from {{ ref('int_users_rfm_segmented') }}
),

value as (
    select * from {{ ref('int_users_valued') }}
),

activity as (
    select * from {{ ref('int_users_activity_tiered') }}
),

lifecycle as (
    select * from {{ ref('int_users_lifecycle_staged') }}
),

clv as (
    select * from {{ ref('int_users_clv_predicted') }}
),

profiles as (
    select
        users.user_id,
        users.user_key,
        {{ as_of_date() }} as as_of_date,
        users.signed_up_at,
        users.signed_up_at_source,
        users.is_inferred_from_activity,
        users.is_opted_in_to_marketing,
        demographics.gender,
        demographics.age,
        demographics.age_band,
        demographics.region,
        demographics.city,
        demographics.acquisition_channel,
        lifecycle.lifecycle_stage,
        rfm.rfm_segment,
        value.value_tier,
        activity.activity_tier,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.frequency_monetary_score,
        rfm.rfm_cell,
        value.order_count,
        coalesce(orders_per_user.purchase_day_count, 0) as purchase_day_count,
        value.net_revenue,
        coalesce(orders_per_user.refund_count, 0) as refund_count,
        coalesce(orders_per_user.refunded_amount, 0) as refunded_amount,
        coalesce(orders_per_user.cancelled_order_count, 0)
            as cancelled_order_count,
        value.average_order_value,
        value.tenure_days,
        value.arpu_monthly,
        value.historical_ltv,
        value.purchase_rate_monthly,
        value.retention_probability,
        value.predicted_ltv,
        clv.probability_alive,
        clv.predicted_clv,
        clv.clv_source,
        value.value_percentile,
        orders_per_user.first_purchased_at,
        orders_per_user.last_purchased_at,
        lifecycle.days_since_first_purchase,
        lifecycle.days_between_last_two_purchases,
        activity.has_behaviour_data,
        activity.days_since_last_activity,
        activity.sessions_30d,
        activity.active_days_30d,
        activity.browse_minutes_30d,
        activity.impressions_30d,
        activity.clicks_30d,
        activity.page_views_30d,
        activity.ctr_30d,
        activity.add_to_cart_rate_30d,
        activity.conversion_rate_30d,
        activity.purchases_30d,
        activity.sessions_90d,
        activity.active_days_90d,
        activity.browse_minutes_90d,
        activity.impressions_90d,
        activity.clicks_90d,
        activity.page_views_90d,
        activity.ctr_90d,
        activity.add_to_cart_rate_90d,
        activity.conversion_rate_90d,
        activity.purchases_90d,
        activity.high_conditions_met,
        activity.medium_conditions_met
    from users
    left join demographics on users.user_id = demographics.user_id
    left join orders_per_user on users.user_id = orders_per_user.user_id
    left join rfm on users.user_id = rfm.user_id
    left join value on users.user_id = value.user_id
    left join activity on users.user_id = activity.user_id
    left join lifecycle on users.user_id = lifecycle.user_id
    left join clv on users.user_id = clv.user_id
)

select * from profiles
