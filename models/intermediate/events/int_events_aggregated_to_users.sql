{#- Behaviour per user over the short and long windows before as_of_date
    (vars activity_window_short_days and activity_window_long_days), one
    row per user with at least one event before as_of_date. -#}
{%- set windows = [
    ('30d', var('activity_window_short_days')),
    ('90d', var('activity_window_long_days')),
] -%}

with

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
),

aggregated as (
    select
        user_id,
        {%- for suffix, days in windows %}
            count(distinct case
                when days_before_as_of <= {{ days }} then session_id
            end) as sessions_{{ suffix }},
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
            count(distinct case
                when days_before_as_of <= {{ days }} and has_add_to_cart
                    then session_id
            end) as add_to_cart_sessions_{{ suffix }},
            count(distinct case
                when days_before_as_of <= {{ days }} and has_purchase
                    then session_id
            end) as purchase_sessions_{{ suffix }},
        {%- endfor %}
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at
    from session_days
    group by 1
)

select * from aggregated
