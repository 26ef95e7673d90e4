{% macro campaign_target_columns() -%}
    {#- The target columns of a campaign definition, in the order the
        checks report them. -#}
    {{ return([
        'target_primary_segments',
        'target_rfm_segments',
        'target_lifecycle_stages',
        'target_value_tiers',
    ]) }}
{%- endmacro %}


{% macro campaign_target_key(value) -%}
    {#- How a target value is matched with the accepted ones: ignoring
        case, surrounding spaces, and spaces versus hyphens versus
        underscores (High Value = high-value = high_value). -#}
    {{ normalize_label(value) }}
{%- endmacro %}


{% macro check_campaign_vars() %}
    {#- Stops at compile time when a campaign default var is out of range:
        the defaults fill definitions that give no value, so they must pass
        the same checks. -#}
    {% set share = var('campaign_holdout_share') %}
    {% if share is not number or share <= 0 or share >= 1 %}
        {% do exceptions.raise_compiler_error(
            'var campaign_holdout_share must be a number strictly between'
            ~ ' 0 and 1 (a share: 10% is 0.1), got ' ~ share
        ) %}
    {% endif %}
    {% set window = var('campaign_conversion_window_days') %}
    {% if window is not number or window != window | int or window < 1 %}
        {% do exceptions.raise_compiler_error(
            'var campaign_conversion_window_days must be a whole number of'
            ~ ' days >= 1, got ' ~ window
        ) %}
    {% endif %}
    {{ return('') }}
{% endmacro %}
