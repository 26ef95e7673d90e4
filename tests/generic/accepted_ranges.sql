{% test accepted_ranges(model, ranges) %}
{#- accepted_range (as dbt_utils.accepted_range) for many columns of one
    model in one test: ranges is a list of {column, min_value, max_value,
    inclusive (default true)}; a single scan counts each range's non-null
    values outside it, and the test fails with one row per range broken
    (the column, the range and how many rows). -#}
{%- set checks = [] %}
{%- for range in ranges %}
    {%- set column = range['column'] %}
    {%- set inclusive = range.get('inclusive', true) %}
    {%- set outside = [] %}
    {%- if range.get('min_value') is not none %}
        {%- do outside.append(
            column ~ (' < ' if inclusive else ' <= ') ~ range['min_value']
        ) %}
    {%- endif %}
    {%- if range.get('max_value') is not none %}
        {%- do outside.append(
            column ~ (' > ' if inclusive else ' >= ') ~ range['max_value']
        ) %}
    {%- endif %}
    {%- do checks.append({
        'column': column,
        'condition': outside | join(' or ') if outside else 'false',
        'range': (
            range['min_value'] ~ ' to ' ~ range['max_value']
            ~ ('' if inclusive else ' (exclusive)')
        ) if range.get('min_value') is not none
            and range.get('max_value') is not none
        else (('>= ' if inclusive else '> ') ~ range['min_value'])
            if range.get('min_value') is not none
        else (('<= ' if inclusive else '< ') ~ range['max_value']),
    }) %}
{%- endfor %}
with

counted as (
    select
    {%- for check in checks %}
        sum(
            case
                when {{ check.column }} is not null and ({{ check.condition }})
                    then 1
                else 0
            end
        ) as outside_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

{% for check in checks -%}
select
    '{{ check.column }}' as column_name,
    '{{ check.range | replace("'", "''") }}' as accepted_range,
    outside_{{ loop.index }} as rows_outside
from counted
where outside_{{ loop.index }} > 0
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
