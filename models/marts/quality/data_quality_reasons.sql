{#- Rejected raw rows per table and reason code, with the rule in words
    and the share of the raw table: the first place to look when a number
    seems off. Counted in int_rejected_rows_aggregated_to_reasons; the rule
    comes from the reject_reasons lookup. -#}
with

rejected_by_reason as (
    select * from {{ ref('int_rejected_rows_aggregated_to_reasons') }}
),

reject_reasons as (
    select * from {{ ref('reject_reasons') }}
),

described as (
    select
        rejected_by_reason.source_table,
        rejected_by_reason.reject_reason,
        reject_reasons.precedence,
        reject_reasons.rule,
        rejected_by_reason.rejected_row_count,
        rejected_by_reason.share_of_raw_rows
    from rejected_by_reason
    left join reject_reasons
        on
            rejected_by_reason.source_table = reject_reasons.source_table
            and rejected_by_reason.reject_reason = reject_reasons.reject_reason
)

select * from described
