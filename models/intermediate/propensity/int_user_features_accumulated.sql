{#- The feature history behind the propensity models: one row per as-of
    date and user of that date's population, with the profile's features
    as int_users_profiled gave them that day (point in time: a training
    example reads the row of its snapshot date, never a later one). Every
    column after the keys is a feature, numeric ones as double (booleans
    as 0/1), categorical ones as text; nothing that would leak the
    segmentation itself (no primary segment, no cluster). Incremental on
    as_of_date like int_user_snapshots_accumulated: a build deletes the
    rows of its own date and inserts them again; kept by --full-refresh,
    dropped by `make clear-history`; the history backfill
    (HISTORY_FROM) adds the earlier dates. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

with

profiled as (
    select * from {{ ref('int_users_profiled') }}
),

features as (
    select
        profiled.as_of_date,
        profiled.user_id,
        profiled.user_key,
        cast(profiled.recency_days as double) as recency_days,
        cast(profiled.frequency as double) as frequency,
        cast(profiled.monetary as double) as monetary,
        cast(profiled.recency_score as double) as recency_score,
        cast(profiled.frequency_score as double) as frequency_score,
        cast(profiled.monetary_score as double) as monetary_score,
        cast(profiled.order_count as double) as order_count,
        cast(profiled.purchase_day_count as double) as purchase_day_count,
        cast(profiled.net_revenue as double) as net_revenue,
        cast(profiled.refund_count as double) as refund_count,
        cast(profiled.cancelled_order_count as double) as cancelled_order_count,
        cast(profiled.average_order_value as double) as average_order_value,
        cast(profiled.tenure_days as double) as tenure_days,
        cast(profiled.arpu_monthly as double) as arpu_monthly,
        cast(profiled.purchase_rate_monthly as double) as purchase_rate_monthly,
        cast(profiled.probability_alive as double) as probability_alive,
        cast(profiled.predicted_clv as double) as predicted_clv,
        cast(profiled.days_since_first_purchase as double)
            as days_since_first_purchase,
        cast(profiled.days_between_last_two_purchases as double)
            as days_between_last_two_purchases,
        cast(profiled.days_since_last_activity as double)
            as days_since_last_activity,
        cast(profiled.sessions_30d as double) as sessions_30d,
        cast(profiled.active_days_30d as double) as active_days_30d,
        cast(profiled.browse_minutes_30d as double) as browse_minutes_30d,
        cast(profiled.ctr_30d as double) as ctr_30d,
        cast(profiled.add_to_cart_rate_30d as double) as add_to_cart_rate_30d,
        cast(profiled.conversion_rate_30d as double) as conversion_rate_30d,
        cast(profiled.purchases_30d as double) as purchases_30d,
        cast(profiled.sessions_90d as double) as sessions_90d,
        cast(profiled.active_days_90d as double) as active_days_90d,
        cast(profiled.browse_minutes_90d as double) as browse_minutes_90d,
        cast(profiled.ctr_90d as double) as ctr_90d,
        cast(profiled.add_to_cart_rate_90d as double) as add_to_cart_rate_90d,
        cast(profiled.conversion_rate_90d as double) as conversion_rate_90d,
        cast(profiled.purchases_90d as double) as purchases_90d,
        cast(profiled.age as double) as age,
        cast(profiled.is_opted_in_to_marketing as double)
            as is_opted_in_to_marketing,
        cast(profiled.has_behaviour_data as double) as has_behaviour_data,
        cast(profiled.lifecycle_stage as varchar) as lifecycle_stage,
        cast(profiled.value_tier as varchar) as value_tier,
        cast(profiled.activity_tier as varchar) as activity_tier,
        cast(profiled.gender as varchar) as gender,
        cast(profiled.region as varchar) as region,
        cast(profiled.acquisition_channel as varchar) as acquisition_channel
    from profiled
)

select * from features
