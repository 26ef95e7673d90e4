{#- Sessions reaching each funnel step (var funnel_steps) per primary
    segment and month of activity, with step conversion (the
    session_funnels docs block). A session day reaches step k when its
    funnel_depth is at least k, so the sessions never increase along the
    steps. -#}
{%- set steps = funnel_steps() %}

with

session_days as (
    select * from {{ ref('int_session_days_joined_to_segments') }}
),

monthly as (
    select
        primary_segment,
        activity_month,
        {%- for step in steps %}
            count(case
                when
                    session_id is not null
                    and funnel_depth >= {{ loop.index }}
                    then 1
            end) as sessions_{{ loop.index }},
            coalesce(sum(case
                when session_id is null
                    then step_events_without_session[{{ loop.index }}]
            end), 0) as events_without_session_{{ loop.index }},
        {%- endfor %}
        count(*) as session_day_rows
    from session_days
    group by 1, 2
),

steps as (
    {%- for step in steps %}
        select
            primary_segment,
            activity_month,
            {{ loop.index }} as step_number,
            {{ sql_string(step) }} as step,
            sessions_{{ loop.index }} as sessions,
            cast(events_without_session_{{ loop.index }} as bigint)
                as events_without_session
        from monthly
        {{- '\n        union all' if not loop.last }}
    {%- endfor %}
),

converted as (
    select
        primary_segment,
        activity_month,
        step_number,
        step,
        sessions,
        sessions / nullif(lag(sessions) over (
            partition by primary_segment, activity_month
            order by step_number
        ), 0) as step_conversion,
        sessions / nullif(first_value(sessions) over (
            partition by primary_segment, activity_month
            order by step_number
        ), 0) as conversion_from_first,
        events_without_session
    from steps
)

select * from converted
