{#- The raw files the on-run-start hook listed in the data folder, for the
    models after staging that load the raw data file by file: they read the
    listing through this model, so their dependency on it (and the source
    behind it) shows in the DAG instead of being resolved at run time. -#}
with

raw_files as (
    select * from {{ source('loader', 'raw_files') }}
),

renamed as (
    select
        table_name,
        source_file,
        file_version
    from raw_files
)

select * from renamed
