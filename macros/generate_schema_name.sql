{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Use the folder's schema (raw, staging, marts, ...) as is, so BI
        users see stable names; without one, the target's schema. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
