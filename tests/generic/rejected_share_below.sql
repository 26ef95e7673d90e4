{% test rejected_share_below(model, column_name, max_share) %}
{#- Data-quality gate: returns each raw table whose share of rejected rows
    is above max_share, with a message saying which table and why. -#}
select
    source_table,
    {{ column_name }} as rejected_share,
    source_table || ': ' || cast(round(100 * {{ column_name }}, 2) as varchar)
    || '% of raw rows were rejected, more than '
    || cast(round(100 * {{ max_share }}, 2) as varchar)
    || '%: see marts.data_quality_reasons' as message
from {{ model }}
where {{ column_name }} > {{ max_share }}
{% endtest %}
