{% macro btyd_days_per_unit() -%}
    {#- Days in one time unit of the BTYD summaries (var btyd_time_unit:
        weeks or days); stops the build on any other value. -#}
    {%- set unit = var('btyd_time_unit') -%}
    {%- if unit not in ['weeks', 'days'] -%}
        {{ exceptions.raise_compiler_error(
            'var btyd_time_unit must be weeks or days, got ' ~ unit
        ) }}
    {%- endif -%}
    {{ return(7.0 if unit == 'weeks' else 1.0) }}
{%- endmacro %}
