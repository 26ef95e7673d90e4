{#- Rows per raw table, counted in the raw data itself (not in staging),
    so the row conservation raw = staged + rejected of
    int_raw_tables_reconciled is a real check: the rows the raw views read
    plus the lines of text files that could not be read as rows. -#}
with

read_counts as (
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
),

malformed_counts as (
    select
        source_table,
        count(*) as malformed_row_count
    from {{ ref('stg_loader__malformed_rows') }}
    group by 1
),

raw_counts as (
    select
        read_counts.source_table,
        read_counts.raw_row_count
        + coalesce(malformed_counts.malformed_row_count, 0) as raw_row_count
    from read_counts
    left join malformed_counts
        on read_counts.source_table = malformed_counts.source_table
)

select * from raw_counts
