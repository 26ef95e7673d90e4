{% test mutually_exclusive(model, column_name, key) %}
{#- No key belongs to two different values of the column (segments do not
    overlap): returns every key with more than one distinct value. -#}
select
    {{ key }},
    count(distinct {{ column_name }}) as value_count
from {{ model }}
group by 1
having count(distinct {{ column_name }}) > 1
{% endtest %}
