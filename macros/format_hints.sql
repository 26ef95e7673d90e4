{#- Messages that say what went wrong: which raw column a reject reason or a
    cleared value is about, what kind of value it holds, a hint naming the
    fix for a raw value (format_hint), and the number formats of the
    messages. The hints name the vars of the raw-data contract
    (date_format, decimal_separator); users pass them with
    make run VARS='{decimal_separator: ","}'. -#}

{% macro raw_value_kinds() -%}
    {#- The kind of value of each raw column a message may quote, from the
        raw-data contract's data_type: timestamp, date, decimal or boolean
        as declared, id for the *_id columns, label for other text (empty
        while dbt parses: the contract is read from the graph). -#}
    {%- set kinds = {} -%}
    {%- if not execute -%}
        {{ return(kinds) }}
    {%- endif -%}
    {%- for table in raw_data_contract() -%}
        {%- for column in table.columns -%}
            {%- if column.data_type != 'varchar' -%}
                {%- do kinds.update({column.name: column.data_type}) -%}
            {%- elif column.name.endswith('_id') -%}
                {%- do kinds.update({column.name: 'id'}) -%}
            {%- else -%}
                {%- do kinds.update({column.name: 'label'}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(kinds) }}
{%- endmacro %}


{% macro cleared_value_columns() -%}
    {#- The optional raw columns staging clears (sets to null, naming them
        in cleared_attributes) instead of rejecting the row: the typed
        (timestamp, date, boolean) columns of users, as a list of
        {source_table, column_name, value_kind, is_personal}. Examples of
        personal columns (meta contains_pii in the contract) are masked.
        Empty while dbt parses (models using it declare their refs). -#}
    {%- set rows = [] -%}
    {%- if not execute -%}
        {{ return(rows) }}
    {%- endif -%}
    {%- for table in raw_data_contract() if table.name == 'users' -%}
        {%- for column in table.columns
            if column.data_type in ('timestamp', 'date', 'boolean') -%}
            {%- do rows.append({
                'source_table': table.name,
                'column_name': column.name,
                'value_kind': column.data_type,
                'is_personal': column.contains_pii,
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(rows) }}
{%- endmacro %}


{% macro format_hint(value, kind) -%}
    {#- A hint naming the fix for a raw text value that could not be read
        as a value of the given kind (a SQL expression: 'timestamp',
        'date', 'decimal', 'boolean' or 'id'); null when no pattern is
        recognised. -#}
    {{ return(adapter.dispatch(
        'format_hint', 'segmentation_warehouse'
    )(value, kind)) }}
{%- endmacro %}

{% macro default__format_hint(value, kind) -%}
    cast(null as varchar)
{%- endmacro %}

{% macro duckdb__format_hint(value, kind) -%}
    {%- set v = 'trim(cast(' ~ value ~ ' as varchar))' -%}
    {%- set date_parts = "'^(\\d{1,2})([/.-])(\\d{1,2})[/.-](\\d{2}|\\d{4})([ T]|$)'" -%}
    {%- set iso = "dates must be ISO 8601 (YYYY-MM-DD), or set date_format" -%}
    {%- set ambiguous = "; day/month order is ambiguous, check it)" -%}
    {%- set part = 'regexp_extract(' ~ v ~ ', ' ~ date_parts ~ ', ' -%}
    {%- set first = 'try_cast(' ~ part ~ '1) as integer)' -%}
    {%- set sep = part ~ '2)' -%}
    {%- set second = 'try_cast(' ~ part ~ '3) as integer)' -%}
    {%- set year -%}
        case when length({{ part }}4)) = 2 then '%y' else '%Y' end
    {%- endset -%}
    {%- set time -%}
        case
            when regexp_matches({{ v }}, '[ T]\d{1,2}:\d{2}:\d{2}')
                then ' %H:%M:%S'
            when regexp_matches({{ v }}, '[ T]\d{1,2}:\d{2}') then ' %H:%M'
            else ''
        end
    {%- endset -%}
    {%- set month_first = "'%m' || " ~ sep ~ " || '%d' || " ~ sep ~ " || "
        ~ year ~ " || " ~ time -%}
    {%- set day_first = "'%d' || " ~ sep ~ " || '%m' || " ~ sep ~ " || "
        ~ year ~ " || " ~ time -%}
    case
        when {{ v }} is null or {{ v }} = '' then null
        when {{ kind }} in ('timestamp', 'date') then
            case
                when regexp_matches({{ v }}, {{ date_parts }}) and {{ sep }} = '.'
                    then '{{ iso }} (e.g. "%d.%m.' || {{ year }} || {{ time }}
                    || '")'
                when regexp_matches({{ v }}, {{ date_parts }}) and {{ second }} > 12
                    then '{{ iso }} (e.g. "' || {{ month_first }}
                    || '"{{ ambiguous }}'
                when regexp_matches({{ v }}, {{ date_parts }}) and {{ first }} > 12
                    then '{{ iso }} (e.g. "' || {{ day_first }}
                    || '"{{ ambiguous }}'
                when regexp_matches({{ v }}, {{ date_parts }})
                    then '{{ iso }} (e.g. "' || {{ month_first }} || '" or "'
                    || {{ day_first }} || '"{{ ambiguous }}'
                when regexp_matches({{ v }}, '^(19|20)\d{2}(0[1-9]|1[0-2])\d{2}$')
                    then '{{ iso }} (e.g. "%Y%m%d")'
                when regexp_matches({{ v }}, '^\d{9,10}(\.\d+)?$')
                    then 'the values look like Unix epoch seconds: set date_format "epoch_s"'
                when regexp_matches({{ v }}, '^\d{12,13}$')
                    then 'the values look like Unix epoch milliseconds: set date_format "epoch_ms"'
                when regexp_matches({{ v }}, '^\d{5}(\.\d+)?$')
                    then 'the values look like Excel serial dates: set date_format "excel"'
            end
        when {{ kind }} = 'decimal' then
            case
                when regexp_matches({{ v }}, '^[+-]?\d+,\d+$')
                    or regexp_matches({{ v }}, '^[+-]?\d{1,3}(\.\d{3})+,\d+$')
                    then 'set decimal_separator ","'
                when regexp_matches({{ v }}, '[$€£¥₹]|^[A-Z]{3} |[0-9] ?[A-Z]{3}$')
                    then 'amounts must be plain numbers in one currency: export'
                    || ' them without the currency sign or code'
            end
        when {{ kind }} = 'id' then
            case
                when regexp_matches({{ v }}, '^[+-]?\d+\.0+$')
                    then 'ids look like floats (' || {{ v }} || ' for '
                    || regexp_replace({{ v }}, '\.0+$', '')
                    || '): write them as integers'
            end
        when {{ kind }} = 'boolean'
            then 'values must be true/false, yes/no or 1/0'
    end
{%- endmacro %}


{% macro json_text(json, key) -%}
    {#- The value of a top-level key of a JSON object as text (null when
        absent or null). -#}
    {{ return(adapter.dispatch(
        'json_text', 'segmentation_warehouse'
    )(json, key)) }}
{%- endmacro %}

{% macro default__json_text(json, key) -%}
    cast(null as varchar)
{%- endmacro %}

{% macro duckdb__json_text(json, key) -%}
    json_extract_string({{ json }}, '$.' || {{ key }})
{%- endmacro %}


{% macro count_text(count) -%}
    {#- A count as text with thousands separators (3,990). -#}
    {{ return(adapter.dispatch(
        'count_text', 'segmentation_warehouse'
    )(count)) }}
{%- endmacro %}

{% macro default__count_text(count) -%}
    cast({{ count }} as varchar)
{%- endmacro %}

{% macro duckdb__count_text(count) -%}
    format('{:,}', cast({{ count }} as bigint))
{%- endmacro %}


{% macro percent_text(share) -%}
    {#- A share as a percentage with at most two decimals, without the %
        sign (0.9975 -> 99.75, 1 -> 100). -#}
    {{ return(adapter.dispatch(
        'percent_text', 'segmentation_warehouse'
    )(share)) }}
{%- endmacro %}

{% macro default__percent_text(share) -%}
    cast(round(100 * {{ share }}, 2) as varchar)
{%- endmacro %}

{% macro duckdb__percent_text(share) -%}
    regexp_replace(
        format('{:.2f}', 100 * cast({{ share }} as double)), '\.?0+$', ''
    )
{%- endmacro %}


{% macro quoted_example(value) -%}
    {#- A raw value quoted for a message, cut at 40 characters. -#}
    '''' || case
        when length({{ value }}) > 40 then left({{ value }}, 40) || '...'
        else {{ value }}
    end || ''''
{%- endmacro %}


{% macro top_reject_reasons(source_table) -%}
    {#- The three commonest reject reasons of a raw table as text, each
        with its count, an example raw value and a hint: "invalid_amount
        3,990, e.g. '12,50' (set decimal_separator ","); ...". Read from
        int_rejected_rows_exemplified, rebuilt in the same build as the
        gates that quote it. -#}
    (
        select
            string_agg(exemplified.reason_text, '; ' order by exemplified.reason_rank)
            || case
                when max(exemplified.reason_count) > 3
                    then '; and ' || cast(max(exemplified.reason_count) - 3 as varchar)
                    || ' more reason(s)'
                else ''
            end
        from {{ ref('int_rejected_rows_exemplified') }} as exemplified
        where
            exemplified.source_table = {{ source_table }}
            and exemplified.reason_rank <= 3
    )
{%- endmacro %}
