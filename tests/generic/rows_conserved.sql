{% test rows_conserved(
    model, raw_relation, rejected_relation, source_table,
    malformed_relation=none
) %}
{#- Fails when the staged model plus the rows rejected for source_table do
    not add up to the raw table (plus, with malformed_relation, the lines of
    its files that could not be read as rows): a row was lost or
    duplicated. -#}
with

counts as (
    select
        (select count(*) from {{ raw_relation }})
        {%- if malformed_relation is not none %}
            + (
                select count(*)
                from {{ malformed_relation }}
                where source_table = '{{ source_table }}'
            )
        {%- endif %} as raw_row_count,
        (select count(*) from {{ model }}) as staged_row_count,
        (
            select count(*)
            from {{ rejected_relation }}
            where source_table = '{{ source_table }}'
        ) as rejected_row_count
)

select *
from counts
where raw_row_count != staged_row_count + rejected_row_count
{% endtest %}
