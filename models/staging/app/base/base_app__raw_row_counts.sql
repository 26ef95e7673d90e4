{#- Rows per raw table, counted in the raw data itself (not in staging),
    so the row conservation raw = staged + rejected of
    int_raw_tables_reconciled is a real check. -#}
with

raw_counts as (
    select
        'users' as source_table,
        count(*) as raw_row_count
    from {{ source('app', 'users') }}
    union all
    select
        'orders' as source_table,
        count(*) as raw_row_count
    from {{ source('app', 'orders') }}
    union all
    select
        'events' as source_table,
        count(*) as raw_row_count
    from {{ source('app', 'events') }}
)

select * from raw_counts
