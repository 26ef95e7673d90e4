{#- Value metrics of every user of the population as of as_of_date:
    revenue, AOV, tenure, ARPU, historical and predicted LTV, predicted
    CLV (the transaction model var btyd_model chose, with Gamma-Gamma), value tier (see the value docs blocks). -#}
{%- set tier_metric = var('value_tier_metric') -%}
{%- set tier_metrics = [
    'historical_ltv', 'predicted_ltv', 'predicted_clv', 'arpu_monthly'
] -%}
{%- if tier_metric not in tier_metrics -%}
    {{ exceptions.raise_compiler_error(
        'var value_tier_metric must be one of '
        ~ tier_metrics | join(', ') ~ ', got ' ~ tier_metric
    ) }}
{%- endif -%}

with

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

orders_per_user as (
    select * from {{ ref('int_orders_aggregated_to_users') }}
),

rfm as (
    select * from {{ ref('int_users_rfm_scored') }}
),

clv as (
    select * from {{ ref('int_users_clv_predicted') }}
),

joined as (
    select
        users.user_id,
        coalesce(orders_per_user.order_count, 0) as order_count,
        coalesce(orders_per_user.net_revenue, 0) as net_revenue,
        rfm.recency_days,
        clv.predicted_clv,
        {{ dbt.datediff(
            'cast(least('
            ~ 'coalesce(users.signed_up_at, orders_per_user.first_purchased_at), '
            ~ 'coalesce(orders_per_user.first_purchased_at, users.signed_up_at)'
            ~ ') as date)',
            as_of_date(),
            'day'
        ) }} as tenure_days,
        {{ dbt.datediff(
            'cast(orders_per_user.first_purchased_at as date)',
            as_of_date(),
            'day'
        ) }} as days_since_first_purchase
    from users
    left join orders_per_user on users.user_id = orders_per_user.user_id
    left join rfm on users.user_id = rfm.user_id
    left join clv on users.user_id = clv.user_id
),

valued as (
    select
        user_id,
        order_count,
        net_revenue,
        case
            when order_count > 0 then net_revenue / order_count
        end as average_order_value,
        tenure_days,
        net_revenue
        / greatest(coalesce(tenure_days, 0) / 30.4375, 1.0) as arpu_monthly,
        net_revenue as historical_ltv,
        -- A purchaser the BTYD models give no value keeps historical LTV,
        -- as int_users_clv_predicted does for a model that fell back.
        case
            when order_count > 0 then coalesce(predicted_clv, net_revenue)
        end as predicted_clv,
        case
            when order_count > 0
                then
                    order_count
                    / greatest(
                        days_since_first_purchase / 30.4375,
                        {{ var('ltv_rate_min_months') }}
                    )
        end as purchase_rate_monthly,
        case
            when order_count > 0
                then
                    exp(
                        -1.0 * recency_days
                        / {{ var('ltv_recency_decay_days') }}
                    )
        end as retention_probability
    from joined
),

predicted as (
    select
        *,
        coalesce(
            {{ var('ltv_margin') }}
            * average_order_value
            * purchase_rate_monthly
            * {{ var('ltv_horizon_months') }}
            * retention_probability,
            0
        ) as predicted_ltv
    from valued
),

ranked as (
    select
        *,
        case
            when order_count > 0
                then percent_rank() over (
                    partition by order_count > 0
                    order by {{ tier_metric }}
                )
        end as value_percentile
    from predicted
),

tiered as (
    select
        *,
        case
            when order_count = 0 then 'none'
            when value_percentile >= {{ var('value_tier_high_percentile') }}
                then 'high'
            when value_percentile >= {{ var('value_tier_medium_percentile') }}
                then 'medium'
            else 'low'
        end as value_tier
    from ranked
)

select * from tiered
