{#- Row conservation per raw table, for BI and the build summary:
    reconciled once in int_raw_tables_reconciled (which also holds the
    max_rejected_share gate), only selected here. -#}
with

reconciled as (
    select * from {{ ref('int_raw_tables_reconciled') }}
),

final as (
    select
        source_table,
        raw_row_count,
        staged_row_count,
        rejected_row_count,
        rejected_share,
        as_of_date,
        horizon_date
    from reconciled
)

select * from final
