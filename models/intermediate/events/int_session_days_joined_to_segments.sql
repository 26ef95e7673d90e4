{#- The session days before as_of_date with the user's current primary
    segment and the month of the day: what the per-segment funnels and
    behaviour marts aggregate. A view: one pass of each mart over the
    session days, no copy of them. -#}
{{ config(materialized='view') }}

with

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
),

segmented as (
    select * from {{ ref('int_users_segmented') }}
),

joined as (
    select
        segmented.primary_segment,
        session_days.user_id,
        session_days.session_id,
        session_days.activity_date,
        cast(
            {{ dbt.date_trunc('month', 'session_days.activity_date') }} as date
        ) as activity_month,
        session_days.event_count,
        session_days.impression_count,
        session_days.click_count,
        session_days.has_add_to_cart,
        session_days.has_checkout,
        session_days.has_purchase,
        session_days.funnel_depth,
        session_days.session_path,
        session_days.step_events_without_session
    from session_days
    inner join segmented
        on session_days.user_id = segmented.user_id
)

select * from joined
