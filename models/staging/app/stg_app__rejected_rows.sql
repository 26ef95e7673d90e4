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

malformed_rows as (
    select * from {{ ref('stg_loader__malformed_rows') }}
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

    union all

    select
        source_table,
        cast(null as varchar) as raw_key,
        cast(null as varchar) as user_id,
        'malformed_row' as reject_reason,
        {{ row_as_json(
            'struct_pack(source_file := source_file,'
            ~ ' line_number := line_number, raw_line := raw_line,'
            ~ ' problem := problem)'
        ) }} as raw_record
    from malformed_rows
)

select * from rejected_rows
