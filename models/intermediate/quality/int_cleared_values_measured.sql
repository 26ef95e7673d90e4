{#- Per raw table and optional column that staging clears instead of
    rejecting the row (macro cleared_value_columns; the column is then
    named in cleared_attributes): how many staged rows gave a value, how
    many of those values were cleared (unreadable, or after the data
    horizon), an example cleared value with a hint naming the fix (macro
    format_hint), and a warning when the cleared share is above var
    warn_cleared_share. Examples of personal columns have their digits
    masked. Published as marts.data_quality_cleared_values. -#}
{%- set columns = cleared_value_columns() %}
-- depends_on: {{ ref('base_app__users') }}

with

given_values as (
    {% for column in columns -%}
        select
            '{{ column.source_table }}' as source_table,
            '{{ column.column_name }}' as column_name,
            '{{ column.value_kind }}' as value_kind,
            {{ column.is_personal }} as is_personal,
            {{ clean_text(json_text(
                'raw_record', "'" ~ column.column_name ~ "'"
            )) }} as raw_value,
            coalesce(
                ', ' || cleared_attributes || ','
                like '%, {{ column.column_name }},%',
                false
            ) as is_cleared
        from {{ ref('base_app__' ~ column.source_table) }}
        where reject_reason is null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

hinted as (
    select
        *,
        case
            when is_cleared then {{ format_hint('raw_value', 'value_kind') }}
        end as raw_value_hint
    from given_values
    where raw_value is not null
),

measured as (
    select
        source_table,
        column_name,
        value_kind,
        is_personal,
        count(*) as given_value_count,
        count(case when is_cleared then 1 end) as cleared_value_count,
        -- An example with a hint when there is one, else the first value.
        coalesce(
            min(case when raw_value_hint is not null then raw_value end),
            min(case when is_cleared then raw_value end)
        ) as example_value
    from hinted
    group by 1, 2, 3, 4
),

described as (
    select
        measured.source_table,
        measured.column_name,
        measured.given_value_count,
        measured.cleared_value_count,
        measured.cleared_value_count * 1.0
        / measured.given_value_count as cleared_share,
        case
            when measured.is_personal
                then regexp_replace(measured.example_value, '[0-9]', '#', 'g')
            else measured.example_value
        end as example_value,
        {{ format_hint('measured.example_value', 'measured.value_kind') }}
            as hint
    from measured
),

final as (
    select
        *,
        case
            when cleared_share > {{ var('warn_cleared_share') }}
                then
                    source_table || '.' || column_name || ': '
                    || {{ count_text('cleared_value_count') }} || ' of '
                    || {{ count_text('given_value_count') }} || ' values ('
                    || {{ percent_text('cleared_share') }}
                    || '%) could not be read and were cleared'
                    || coalesce(
                        ', e.g. ' || {{ quoted_example('example_value') }}, ''
                    )
                    || coalesce(' — ' || hint, '')
        end as warning
    from described
)

select * from final
