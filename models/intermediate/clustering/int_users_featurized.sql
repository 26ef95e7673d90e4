{#- One row per purchaser with every candidate clustering feature as of
    as_of_date (var cluster_features picks the ones used). Behaviour
    features are null when the data has no events before as_of_date. -#}
with

rfm as (
    select * from {{ ref('int_users_rfm_scored') }}
),

value as (
    select * from {{ ref('int_users_valued') }}
),

activity as (
    select * from {{ ref('int_users_activity_tiered') }}
),

featurized as (
    select
        rfm.user_id,
        rfm.recency_days,
        rfm.frequency,
        cast(rfm.monetary as double) as monetary,
        cast(value.average_order_value as double) as average_order_value,
        value.tenure_days,
        cast(value.arpu_monthly as double) as arpu_monthly,
        activity.sessions_90d,
        activity.active_days_90d,
        activity.browse_minutes_90d,
        activity.ctr_90d,
        activity.add_to_cart_rate_90d,
        activity.conversion_rate_90d
    from rfm
    inner join value on rfm.user_id = value.user_id
    inner join activity on rfm.user_id = activity.user_id
)

select * from featurized
