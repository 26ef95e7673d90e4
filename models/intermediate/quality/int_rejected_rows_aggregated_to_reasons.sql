{#- Rejected raw rows per table and reason code, with their share of the
    raw table (int_raw_tables_reconciled). Counted once, in
    int_rejected_rows_exemplified. Published, with the rule in words, as
    marts.data_quality_reasons. -#}
with

rejected_by_reason as (
    select
        source_table,
        reject_reason,
        rejected_row_count
    from {{ ref('int_rejected_rows_exemplified') }}
),

raw_tables as (
    select * from {{ ref('int_raw_tables_reconciled') }}
),

with_share as (
    select
        rejected_by_reason.source_table,
        rejected_by_reason.reject_reason,
        rejected_by_reason.rejected_row_count,
        rejected_by_reason.rejected_row_count * 1.0
        / raw_tables.raw_row_count as share_of_raw_rows
    from rejected_by_reason
    inner join raw_tables
        on rejected_by_reason.source_table = raw_tables.source_table
)

select * from with_share
