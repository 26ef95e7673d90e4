{#- Every data-quality warning of the build, each a sentence naming the
    table (and column), the problem and the fix; make run's summary prints
    them. Written once, in int_raw_tables_reconciled (rejected shares) and
    int_cleared_values_measured (cleared values). -#}
with

reconciled as (
    select * from {{ ref('int_raw_tables_reconciled') }}
),

cleared as (
    select * from {{ ref('int_cleared_values_measured') }}
),

warnings as (
    select
        source_table,
        cast(null as varchar) as column_name,
        warning_kind,
        warning as message
    from reconciled
    where warning is not null

    union all

    select
        source_table,
        column_name,
        'cleared_share_above_warning_level' as warning_kind,
        warning as message
    from cleared
    where warning is not null
)

select * from warnings
