{#- The lifecycle stage of every user of the population as of as_of_date
    (see the lifecycle_stage docs block). -#}
with

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

orders_per_user as (
    select * from {{ ref('int_orders_aggregated_to_users') }}
),

purchase_history as (
    select
        users.user_id,
        coalesce(orders_per_user.order_count, 0) as order_count,
        {{ dbt.datediff(
            'cast(orders_per_user.first_purchased_at as date)',
            as_of_date(),
            'day'
        ) }} as days_since_first_purchase,
        {{ dbt.datediff(
            'cast(orders_per_user.last_purchased_at as date)',
            as_of_date(),
            'day'
        ) }} as days_since_last_purchase,
        {{ dbt.datediff(
            'orders_per_user.previous_purchase_date',
            'cast(orders_per_user.last_purchased_at as date)',
            'day'
        ) }} as days_between_last_two_purchases
    from users
    left join orders_per_user on users.user_id = orders_per_user.user_id
),

staged as (
    select
        *,
        case
            when order_count = 0 then 'prospect'
            when days_since_first_purchase <= {{ var('lifecycle_new_days') }}
                then 'new'
            when
                days_since_last_purchase <= {{ var('lifecycle_active_days') }}
                and days_between_last_two_purchases
                > {{ var('lifecycle_at_risk_days') }}
                then 'reactivated'
            when days_since_last_purchase <= {{ var('lifecycle_active_days') }}
                then 'active'
            when days_since_last_purchase <= {{ var('lifecycle_at_risk_days') }}
                then 'at_risk'
            when days_since_last_purchase <= {{ var('lifecycle_dormant_days') }}
                then 'dormant'
            else 'churned'
        end as lifecycle_stage
    from purchase_history
)

select * from staged
