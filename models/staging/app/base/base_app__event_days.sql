{#- Raw event rows per file and day (parseable timestamps only), for the
    data horizon. Incremental by file like base_app__events, so a daily run
    reads only the new files' timestamps. -#}
{{ config(**incremental_by_file('events')) }}
{%- set increment = source_file_increment('events') %}

with

source as (
    select
        {{ parse_timestamp('occurred_at') }} as occurred_at,
        {{ source_file_column(source('app', 'events')) }} as source_file
    from {{ source('app', 'events') }}
    where {{ source_file_filter(
        increment, source_file_column(source('app', 'events'))
    ) }}
),

file_versions as (
    select
        source_file,
        file_version
    from {{ source('loader', 'raw_files') }}
    where table_name = 'events'
),

counted as (
    select
        source.source_file,
        cast(source.occurred_at as date) as activity_date,
        count(*) as row_count
    from source
    where source.occurred_at is not null
    group by 1, 2
),

versioned as (
    select
        counted.source_file,
        file_versions.file_version as source_file_version,
        counted.activity_date,
        counted.row_count
    from counted
    left join file_versions on counted.source_file = file_versions.source_file
)

select * from versioned
