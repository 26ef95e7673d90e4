{% macro lookalike_seed_columns() -%}
    {#- The columns a lookalike seed may be defined on (var lookalike_seed):
        the segment columns of int_users_segmented and of the segment
        history. -#}
    {{- return([
        'primary_segment', 'rfm_segment', 'lifecycle_stage', 'value_tier',
        'activity_tier',
    ]) -}}
{%- endmacro %}

{% macro lookalike_seed_column() -%}
    {#- The column of var lookalike_seed when it is one of
        lookalike_seed_columns(), else none (the var is not a mapping, has
        no column, or names another column: never put in SQL). -#}
    {%- set seed = var('lookalike_seed') -%}
    {%- set column = seed.get('column') if seed is mapping else none -%}
    {{- return(
        column if column is string and column in lookalike_seed_columns()
        else none
    ) -}}
{%- endmacro %}

{% macro lookalike_seed_column_value() -%}
    {#- SQL expression: the seed column's value as text (null for every
        row when the seed column is unknown). -#}
    {%- set column = lookalike_seed_column() -%}
    {%- if column is none -%}
        cast(null as varchar)
    {%- else -%}
        cast({{ column }} as varchar)
    {%- endif -%}
{%- endmacro %}
