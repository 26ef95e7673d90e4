{% macro segment_dimensions() -%}
    {#- The dimensions the segment migrations and stability follow, each
        with its history column: the one list the models and their tests
        read. The cluster dimension follows cluster_id, the stable identity
        (shown as its text, e.g. '2'): cluster labels are regenerated per
        snapshot from the members' medians, so a relabel is not a
        migration; the labels live in segment_history and user_clusters. -#}
    {{ return([
        ('primary_segment', 'primary_segment'),
        ('rfm_segment', 'rfm_segment'),
        ('lifecycle_stage', 'lifecycle_stage'),
        ('value_tier', 'value_tier'),
        ('cluster', 'cluster_id'),
    ]) }}
{%- endmacro %}

{% macro segment_value(column) -%}
    {#- A dimension's value as a migration names it: '(none)' when the
        user has none (no RFM segment or cluster before a first
        purchase). -#}
    coalesce(cast({{ column }} as varchar), '(none)')
{%- endmacro %}
