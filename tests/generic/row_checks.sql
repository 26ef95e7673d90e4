{% test row_checks(
    model, not_null=[], ranges=[], conditions=[], unique=[], accepted_values=[]
) %}
{#- A model's plain row checks in one test, one node and one scan: its
    not-null columns (as dbt's not_null), its ranges (as dbt_utils'
    accepted_range: {column, min_value, max_value, inclusive (default
    true)}; nulls pass) and its row conditions (as dbt_utils'
    expression_is_true: a condition that is false or null fails) and its
    unique columns (as unique: nulls pass; the failing rows are those
    beyond the first of each repeated value; counted by a grouping of
    their own, which spills to disk where a distinct count cannot) and its accepted values (as
    accepted_values: {column, values, quote (default true: the values are
    string literals)}; nulls pass, every other value is in the list). A
    single scan counts the failing rows of each check, and the test fails
    with one row per failing check (its description and how many rows; an
    accepted_values check's description also names the column's values
    not in the list, the first 10 in sort order, read by a query of its
    own over the failing rows only). dbt's cost
    is per test node, so one node per model instead of one per check keeps
    a build's fixed cost down. -#}
{%- set checks = [] %}
{%- for column in not_null %}
    {%- do checks.append({
        'check': 'not_null ' ~ column,
        'failing': 'sum(case when ' ~ column ~ ' is null then 1 else 0 end)',
    }) %}
{%- endfor %}
{%- for range in ranges %}
    {%- set column = range['column'] %}
    {%- set inclusive = range.get('inclusive', true) %}
    {%- set has_min = range.get('min_value') is not none %}
    {%- set has_max = range.get('max_value') is not none %}
    {%- set outside = [] %}
    {%- if has_min %}
        {%- do outside.append(
            column ~ (' < ' if inclusive else ' <= ') ~ range['min_value']
        ) %}
    {%- endif %}
    {%- if has_max %}
        {%- do outside.append(
            column ~ (' > ' if inclusive else ' >= ') ~ range['max_value']
        ) %}
    {%- endif %}
    {%- if has_min and has_max %}
        {%- set bounds = range['min_value'] ~ ' to ' ~ range['max_value']
            ~ ('' if inclusive else ' (exclusive)') %}
    {%- elif has_min %}
        {%- set bounds = ('>= ' if inclusive else '> ') ~ range['min_value'] %}
    {%- else %}
        {%- set bounds = ('<= ' if inclusive else '< ') ~ range['max_value'] %}
    {%- endif %}
    {%- do checks.append({
        'check': 'accepted_range ' ~ column ~ ' ' ~ bounds,
        'failing': 'sum(case when ' ~ column ~ ' is not null and ('
            ~ (outside | join(' or ') if outside else 'false')
            ~ ') then 1 else 0 end)',
    }) %}
{%- endfor %}
{%- for condition in conditions %}
    {%- do checks.append({
        'check': 'condition ' ~ (condition | trim),
        'failing': 'sum(case when not coalesce((' ~ condition
            ~ '), false) then 1 else 0 end)',
    }) %}
{%- endfor %}
{%- for column in unique %}
    {#- Grouped apart (a grouping spills to disk; a distinct count in the
        scan below would hold every value in memory). -#}
    {%- do checks.append({
        'check': 'unique ' ~ column,
        'grouped': 'select coalesce(sum(repeats - 1), 0) as failing from ('
            ~ 'select count(*) as repeats from ' ~ model ~ ' where ' ~ column
            ~ ' is not null group by ' ~ column ~ ' having count(*) > 1)',
    }) %}
{%- endfor %}
{%- for accepted in accepted_values %}
    {%- set column = accepted['column'] %}
    {%- set listed = [] %}
    {%- for value in accepted.get('values') %}
        {%- do listed.append(
            "'" ~ (value | string | replace("'", "''")) ~ "'"
            if accepted.get('quote', true) else value | string
        ) %}
    {%- endfor %}
    {%- set outside = column ~ ' not in (' ~ listed | join(', ') ~ ')' %}
    {%- do checks.append({
        'check': 'accepted_values ' ~ column ~ ': ',
        'failing': 'sum(case when ' ~ outside ~ ' then 1 else 0 end)',
        'unaccepted': "select string_agg(value, ', ' order by value) as listed"
            ~ ' from (select distinct cast(' ~ column ~ ' as varchar) as value'
            ~ ' from ' ~ model ~ ' where ' ~ outside
            ~ ' order by value limit 10)',
    }) %}
{%- endfor %}
with

counted as (
    select
        count(*) as row_count
    {%- for check in checks if check.failing %},
        {{ check.failing }} as failed_{{ loop.index }}
    {%- endfor %}
    from {{ model }}
)
{%- for check in checks %}
{%- if check.grouped %},

grouped_{{ loop.index }} as (
    {{ check.grouped }}
)
{%- elif check.unaccepted %},

unaccepted_{{ loop.index }} as (
    {{ check.unaccepted }}
)
{%- endif %}
{%- endfor %}

{% set scanned = checks | selectattr('failing') | list -%}
{% for check in checks -%}
{% if check.grouped -%}
select
    '{{ check.check | replace("'", "''") }}' as failed_check,
    failing as failing_rows
from grouped_{{ loop.index }}
where failing > 0
{%- else -%}
{% set position = scanned.index(check) + 1 -%}
select
    '{{ check.check | replace("'", "''") }}'
    {%- if check.unaccepted %}
    || (select listed from unaccepted_{{ loop.index }})
    {%- endif %} as failed_check,
    failed_{{ position }} as failing_rows
from counted
where failed_{{ position }} > 0
{%- endif %}
{% if not loop.last %}union all
{% endif -%}
{% endfor %}
{% endtest %}
