{% macro raise_data_error(message) -%}
    {{ return(adapter.dispatch(
        'raise_data_error', 'segmentation_warehouse'
    )(message)) }}
{%- endmacro %}

{% macro default__raise_data_error(message) -%}
    cast({{ message }} as integer)
{%- endmacro %}

{% macro duckdb__raise_data_error(message) -%}
    error({{ message }})
{%- endmacro %}


{% macro row_as_json(relation_alias) -%}
    {{ return(adapter.dispatch(
        'row_as_json', 'segmentation_warehouse'
    )(relation_alias)) }}
{%- endmacro %}

{% macro default__row_as_json(relation_alias) -%}
    cast(null as varchar)
{%- endmacro %}

{% macro duckdb__row_as_json(relation_alias) -%}
    cast(to_json({{ relation_alias }}) as varchar)
{%- endmacro %}


{% macro duckdb__safe_cast(field, type) -%}
    {#- dbt-duckdb renders dbt.safe_cast as a plain cast, which fails on
        the first bad value; try_cast returns null instead. -#}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}


{% macro median(column) -%}
    {{ return(adapter.dispatch(
        'median', 'segmentation_warehouse'
    )(column)) }}
{%- endmacro %}

{% macro default__median(column) -%}
    percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__median(column) -%}
    median({{ column }})
{%- endmacro %}


{% macro pseudonymize(column) -%}
    {#- A pseudonymous key: the hash of var pseudonym_salt (env
        SEGMENTS_PSEUDONYM_SALT) and the value, so BI can count and join
        users without seeing their ids. -#}
    {{ dbt.hash(
        "'" ~ (var('pseudonym_salt') | replace("'", "''")) ~ "' || cast("
        ~ column ~ " as varchar)"
    ) }}
{%- endmacro %}


{% macro raw_row_struct(table_name, relation_alias) -%}
    {#- The raw row of a contract table as a struct of its contract columns
        (not the loader's _source_file), in contract order; row_as_json
        turns it into the raw_record text. -#}
    {{ return(adapter.dispatch(
        'raw_row_struct', 'segmentation_warehouse'
    )(table_name, relation_alias)) }}
{%- endmacro %}

{% macro default__raw_row_struct(table_name, relation_alias) -%}
    cast(null as varchar)
{%- endmacro %}

{% macro duckdb__raw_row_struct(table_name, relation_alias) -%}
    {%- if not execute -%}
        {{ return('null') }}
    {%- endif -%}
    {%- set tables = raw_data_contract()
        | selectattr('name', 'equalto', table_name) | list -%}
    struct_pack(
        {%- for column in tables[0].columns %}
            "{{ column.name }}" := {{ relation_alias }}."{{ column.name }}"
            {{- ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{% macro value_at_min(value, order_by) -%}
    {#- Aggregate: value on the row where order_by is smallest. -#}
    {{ return(adapter.dispatch(
        'value_at_min', 'segmentation_warehouse'
    )(value, order_by)) }}
{%- endmacro %}

{% macro default__value_at_min(value, order_by) -%}
    min_by({{ value }}, {{ order_by }})
{%- endmacro %}

{% macro duckdb__value_at_min(value, order_by) -%}
    arg_min({{ value }}, {{ order_by }})
{%- endmacro %}
