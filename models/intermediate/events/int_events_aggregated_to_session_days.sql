{#- Valid events summed per raw file, user, session and day: the compact
    form every behaviour metric is computed from (about one row per
    session). Incremental by file like base_app__events: a daily run
    aggregates only the events of new or changed files. -#}
{{ config(**incremental_by_file('events', 'stg_loader__raw_files')) }}
{%- set increment = source_file_increment('events', 'stg_loader__raw_files') %}
-- The increment reads the run's file listing at run time, through:
-- depends_on: {{ ref('stg_loader__raw_files') }}

with

events as (
    select * from {{ ref('stg_app__events') }}
    where {{ source_file_filter(increment) }}
),

aggregated as (
    select
        source_file,
        source_file_version,
        user_id,
        session_id,
        cast(occurred_at as date) as activity_date,
        count(*) as event_count,
        count(case when event_type = 'impression' then 1 end)
            as impression_count,
        count(case when event_type = 'click' then 1 end) as click_count,
        count(case when event_type = 'page_view' then 1 end)
            as page_view_count,
        sum(duration_seconds) as browse_seconds,
        coalesce(bool_or(event_type = 'add_to_cart'), false)
            as has_add_to_cart,
        coalesce(bool_or(event_type = 'purchase'), false) as has_purchase,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at
    from events
    group by 1, 2, 3, 4, 5
)

select * from aggregated
