{#- Rejected raw rows per table and reason code, with the raw column the
    reason is about (the reject_reasons seed's column_name), an example
    raw value of it (from raw_record), a hint
    naming the fix (macro format_hint) and the reason as a line of a
    message: "invalid_amount 3,990, e.g. '12,50' (set decimal_separator
    ","). The gates (int_raw_tables_reconciled, int_as_of_date) quote the
    commonest reasons through macro top_reject_reasons. -#}
{%- set kinds = raw_value_kinds() %}

with

rejected_rows as (
    select
        source_table,
        reject_reason,
        raw_record
    from {{ ref('stg_app__rejected_rows') }}
),

reason_columns as (
    select
        source_table,
        reject_reason,
        column_name,
        case
            {%- for column, kind in kinds.items() %}
                when column_name = '{{ column }}' then '{{ kind }}'
            {%- endfor %}
        end as value_kind
    from {{ ref('reject_reasons') }}
),

raw_values as (
    select
        rejected_rows.source_table,
        rejected_rows.reject_reason,
        reason_columns.column_name,
        reason_columns.value_kind,
        {{ clean_text(json_text(
            'rejected_rows.raw_record', 'reason_columns.column_name'
        )) }} as raw_value
    from rejected_rows
    left join reason_columns
        on
            rejected_rows.source_table = reason_columns.source_table
            and rejected_rows.reject_reason = reason_columns.reject_reason
),

hinted as (
    select
        *,
        {{ format_hint('raw_value', 'value_kind') }} as raw_value_hint
    from raw_values
),

by_reason as (
    select
        source_table,
        reject_reason,
        column_name,
        value_kind,
        count(*) as rejected_row_count,
        -- An example with a hint when there is one, else the first value.
        coalesce(
            min(case when raw_value_hint is not null then raw_value end),
            min(raw_value)
        ) as example_value
    from hinted
    group by 1, 2, 3, 4
),

described as (
    select
        source_table,
        reject_reason,
        column_name,
        rejected_row_count,
        example_value,
        {{ format_hint('example_value', 'value_kind') }} as hint,
        row_number() over (
            partition by source_table
            order by rejected_row_count desc, reject_reason asc
        ) as reason_rank,
        count(*) over (partition by source_table) as reason_count
    from by_reason
),

final as (
    select
        source_table,
        reject_reason,
        column_name,
        rejected_row_count,
        example_value,
        hint,
        reason_rank,
        reason_count,
        reject_reason || ' ' || {{ count_text('rejected_row_count') }}
        || coalesce(', e.g. ' || {{ quoted_example('example_value') }}, '')
        || coalesce(' (' || hint || ')', '') as reason_text
    from described
)

select * from final
