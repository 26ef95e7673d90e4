{#- Behaviour per user over the short and long windows before as_of_date
    (vars activity_window_short_days and activity_window_long_days), one
    row per user with at least one event before as_of_date. Distinct
    sessions are counted in two steps, not with one count(distinct) per
    metric and window: each session of the windows is reduced to the
    latest day it was active (with an add_to_cart, with a purchase), then
    a session is in a window when that day is. -#}
{%- set windows = [
    ('30d', var('activity_window_short_days')),
    ('90d', var('activity_window_long_days')),
] -%}
{%- set longest = [
    var('activity_window_short_days') | int,
    var('activity_window_long_days') | int,
] | max -%}

with

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
),

summed as (
    select
        user_id,
        {%- for suffix, days in windows %}
            count(distinct case
                when days_before_as_of <= {{ days }} then activity_date
            end) as active_days_{{ suffix }},
            coalesce(sum(case
                when days_before_as_of <= {{ days }} then browse_seconds
            end), 0) / 60.0 as browse_minutes_{{ suffix }},
            cast(coalesce(sum(case
                when days_before_as_of <= {{ days }} then impression_count
            end), 0) as bigint) as impressions_{{ suffix }},
            cast(coalesce(sum(case
                when days_before_as_of <= {{ days }} then click_count
            end), 0) as bigint) as clicks_{{ suffix }},
            cast(coalesce(sum(case
                when days_before_as_of <= {{ days }} then page_view_count
            end), 0) as bigint) as page_views_{{ suffix }},
        {%- endfor %}
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at
    from session_days
    group by 1
),

-- Each session of the windows (a session may span days, and its rows
-- several files) with how many days before as_of_date it was last active,
-- last had an add_to_cart, last had a purchase.
sessions as (
    select
        user_id,
        session_id,
        min(days_before_as_of) as days_before_last_active,
        min(case when has_add_to_cart then days_before_as_of end)
            as days_before_last_add_to_cart,
        min(case when has_purchase then days_before_as_of end)
            as days_before_last_purchase
    from session_days
    where
        session_id is not null
        and days_before_as_of <= {{ longest }}
    group by 1, 2
),

sessions_counted as (
    select
        {%- for suffix, days in windows %}
            count(case
                when days_before_last_active <= {{ days }} then 1
            end) as sessions_{{ suffix }},
            count(case
                when days_before_last_add_to_cart <= {{ days }} then 1
            end) as add_to_cart_sessions_{{ suffix }},
            count(case
                when days_before_last_purchase <= {{ days }} then 1
            end) as purchase_sessions_{{ suffix }},
        {%- endfor %}
        user_id
    from sessions
    -- user_id, after the {{ windows | length }} x 3 counts
    group by {{ windows | length * 3 + 1 }}
),

aggregated as (
    select
        summed.user_id,
        {%- for suffix, days in windows %}
            coalesce(sessions_counted.sessions_{{ suffix }}, 0)
                as sessions_{{ suffix }},
            summed.active_days_{{ suffix }},
            summed.browse_minutes_{{ suffix }},
            summed.impressions_{{ suffix }},
            summed.clicks_{{ suffix }},
            summed.page_views_{{ suffix }},
            coalesce(sessions_counted.add_to_cart_sessions_{{ suffix }}, 0)
                as add_to_cart_sessions_{{ suffix }},
            coalesce(sessions_counted.purchase_sessions_{{ suffix }}, 0)
                as purchase_sessions_{{ suffix }},
        {%- endfor %}
        summed.first_event_at,
        summed.last_event_at
    from summed
    left join sessions_counted on summed.user_id = sessions_counted.user_id
)

select * from aggregated
