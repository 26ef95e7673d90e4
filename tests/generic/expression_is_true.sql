{% test expression_is_true(model, expression, column_name=none) %}
{#- Like dbt_utils.expression_is_true: fails on every row where the
    expression (or `column_name expression`) is not true. -#}
select *
from {{ model }}
where not coalesce(
    ({{ column_name ~ ' ' if column_name }}{{ expression }}), false
)
{% endtest %}
