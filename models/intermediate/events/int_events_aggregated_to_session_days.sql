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
        -- The event's time and code in one sortable number: a session's
        -- sorted list of keys is its events in time order, those of one
        -- instant in funnel order (cheaper than an ordered aggregate).
        epoch_us(occurred_at) * 256 + {{ event_code('event_type') }}
            as event_key
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
        list_sort(list(event_key)) as event_keys
    from events
    group by 1, 2, 3, 4, 5
),

coded as (
    select
        *,
        -- The codes of the events in time order. (sqlfluff cannot parse
        -- DuckDB's lambdas.)
        -- noqa: disable=PRS
        list_transform(
            event_keys, lambda k: cast(k % 256 as utinyint)
        ) as event_codes
        -- noqa: enable=PRS
    from aggregated
),

collapsed as (
    -- noqa: disable=PRS,LT02
    select
        *,
        case
            when session_id is not null
                then {{ collapse_repeats('event_codes') }}
        end as path_codes
    from coded
    -- noqa: enable=PRS,LT02
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
                then {{ funnel_depth('path_codes') }}
        end as funnel_depth,
        case
            when session_id is not null
                then {{ session_path('path_codes') }}
        end as session_path,
        case
            when session_id is null
                then {{ funnel_step_event_counts('event_codes') }}
        end as step_events_without_session,
        -- noqa: enable=PRS
        {{ sql_string(rules['value']) }} as session_rules,
        '{{ invocation_id }}' as loaded_by_invocation_id
    from collapsed
)

select * from sequenced
