{#- Every data-quality warning of the build, each a sentence naming the
    table (and column), the problem and the fix; make run's summary prints
    them. Written once, in int_raw_tables_reconciled (rejected shares),
    int_cleared_values_measured (cleared values) and
    int_order_amount_outliers_measured (implausible amounts). -#}
with

reconciled as (
    select * from {{ ref('int_raw_tables_reconciled') }}
),

cleared as (
    select * from {{ ref('int_cleared_values_measured') }}
),

amount_outliers as (
    select * from {{ ref('int_order_amount_outliers_measured') }}
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

    union all

    select
        source_table,
        column_name,
        'amount_outliers' as warning_kind,
        warning as message
    from amount_outliers
)

select * from warnings
