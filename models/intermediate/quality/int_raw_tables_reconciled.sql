{#- Row conservation per raw table: raw = staged + rejected, with the
    rejected share, the as-of date and the data horizon of the build. Stops
    the build when a table's rejected share is above var max_rejected_share
    and at least var min_rejected_rows_to_stop rows were rejected, with a
    message naming the commonest reasons, an example raw value and the fix;
    below that count, or above var warn_rejected_share, the row carries the
    same text as a warning (marts.data_quality_warnings). Published as
    marts.data_quality. -#}
{%- set max_share = var('max_rejected_share') | float %}
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

described as (
    select
        *,
        source_table || ': ' || {{ percent_text('rejected_share') }}
        || '% of ' || {{ count_text('raw_row_count') }}
        || ' raw rows rejected' as rejected_text,
        ' — ' || {{ top_reject_reasons('quality.source_table') }}
            as reasons_text,
        case
            when rejected_share > {{ max_share }}
                then 'rejected_share_above_limit'
            when rejected_share > {{ var('warn_rejected_share') }}
                then 'rejected_share_above_warning_level'
        end as warning_kind
    from quality
),

checked as (
    select
        *,
        case
            when
                warning_kind = 'rejected_share_above_limit'
                and rejected_row_count >= {{ var('min_rejected_rows_to_stop') }}
                then {{ raise_data_error(
                    "rejected_text || ' (limit ' || "
                    ~ percent_text(max_share)
                    ~ " || '%, var max_rejected_share or env "
                    ~ "SEGMENTS_MAX_REJECTED_SHARE)' || coalesce(reasons_text, '')"
                ) }}
        end as failed_check,
        case
            when warning_kind = 'rejected_share_above_limit'
                then
                    rejected_text || ' (above the limit of '
                    || {{ percent_text(max_share) }}
                    || '%, var max_rejected_share, but fewer than '
                    || '{{ var("min_rejected_rows_to_stop") }}'
                    || ' rows, var min_rejected_rows_to_stop, so the build '
                    || 'went on)' || coalesce(reasons_text, '')
            when warning_kind = 'rejected_share_above_warning_level'
                then
                    rejected_text || ' (more than '
                    || {{ percent_text(var('warn_rejected_share')) }}
                    || '%, var warn_rejected_share)'
                    || coalesce(reasons_text, '')
        end as warning
    from described
)

select
    source_table,
    raw_row_count,
    staged_row_count,
    rejected_row_count,
    rejected_share,
    as_of_date,
    horizon_date,
    warning_kind,
    warning
from checked
-- The filter forces the gate above to be evaluated.
where failed_check is null
