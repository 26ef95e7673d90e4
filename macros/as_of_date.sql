{% macro as_of_date() -%}
    {#- The analysis date as a SQL expression: every time-relative
        computation uses it, never the wall clock, and every model reads
        it this way (a model needing the calendar's other columns, such as
        as_of_date_source, refs int_as_of_date directly). -#}
    (select as_of_date from {{ ref('int_as_of_date') }})
{%- endmacro %}
