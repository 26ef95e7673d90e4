{#- Whether the lookalike seed may be fitted, on each date in question: THE
    fallback rule of the lookalike models (the population, the fits, the
    scores and the evaluation all read status from here). One row per
    purpose: scoring (the build's as-of date T: who resembles the seed
    now) and evaluation (the latest snapshot date S <= T -
    lookalike_horizon_days that has both the segment history and the
    feature history: fitted at S, checked against the seed at T).
    status ready, or fallback with the first reason that applies:
    unknown_seed_column (lookalike_seed.column is not one of the seed
    columns; it is never put in SQL then), no_history (evaluation only: no
    such snapshot S), seed_too_small (fewer than lookalike_min_seed_size
    seed members on the date), too_few_non_members (fewer non-members than
    that: nobody to score); and a note naming the var, the dates or counts
    and what to do. -#}
{%- set seed = var('lookalike_seed') -%}
{%- set seed_column = seed.get('column') if seed is mapping else none -%}
{%- set seed_value = seed.get('value') if seed is mapping else none -%}
{%- set is_known_column = lookalike_seed_column() is not none -%}
{%- set min_seed_size = var('lookalike_min_seed_size') | int -%}
{%- set horizon_days = var('lookalike_horizon_days') | int -%}
{#- The seed's column and value as SQL text literals (null when absent). -#}
{%- set seed_column_sql = (
    "'" ~ (seed_column | string | replace("'", "''")) ~ "'"
    if seed_column is not none else 'cast(null as varchar)'
) -%}
{%- set seed_value_sql = (
    "'" ~ (seed_value | string | replace("'", "''")) ~ "'"
    if seed_value is not none else 'cast(null as varchar)'
) -%}
{%- set membership = lookalike_seed_column_value() -%}

with

calendar as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

segmented as (
    select
        user_id,
        {{ membership }} as seed_column_value
    from {{ ref('int_users_segmented') }}
),

snapshots as (
    select
        as_of_date,
        user_id,
        {{ membership }} as seed_column_value
    from {{ ref('int_user_snapshots_accumulated') }}
),

features as (
    select
        as_of_date,
        user_id
    from {{ ref('int_user_features_accumulated') }}
),

evaluation_dates as (
    select max(snapshots.as_of_date) as snapshot_date
    from snapshots
    cross join calendar
    where
        snapshots.as_of_date
        <= {{ dbt.dateadd('day', -horizon_days, 'calendar.as_of_date') }}
        and exists (
            select 1
            from features
            where features.as_of_date = snapshots.as_of_date
        )
),

purposes as (
    select
        'scoring' as purpose,
        calendar.as_of_date,
        calendar.as_of_date as snapshot_date
    from calendar
    union all
    select
        'evaluation' as purpose,
        calendar.as_of_date,
        evaluation_dates.snapshot_date
    from calendar
    cross join evaluation_dates
),

-- The users of each purpose's date that have features there (those the
-- fit sees), with the value of the seed column.
population as (
    select
        'scoring' as purpose,
        segmented.user_id,
        segmented.seed_column_value
    from segmented
    inner join features
        on segmented.user_id = features.user_id
    inner join calendar
        on features.as_of_date = calendar.as_of_date
    union all
    select
        'evaluation' as purpose,
        snapshots.user_id,
        snapshots.seed_column_value
    from snapshots
    inner join evaluation_dates
        on snapshots.as_of_date = evaluation_dates.snapshot_date
    inner join features
        on
            snapshots.as_of_date = features.as_of_date
            and snapshots.user_id = features.user_id
),

counted as (
    select
        purpose,
        count(*) as users,  -- noqa: RF04
        count(*) filter (
            where seed_column_value = {{ seed_value_sql }}
        ) as seed_users
    from population
    group by 1
),

-- The values the seed column has on the date, most users first: named in
-- the note when no user has the seed value.
value_counts as (
    select
        purpose,
        seed_column_value,
        count(*) as users  -- noqa: RF04
    from population
    group by 1, 2
),

values_listed as (
    select
        purpose,
        string_agg(
            coalesce(seed_column_value, '(null)') || ' ('
            || cast(users as varchar) || ')',
            ', '
            order by users desc, seed_column_value asc
        ) as values_text
    from value_counts
    group by 1
),

reasoned as (
    select
        purposes.purpose,
        purposes.as_of_date,
        purposes.snapshot_date,
        coalesce(counted.users, 0) as users,  -- noqa: RF04
        coalesce(counted.seed_users, 0) as seed_users,
        coalesce(counted.users, 0) - coalesce(counted.seed_users, 0)
            as non_member_users,
        values_listed.values_text,
        case
            when not {{ is_known_column }} then 'unknown_seed_column'
            when purposes.snapshot_date is null then 'no_history'
            when coalesce(counted.seed_users, 0) < {{ min_seed_size }}
                then 'seed_too_small'
            when
                coalesce(counted.users, 0) - coalesce(counted.seed_users, 0)
                < {{ min_seed_size }}
                then 'too_few_non_members'
        end as fallback_reason,
        case purposes.purpose
            when 'scoring' then 'no lookalike scores'
            else 'no lookalike evaluation'
        end as outcome_text,
        {{ seed_column_sql }} || ' = '
        || coalesce({{ seed_value_sql }}, 'null') as seed_text
    from purposes
    left join counted
        on purposes.purpose = counted.purpose
    left join values_listed
        on purposes.purpose = values_listed.purpose
),

checked as (
    select
        purpose,
        {{ seed_column_sql }} as seed_column,
        {{ seed_value_sql }} as seed_value,
        as_of_date,
        snapshot_date,
        {{ horizon_days }} as horizon_days,
        users,
        seed_users,
        non_member_users,
        case
            when fallback_reason is null then 'ready' else 'fallback'
        end as status,
        fallback_reason,
        case
            when fallback_reason = 'unknown_seed_column'
                then
                    outcome_text || ': lookalike_seed column '
                    || coalesce('''' || {{ seed_column_sql }} || '''', '(none given)')
                    || ' is not one of '
                    || '{{ lookalike_seed_columns() | join(", ") }}:'
                    || ' set var lookalike_seed to a column and a value, e.g.'
                    || ' {column: primary_segment, value: high_value}'
            when fallback_reason = 'no_history'
                then
                    outcome_text || ': no segment snapshot with features on'
                    || ' or before '
                    || cast(cast(
                        {{ dbt.dateadd('day', -horizon_days, 'as_of_date') }}
                        as date
                    ) as varchar)
                    || ' ({{ horizon_days }} days, lookalike_horizon_days,'
                    || ' before ' || cast(as_of_date as varchar)
                    || ') to fit on: backfill the history (e.g. make run'
                    || ' HISTORY_FROM='
                    || cast(cast(
                        {{ dbt.dateadd('day', -horizon_days, 'as_of_date') }}
                        as date
                    ) as varchar)
                    || ') or shorten lookalike_horizon_days'
            when fallback_reason = 'seed_too_small'
                then
                    outcome_text || ': ' || cast(seed_users as varchar)
                    || ' of ' || cast(users as varchar) || ' users have '
                    || seed_text || ' on ' || cast(snapshot_date as varchar)
                    || ', fewer than {{ min_seed_size }}'
                    || ' (lookalike_min_seed_size): choose a larger seed'
                    || ' (var lookalike_seed) or lower lookalike_min_seed_size'
                    || case
                        when seed_users = 0
                            then
                                '; the values on that date: '
                                || coalesce(values_text, 'none (no users)')
                        else ''
                    end
            when fallback_reason = 'too_few_non_members'
                then
                    outcome_text || ': only '
                    || cast(non_member_users as varchar) || ' of '
                    || cast(users as varchar) || ' users are outside the seed '
                    || seed_text || ' on ' || cast(snapshot_date as varchar)
                    || ', fewer than {{ min_seed_size }}'
                    || ' (lookalike_min_seed_size): nobody to score; choose a'
                    || ' smaller seed (var lookalike_seed)'
        end as fallback_note
    from reasoned
)

select * from checked
