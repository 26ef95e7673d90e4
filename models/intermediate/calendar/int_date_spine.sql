{#- One row per day from the first valid order or event to the day before
    as_of_date, with its week and month. Built from a digits cross join, so
    it runs on any warehouse (up to 100,000 days). -#}
with

digits as (
    select digit_values.digit
    from (
        values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)
    ) as digit_values (digit)
),

numbers as (
    select
        ones.digit
        + 10 * tens.digit
        + 100 * hundreds.digit
        + 1000 * thousands.digit
        + 10000 * ten_thousands.digit as day_number
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

bounds as (
    select
        cast(first_ordered_at as date) as first_date,
        as_of_date
    from {{ ref('int_as_of_date') }}
),

first_event as (
    select min(activity_date) as first_event_date
    from {{ ref('int_events_aggregated_to_session_days') }}
),

spine as (
    select
        cast({{ dbt.dateadd(
            'day',
            'numbers.day_number',
            'least(bounds.first_date, '
            ~ 'coalesce(first_event.first_event_date, bounds.first_date))'
        ) }} as date) as date_day
    from numbers
    cross join bounds
    cross join first_event
),

dated as (
    select
        spine.date_day,
        cast({{ dbt.date_trunc('week', 'spine.date_day') }} as date)
            as date_week,
        cast({{ dbt.date_trunc('month', 'spine.date_day') }} as date)
            as date_month
    from spine
    cross join bounds
    where spine.date_day < bounds.as_of_date
)

select * from dated
