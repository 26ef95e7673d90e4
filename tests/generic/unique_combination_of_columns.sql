{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Like dbt_utils.unique_combination_of_columns: fails on every
    combination of the columns that occurs more than once. -#}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as row_count
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
