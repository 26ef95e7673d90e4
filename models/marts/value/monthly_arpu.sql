{#- Revenue and ARPU per calendar month before as_of_date (see the arpu
    docs block). -#}
with

spine as (
    select * from {{ ref('int_date_spine') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

user_days as (
    select * from {{ ref('int_activity_aggregated_to_user_days') }}
),

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

months as (
    select
        date_month,
        max(date_day) as last_day_in_range
    from spine
    group by 1
),

revenue as (
    select
        cast({{ dbt.date_trunc('month', 'ordered_date') }} as date)
            as date_month,
        sum(amount) as net_revenue,
        count(*) as order_count,
        count(distinct user_id) as purchasing_users
    from orders
    where is_purchase
    group by 1
),

active as (
    select
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
            as date_month,
        count(distinct user_id) as active_users
    from user_days
    group by 1
),

registered as (
    select
        months.date_month,
        count(users.user_id) as registered_users
    from months
    left join users
        on cast(users.signed_up_at as date) <= months.last_day_in_range
    group by 1
),

monthly as (
    select
        months.date_month,
        coalesce(revenue.net_revenue, 0) as net_revenue,
        coalesce(revenue.order_count, 0) as order_count,
        coalesce(revenue.purchasing_users, 0) as purchasing_users,
        coalesce(active.active_users, 0) as active_users,
        registered.registered_users,
        case
            when active.active_users > 0
                then coalesce(revenue.net_revenue, 0) / active.active_users
        end as arpu_active,
        case
            when registered.registered_users > 0
                then
                    coalesce(revenue.net_revenue, 0)
                    / registered.registered_users
        end as arpu_registered,
        case
            when revenue.purchasing_users > 0
                then revenue.net_revenue / revenue.purchasing_users
        end as arppu,
        {{ dbt.dateadd('month', 1, 'months.date_month') }}
        <= {{ as_of_date() }} as is_complete_month
    from months
    left join revenue on months.date_month = revenue.date_month
    left join active on months.date_month = active.date_month
    inner join registered on months.date_month = registered.date_month
)

select * from monthly
