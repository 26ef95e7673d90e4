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

{% macro btyd_models() -%}
    {#- The transaction models the warehouse fits (the registry
        segmentation.methods.btyd.models.TRANSACTION_MODELS, in its order,
        which also breaks ties when var btyd_model is auto). -#}
    {{ return(['bg_nbd', 'mbg_nbd', 'pareto_nbd']) }}
{%- endmacro %}

{% macro btyd_model() -%}
    {#- Var btyd_model: one of btyd_models() or auto; stops the build on
        any other value. -#}
    {%- set chosen = var('btyd_model') -%}
    {%- set allowed = btyd_models() + ['auto'] -%}
    {%- if chosen not in allowed -%}
        {{ exceptions.raise_compiler_error(
            'var btyd_model must be one of ' ~ allowed | join(', ')
            ~ ', got ' ~ chosen
        ) }}
    {%- endif -%}
    {{ return(chosen) }}
{%- endmacro %}
