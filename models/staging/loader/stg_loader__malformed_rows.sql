{#- The lines of raw text files that could not be read as rows, as the
    on-run-start hook kept them: each becomes a rejected row with reason
    malformed_row (stg_app__rejected_rows), its file, line number and text
    in the raw record. -#}
with

malformed_rows as (
    select * from {{ source('loader', 'malformed_rows') }}
),

renamed as (
    select
        table_name as source_table,
        source_file,
        line_number,
        raw_line,
        problem
    from malformed_rows
)

select * from renamed
