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


{% macro clean_id(column, is_user_id=false) -%}
    {#- An id (user, order, event or session id) as text: the one way
        staging reads an id. Trimmed, blank is null, and an integral number
        written as a float becomes the integer text (pandas writes `1.0`
        for an integer column with a missing value, so `1.0` and `1` are
        one id). Only text holding a '.' is matched against the pattern,
        so plain ids cost one substring test. A user id (is_user_id) is
        lower-cased when var user_id_case_sensitive is false. -#}
    {%- set id = adapter.dispatch(
        'clean_id', 'segmentation_warehouse'
    )(column) -%}
    {%- if is_user_id and not user_id_case_sensitive() -%}
        lower({{ id }})
    {%- else -%}
        {{ id }}
    {%- endif -%}
{%- endmacro %}


{% macro default__clean_id(column) -%}
    {%- set text = clean_text(column) -%}
    case
        when {{ text }} like '%.%'
            then regexp_replace({{ text }}, '^(-?[0-9]+)[.]0+$', '\1')
        else {{ text }}
    end
{%- endmacro %}


{% macro duckdb__clean_id(column) -%}
    {#- A typed Parquet DOUBLE or FLOAT id skips the text: an integral
        value becomes its integer text (DuckDB writes 1e+16 for large
        doubles), NaN and infinities (pandas' missing values) are missing.
        typeof is folded to a constant when the query is planned, so only
        one branch runs. -#}
    {%- set number = 'try_cast(' ~ column ~ ' as double)' -%}
    case
        when typeof({{ column }}) in ('DOUBLE', 'FLOAT')
            then case
                when not isfinite({{ number }}) then null
                when {{ number }} = trunc({{ number }})
                    then coalesce(
                        cast(try_cast({{ number }} as hugeint) as varchar),
                        cast({{ number }} as varchar)
                    )
                else cast({{ number }} as varchar)
            end
        else {{ default__clean_id(column) }}
    end
{%- endmacro %}


{% macro user_id_case_sensitive() -%}
    {#- Var user_id_case_sensitive, checked: true (default, `u001` and
        `U001` are two users) or false (user ids are lower-cased wherever
        they are read). -#}
    {%- set value = var('user_id_case_sensitive') -%}
    {%- if value is not sameas true and value is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            'var user_id_case_sensitive must be true or false, got '
            ~ value
        ) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{% macro order_status(column) -%}
    {#- An order status: the label (normalize_label), spelled as var
        order_statuses spells it when var order_status_aliases names it
        (`canceled` -> `cancelled`); the aliases' keys are normalised the
        same way, and each must map to one of var order_statuses. A missing
        status stays null (the model reads it as completed). -#}
    {%- set aliases = var('order_status_aliases') or {} -%}
    {%- if aliases is not mapping -%}
        {{ exceptions.raise_compiler_error(
            'var order_status_aliases must map statuses to statuses, got '
            ~ aliases
        ) }}
    {%- endif -%}
    {%- for alias, status in aliases.items() -%}
        {%- if status not in var('order_statuses') -%}
            {{ exceptions.raise_compiler_error(
                'var order_status_aliases maps ' ~ alias ~ ' to ' ~ status
                ~ ', which is not one of var order_statuses ('
                ~ var('order_statuses') | join(', ') ~ ')'
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if aliases -%}
        case {{ normalize_label(column) }}
            {%- for alias in aliases | sort %}
            when {{ normalize_label(sql_string(alias)) }}
                then {{ sql_string(aliases[alias]) }}
            {%- endfor %}
            else {{ normalize_label(column) }}
        end
    {%- else -%}
        {{ normalize_label(column) }}
    {%- endif -%}
{%- endmacro %}


{% macro max_order_amount() -%}
    {#- Var max_order_amount as a SQL literal: the number, or null (unset:
        no cap; a comparison with null is never true). Orders above it are
        rejected as amount_above_max. -#}
    {%- set value = var('max_order_amount') -%}
    {%- if value is not none
        and (value is not number or value is sameas true
             or value is sameas false) -%}
        {{ exceptions.raise_compiler_error(
            'var max_order_amount must be a number (or null: no cap), got '
            ~ value
        ) }}
    {%- endif -%}
    {{ return('null' if value is none else value) }}
{%- endmacro %}
