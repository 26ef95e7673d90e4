{% macro segment_dimensions() -%}
    {#- The dimensions the segment migrations and stability follow, each
        with its history column: the one list the models and their tests
        read. -#}
    {{ return([
        ('primary_segment', 'primary_segment'),
        ('rfm_segment', 'rfm_segment'),
        ('lifecycle_stage', 'lifecycle_stage'),
        ('value_tier', 'value_tier'),
        ('cluster', 'cluster_label'),
    ]) }}
{%- endmacro %}

{% macro segment_value(column) -%}
    {#- A dimension's value as a migration names it: '(none)' when the
        user has none (no RFM segment or cluster before a first
        purchase). -#}
    coalesce(cast({{ column }} as varchar), '(none)')
{%- endmacro %}
