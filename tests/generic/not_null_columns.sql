{% test not_null_columns(model, column_names) %}
{#- dbt's not_null for many columns of one model in one test: a single
    scan counts each column's nulls, and the test fails with one row per
    column that has any (its name and how many rows). One node instead of
    one per column keeps the build's fixed cost per test down. -#}
with

counted as (
    select
    {%- for column_name in column_names %}
        sum(case when {{ column_name }} is null then 1 else 0 end)
            as {{ column_name }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

{% for column_name in column_names -%}
select
    '{{ column_name }}' as column_name,
    {{ column_name }} as null_rows
from counted
where {{ column_name }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
