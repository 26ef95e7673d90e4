{#- Valid events that happened before as_of_date, with how many days
    before it (1 = the day before). -#}
with

events as (
    select * from {{ ref('stg_app__events') }}
),

as_of as (
    select as_of_date from {{ ref('util_as_of_date') }}
),

filtered as (
    select
        events.event_id,
        events.user_id,
        events.session_id,
        events.occurred_at,
        cast(events.occurred_at as date) as occurred_date,
        {{ dbt.datediff(
            'cast(events.occurred_at as date)', 'as_of.as_of_date', 'day'
        ) }} as days_before_as_of,
        events.event_type,
        events.duration_seconds
    from events
    cross join as_of
    where events.occurred_at < as_of.as_of_date
)

select * from filtered
