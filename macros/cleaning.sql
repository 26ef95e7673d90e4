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
    {{ return(adapter.dispatch(
        'parse_timestamp', 'segmentation_warehouse'
    )(column)) }}
{%- endmacro %}


{% macro default__parse_timestamp(column) -%}
    {{ dbt.safe_cast(
        dbt.safe_cast(clean_text(column), 'timestamptz'), 'timestamp'
    ) }}
{%- endmacro %}


{% macro duckdb__parse_timestamp(column) -%}
    {#- Typed Parquet columns skip the round trip through text (typeof is
        folded to a constant when the query is planned, so only one branch
        runs): a naive timestamp is already UTC. -#}
    case
        when typeof({{ column }}) = 'TIMESTAMP'
            then cast({{ column }} as timestamp)
        else {{ default__parse_timestamp(column) }}
    end
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


{% macro sql_string(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}


{% macro in_list(values) -%}
    ({% for value in values -%}
        '{{ value }}'{{ ", " if not loop.last }}
    {%- endfor %})
{%- endmacro %}
