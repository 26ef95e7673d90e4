{#- Rejected raw rows per table and reason code, with the rule in words
    and the share of the raw table: the first place to look when a number
    seems off. -#}
with

rejected_rows as (
    select * from {{ ref('stg_app__rejected_rows') }}
),

reject_reasons as (
    select * from {{ ref('reject_reasons') }}
),

data_quality as (
    select * from {{ ref('data_quality') }}
),

rejected_by_reason as (
    select
        source_table,
        reject_reason,
        count(*) as rejected_row_count
    from rejected_rows
    group by 1, 2
),

described as (
    select
        rejected_by_reason.source_table,
        rejected_by_reason.reject_reason,
        reject_reasons.precedence,
        reject_reasons.rule,
        rejected_by_reason.rejected_row_count,
        rejected_by_reason.rejected_row_count * 1.0
        / data_quality.raw_row_count as share_of_raw_rows
    from rejected_by_reason
    inner join data_quality
        on rejected_by_reason.source_table = data_quality.source_table
    left join reject_reasons
        on
            rejected_by_reason.source_table = reject_reasons.source_table
            and rejected_by_reason.reject_reason = reject_reasons.reject_reason
)

select * from described
