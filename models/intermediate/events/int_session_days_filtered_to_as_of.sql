{#- The session days (valid events summed per user, session and day) before
    as_of_date, with how many days before it (1 = the day before). -#}
{{ config(materialized='view') }}

with

session_days as (
    select * from {{ ref('int_events_aggregated_to_session_days') }}
),

filtered as (
    select
        session_days.user_id,
        session_days.session_id,
        session_days.activity_date,
        {{ dbt.datediff(
            'session_days.activity_date', as_of_date(), 'day'
        ) }} as days_before_as_of,
        session_days.event_count,
        session_days.impression_count,
        session_days.click_count,
        session_days.page_view_count,
        session_days.browse_seconds,
        session_days.has_add_to_cart,
        session_days.has_checkout,
        session_days.has_purchase,
        session_days.first_event_at,
        session_days.last_event_at,
        session_days.funnel_depth,
        session_days.session_path,
        session_days.step_events_without_session
    from session_days
    where session_days.activity_date < {{ as_of_date() }}
)

select * from filtered
