-- Every rejected row carries a reason code the reject_reasons seed lists
-- for its table.
with

rejected_rows as (
    select * from {{ ref('stg_app__rejected_rows') }}
),

reject_reasons as (
    select * from {{ ref('reject_reasons') }}
)

select
    rejected_rows.source_table,
    rejected_rows.reject_reason,
    count(*) as row_count
from rejected_rows
left join reject_reasons
    on
        rejected_rows.source_table = reject_reasons.source_table
        and rejected_rows.reject_reason = reject_reasons.reject_reason
where reject_reasons.reject_reason is null
group by 1, 2
