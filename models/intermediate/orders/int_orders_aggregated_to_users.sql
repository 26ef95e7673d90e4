{#- Orders per user before as_of_date, one row per user with any order:
    purchases, revenue, purchase days, refunds, cancellations and purchase
    counts in the activity windows. -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

purchase_days as (
    select
        user_id,
        ordered_date
    from orders
    where is_purchase
    group by 1, 2
),

purchase_days_ranked as (
    select
        user_id,
        ordered_date,
        row_number() over (
            partition by user_id order by ordered_date desc
        ) as days_back_rank
    from purchase_days
),

previous_purchase_days as (
    select
        user_id,
        ordered_date as previous_purchase_date
    from purchase_days_ranked
    where days_back_rank = 2
),

aggregated as (
    select
        orders.user_id,
        count(*) as total_order_count,
        count(case when orders.is_purchase then 1 end) as order_count,
        count(distinct case
            when orders.is_purchase then orders.ordered_date
        end) as purchase_day_count,
        coalesce(
            sum(case when orders.is_purchase then orders.amount end), 0
        ) as net_revenue,
        count(case when orders.is_refund then 1 end) as refund_count,
        coalesce(
            sum(case when orders.is_refund then orders.amount end), 0
        ) as refunded_amount,
        count(case
            when not orders.is_purchase and not orders.is_refund then 1
        end) as cancelled_order_count,
        min(case
            when orders.is_purchase then orders.ordered_at
        end) as first_purchased_at,
        max(case
            when orders.is_purchase then orders.ordered_at
        end) as last_purchased_at,
        max(orders.ordered_at) as last_ordered_at,
        count(case
            when
                orders.is_purchase
                and orders.days_before_as_of
                <= {{ var('activity_window_short_days') }}
                then 1
        end) as purchases_30d,
        count(case
            when
                orders.is_purchase
                and orders.days_before_as_of
                <= {{ var('activity_window_long_days') }}
                then 1
        end) as purchases_90d
    from orders
    group by 1
),

with_previous_purchase as (
    select
        aggregated.*,
        previous_purchase_days.previous_purchase_date
    from aggregated
    left join previous_purchase_days
        on aggregated.user_id = previous_purchase_days.user_id
)

select * from with_previous_purchase
