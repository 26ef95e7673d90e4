{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}


{% macro normalize_label(column) -%}
    nullif(
        replace(
            replace(lower(trim(cast({{ column }} as varchar))), ' ', '_'),
            '-',
            '_'
        ),
        ''
    )
{%- endmacro %}


{% macro parse_timestamp(column) -%}
    {#- Text, date or timestamp -> UTC timestamp; null when unparseable.
        Offsets such as +02:00 or Z are honoured; naive values are UTC. -#}
    {{ dbt.safe_cast(
        dbt.safe_cast(clean_text(column), 'timestamptz'), 'timestamp'
    ) }}
{%- endmacro %}


{% macro parse_date(column) -%}
    cast({{ parse_timestamp(column) }} as date)
{%- endmacro %}


{% macro parse_boolean(column) -%}
    case
        when lower(trim(cast({{ column }} as varchar)))
            in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim(cast({{ column }} as varchar)))
            in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}


{% macro in_list(values) -%}
    ({% for value in values -%}
        '{{ value }}'{{ ", " if not loop.last }}
    {%- endfor %})
{%- endmacro %}
