{#- Each user's step between two consecutive as-of dates of the segment
    history: one row per pair of consecutive dates and user of either
    date, with the user's values at both. One pass over the history with
    window functions (lag and lead over the user's snapshots), no join of
    dates with dates. A user in the later snapshot only joined in between
    (is_in_from false: '(new)' in the migrations); a user in the earlier
    one only left (is_in_to false: '(gone)'). -#}
{%- set followed = [
    'primary_segment',
    'rfm_segment',
    'lifecycle_stage',
    'value_tier',
    'cluster_label',
    'cluster_id',
    'order_count',
    'net_revenue',
    'recency_days',
    'sessions_90d',
    'browse_minutes_90d',
] -%}

with

snapshots as (
    select * from {{ ref('int_user_snapshots_accumulated') }}
),

snapshot_dates as (
    select distinct as_of_date
    from snapshots
),

consecutive_dates as (
    select
        as_of_date,
        lag(as_of_date) over (order by as_of_date) as previous_as_of_date,
        lead(as_of_date) over (order by as_of_date) as next_as_of_date
    from snapshot_dates
),

paths as (
    select
        snapshots.as_of_date,
        snapshots.user_id,
        consecutive_dates.previous_as_of_date,
        consecutive_dates.next_as_of_date,
        lag(snapshots.as_of_date) over user_path as user_previous_as_of_date,
        lead(snapshots.as_of_date) over user_path as user_next_as_of_date,
    {%- for column in followed %}
        snapshots.{{ column }},
        lag(snapshots.{{ column }}) over user_path as previous_{{ column }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from snapshots
    inner join consecutive_dates
        on snapshots.as_of_date = consecutive_dates.as_of_date
    window
        user_path as (
            partition by snapshots.user_id order by snapshots.as_of_date
        )
),

-- Every user of a later date, with the earlier date's values when the
-- user was in that snapshot too.
arrivals as (
    select
        previous_as_of_date as from_as_of_date,
        as_of_date as to_as_of_date,
        user_id,
        coalesce(user_previous_as_of_date = previous_as_of_date, false)
            as is_in_from,
        true as is_in_to,
    {%- for column in followed %}
        case
            when user_previous_as_of_date = previous_as_of_date
                then previous_{{ column }}
        end as from_{{ column }},
        {{ column }} as to_{{ column }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from paths
    where previous_as_of_date is not null
),

-- Users of an earlier date missing from the next snapshot.
departures as (
    select
        as_of_date as from_as_of_date,
        next_as_of_date as to_as_of_date,
        user_id,
        true as is_in_from,
        false as is_in_to,
    {%- for column in followed %}
        {{ column }} as from_{{ column }},
        null as to_{{ column }}
        {{- ',' if not loop.last }}
    {%- endfor %}
    from paths
    where
        next_as_of_date is not null
        and user_next_as_of_date is distinct from next_as_of_date
),

transitions as (
    select * from arrivals
    union all
    select * from departures
)

select * from transitions
