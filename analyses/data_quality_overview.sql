-- Rejected raw rows per table and reason, largest first, next to each
-- table's totals.
with

reasons as (
    select * from {{ ref('data_quality_reasons') }}
),

tables as (
    select * from {{ ref('data_quality') }}
),

overview as (
    select
        reasons.source_table,
        reasons.reject_reason,
        reasons.rule,
        reasons.rejected_row_count,
        reasons.share_of_raw_rows,
        tables.raw_row_count,
        tables.rejected_share as table_rejected_share
    from reasons
    inner join tables on reasons.source_table = tables.source_table
)

select * from overview
order by 1 asc, 4 desc
