{#- Valid events summed per raw file, user, session and day: the compact
    form every behaviour metric is computed from (about one row per
    session), with each session day's funnel depth and path (the
    session_funnels docs block). Incremental by file like
    base_app__events: a daily run aggregates only the events of new or
    changed files, in this one pass; a file whose rows were computed with
    other funnel rules (column session_rules) is loaded again. -#}
{%- set rules = {'column': 'session_rules', 'value': session_rules()} %}
{{ config(**incremental_by_file('events', 'stg_loader__raw_files', rules)) }}
{%- set increment = source_file_increment(
    'events', 'stg_loader__raw_files', rules
) %}
-- The increment reads the run's file listing at run time, through:
-- depends_on: {{ ref('stg_loader__raw_files') }}

with

events as (
    select
        *,
        {{ event_code('event_type') }} as event_code
    from {{ ref('stg_app__events') }}
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
        coalesce(bool_or(event_type = 'checkout'), false) as has_checkout,
        coalesce(bool_or(event_type = 'purchase'), false) as has_purchase,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        -- The events in time order, those of one instant in funnel order.
        list(event_code order by occurred_at, event_code) as event_codes
    from events
    group by 1, 2, 3, 4, 5
),

sequenced as (
    select
        source_file,
        source_file_version,
        user_id,
        session_id,
        activity_date,
        event_count,
        impression_count,
        click_count,
        page_view_count,
        browse_seconds,
        has_add_to_cart,
        has_checkout,
        has_purchase,
        first_event_at,
        last_event_at,
        -- Events without a session id never form a session: no depth or
        -- path, their funnel steps counted apart. (sqlfluff cannot parse
        -- DuckDB's lambdas: the macros are tested by a unit test.)
        -- noqa: disable=PRS
        case
            when session_id is not null
                then {{ funnel_depth('event_codes') }}
        end as funnel_depth,
        case
            when session_id is not null
                then {{ session_path('event_codes') }}
        end as session_path,
        case
            when session_id is null
                then {{ funnel_step_event_counts('event_codes') }}
        end as step_events_without_session,
        -- noqa: enable=PRS
        {{ sql_string(rules['value']) }} as session_rules
    from aggregated
)

select * from sequenced
