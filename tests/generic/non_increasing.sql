{% test non_increasing(model, column_name, order_by, partition_by=none) %}
{#- Fails on every row whose column_name is larger than the previous row's
    (by order_by, within each partition_by group): e.g. the sessions of a
    funnel, which can only fall from one step to the next. -#}
with

ordered as (
    select
        *,
        lag({{ column_name }}) over (
            {%- if partition_by %}
            partition by {{ partition_by | join(', ') }}
            {%- endif %}
            order by {{ order_by }}
        ) as previous_value
    from {{ model }}
)

select *
from ordered
where {{ column_name }} > previous_value
{% endtest %}
