{#- One row per user and day on which the user was active before
    as_of_date: placed a purchase or produced any event. -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
),

activity as (
    select
        user_id,
        ordered_date as activity_date,
        1 as purchase_count,
        0 as event_count
    from orders
    where is_purchase

    union all

    select
        user_id,
        activity_date,
        0 as purchase_count,
        event_count
    from session_days
),

aggregated as (
    select
        user_id,
        activity_date,
        sum(purchase_count) as purchase_count,
        sum(event_count) as event_count
    from activity
    group by 1, 2
)

select * from aggregated
