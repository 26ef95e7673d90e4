{% test known_when_provided(model, column_name, to, field) %}
{#- Like relationships, but only when the referenced table has rows: when
    a users table was given, every value must be one of its keys; without
    one (users derived from activity) there is nothing to check. -#}
with

parents as (
    select {{ field }} as parent_key from {{ to }}
),

provided as (
    select count(*) > 0 as is_provided from parents
),

children as (
    -- The tested rows (a subquery when the test has a where config).
    select {{ column_name }} from {{ model }}
)

select children.{{ column_name }}
from children
cross join provided
left join parents on children.{{ column_name }} = parents.parent_key
where provided.is_provided and parents.parent_key is null
{% endtest %}
