{% macro as_of_date() -%}
    {#- The analysis date as a SQL expression: every time-relative
        computation uses it, never the wall clock. -#}
    (select as_of_date from {{ ref('int_as_of_date') }})
{%- endmacro %}
