{#- Optional raw values cleared by staging (unreadable, or after the data
    horizon) per raw table and column, with an example, the fix and a
    warning when many were cleared: measured in
    int_cleared_values_measured, only selected here. -#}
with

measured as (
    select * from {{ ref('int_cleared_values_measured') }}
),

final as (
    select
        source_table,
        column_name,
        given_value_count,
        cleared_value_count,
        cleared_share,
        example_value,
        hint,
        warning
    from measured
)

select * from final
