{#- Each user's time in the primary segment as of as_of_date, read off the
    segment history up to that date (a build for an earlier date never
    looks at later snapshots): the segment at the user's previous
    snapshot, the as-of date the user entered the current segment (the
    first snapshot of the unbroken run of the user's snapshots in it that
    ends at as_of_date), and the changes of segment over the last
    var segment_changes_snapshots snapshots. One pass with window
    functions over the user's snapshots. -#}
{%- set changes_snapshots = var('segment_changes_snapshots') -%}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

snapshots as (
    select
        as_of_date,
        user_id,
        primary_segment
    from {{ ref('int_user_snapshots_accumulated') }}
    where as_of_date <= (select as_of.as_of_date from as_of)
),

-- 1 = the current as-of date, 2 = the snapshot before it, ...
snapshot_dates as (
    select
        as_of_date,
        row_number() over (order by as_of_date desc) as snapshots_back
    from (select distinct snapshots.as_of_date from snapshots) as dates
),

steps as (
    select
        snapshots.as_of_date,
        snapshots.user_id,
        snapshots.primary_segment,
        lag(snapshots.primary_segment)
            over user_path
            as previous_primary_segment,
        lag(snapshot_dates.snapshots_back)
            over user_path
            as previous_snapshots_back
    from snapshots
    inner join
        snapshot_dates
        on snapshots.as_of_date = snapshot_dates.as_of_date
    window
        user_path as (
            partition by snapshots.user_id order by snapshots.as_of_date
        )
),

flagged as (
    select
        *,
        previous_primary_segment is not null
        and primary_segment <> previous_primary_segment as is_change,
        sum(
            case
                when
                    primary_segment is distinct from previous_primary_segment
                    then 1
                else 0
            end
        ) over (
            partition by user_id order by as_of_date rows unbounded preceding
        ) as run_number
    from steps
),

tenure as (
    select
        as_of_date,
        user_id,
        previous_primary_segment,
        min(as_of_date)
            over (partition by user_id, run_number)
            as primary_segment_since,
        count(*) filter (
            where is_change
            and previous_snapshots_back <= {{ changes_snapshots }}
        ) over (partition by user_id) as primary_segment_changes
    from flagged
),

final as (
    select
        user_id,
        as_of_date,
        previous_primary_segment,
        primary_segment_since,
        cast(as_of_date - primary_segment_since as integer)
            as days_in_primary_segment,
        cast(primary_segment_changes as integer) as primary_segment_changes
    from tenure
    where as_of_date = (select as_of.as_of_date from as_of)
)

select * from final
