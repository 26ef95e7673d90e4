{#- Behaviour per user over the short and long windows before as_of_date
    (vars activity_window_short_days and activity_window_long_days), one
    row per user with at least one event before as_of_date. -#}
{%- set windows = [
    ('30d', var('activity_window_short_days')),
    ('90d', var('activity_window_long_days')),
] -%}

with

events as (
    select * from {{ ref('int_events_filtered_to_as_of') }}
),

aggregated as (
    select
        user_id,
        {%- for suffix, days in windows %}
            count(distinct case
                when days_before_as_of <= {{ days }} then session_id
            end) as sessions_{{ suffix }},
            count(distinct case
                when days_before_as_of <= {{ days }} then occurred_date
            end) as active_days_{{ suffix }},
            coalesce(sum(case
                when days_before_as_of <= {{ days }} then duration_seconds
            end), 0) / 60.0 as browse_minutes_{{ suffix }},
            count(case
                when
                    days_before_as_of <= {{ days }}
                    and event_type = 'impression'
                    then 1
            end) as impressions_{{ suffix }},
            count(case
                when
                    days_before_as_of <= {{ days }}
                    and event_type = 'click'
                    then 1
            end) as clicks_{{ suffix }},
            count(case
                when
                    days_before_as_of <= {{ days }}
                    and event_type = 'page_view'
                    then 1
            end) as page_views_{{ suffix }},
            count(distinct case
                when
                    days_before_as_of <= {{ days }}
                    and event_type = 'add_to_cart'
                    then session_id
            end) as add_to_cart_sessions_{{ suffix }},
            count(distinct case
                when
                    days_before_as_of <= {{ days }}
                    and event_type = 'purchase'
                    then session_id
            end) as purchase_sessions_{{ suffix }},
        {%- endfor %}
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by 1
)

select * from aggregated
