with

users as (
    select * from {{ ref('base_app__users') }}
),

orders as (
    select * from {{ ref('base_app__orders') }}
),

events as (
    select * from {{ ref('base_app__events') }}
),

rejected_rows as (
    select
        'users' as source_table,
        user_id as raw_key,
        user_id,
        reject_reason,
        raw_record
    from users
    where reject_reason is not null

    union all

    select
        'orders' as source_table,
        order_id as raw_key,
        user_id,
        reject_reason,
        raw_record
    from orders
    where reject_reason is not null

    union all

    select
        'events' as source_table,
        event_id as raw_key,
        user_id,
        reject_reason,
        raw_record
    from events
    where reject_reason is not null
)

select * from rejected_rows
