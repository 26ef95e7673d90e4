{#- Row conservation per raw table: raw = staged + rejected, with the
    rejected share, the as-of date and the data horizon of the build. Stops
    the build when a table's rejected share is above var max_rejected_share.
    Published as marts.data_quality. -#}
with

raw_counts as (
    select * from {{ ref('base_app__raw_row_counts') }}
),

staged_counts as (
    select
        'users' as source_table,
        count(*) as staged_row_count
    from {{ ref('stg_app__users') }}
    union all
    select
        'orders' as source_table,
        count(*) as staged_row_count
    from {{ ref('stg_app__orders') }}
    union all
    select
        'events' as source_table,
        count(*) as staged_row_count
    from {{ ref('stg_app__events') }}
),

rejected_counts as (
    select
        source_table,
        count(*) as rejected_row_count
    from {{ ref('stg_app__rejected_rows') }}
    group by 1
),

horizon as (
    select horizon_date from {{ ref('base_app__data_horizon') }}
),

quality as (
    select
        raw_counts.source_table,
        raw_counts.raw_row_count,
        staged_counts.staged_row_count,
        coalesce(rejected_counts.rejected_row_count, 0) as rejected_row_count,
        case
            when raw_counts.raw_row_count > 0
                then
                    coalesce(rejected_counts.rejected_row_count, 0) * 1.0
                    / raw_counts.raw_row_count
        end as rejected_share,
        {{ as_of_date() }} as as_of_date,
        horizon.horizon_date
    from raw_counts
    inner join staged_counts
        on raw_counts.source_table = staged_counts.source_table
    left join rejected_counts
        on raw_counts.source_table = rejected_counts.source_table
    cross join horizon
),

checked as (
    select
        *,
        case
            when rejected_share > {{ var('max_rejected_share') }}
                then {{ raise_data_error(
                    "source_table || ': ' || "
                    ~ "cast(round(100 * rejected_share, 2) as varchar) || "
                    ~ "'% of raw rows were rejected, above the limit of "
                    ~ (var('max_rejected_share') | float * 100) | round(2)
                    ~ "% (var max_rejected_share, env "
                    ~ "SEGMENTS_MAX_REJECTED_SHARE): see "
                    ~ "staging.stg_app__rejected_rows for the rows and reasons.'"
                ) }}
        end as failed_check
    from quality
)

select
    source_table,
    raw_row_count,
    staged_row_count,
    rejected_row_count,
    rejected_share,
    as_of_date,
    horizon_date
from checked
-- The filter forces the gate above to be evaluated.
where failed_check is null
