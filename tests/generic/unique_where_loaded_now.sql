{% test unique_where_loaded_now(model, column_name) %}
{#- Every key of the rows the current run loaded (loaded_by_invocation_id)
    occurs once in the whole table: new rows repeat neither each other nor
    the rows kept from earlier runs. A full build loads every row, so this
    is `unique`; a daily run checks one day's keys against all the rest
    without grouping the whole table. -#}
with

loaded_now as (
    select {{ column_name }} as loaded_key
    from {{ model }}
    where
        loaded_by_invocation_id = '{{ invocation_id }}'
        and {{ column_name }} is not null
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (select loaded_now.loaded_key from loaded_now)
group by 1
having count(*) > 1
{% endtest %}
