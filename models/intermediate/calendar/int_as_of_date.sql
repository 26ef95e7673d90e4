{#- The date every time-relative metric is computed as of: var as_of_date,
    or the day after the latest valid order. Stops the build with a clear
    message when the date is malformed or nothing happened before it; when
    no valid order remains, the message says whether the orders file had
    no rows or names the commonest reject reasons with an example raw
    value and the fix (macro top_reject_reasons). -#}
{%- set as_of_var = var('as_of_date', none) -%}

with

orders as (
    select * from {{ ref('stg_app__orders') }}
),

order_range as (
    select
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        (
            select raw_counts.raw_row_count
            from {{ ref('base_app__raw_row_counts') }} as raw_counts
            where raw_counts.source_table = 'orders'
        ) as raw_order_count
    from orders
),

as_of as (
    select
        {% if as_of_var -%}
            {{ dbt.safe_cast("'" ~ as_of_var ~ "'", 'date') }} as as_of_date,
            'var as_of_date' as as_of_date_source,
        {%- else -%}
            cast(
                {{ dbt.dateadd('day', 1, 'cast(last_ordered_at as date)') }}
                as date
            ) as as_of_date,
            'day after the latest valid order' as as_of_date_source,
        {%- endif %}
        first_ordered_at,
        last_ordered_at,
        raw_order_count
    from order_range
),

checked as (
    select
        case
            when as_of_date is null and {{ as_of_var is not none }}
                then {{ raise_data_error(
                    "'as_of_date must be a date YYYY-MM-DD, got "
                    ~ (as_of_var or '') | replace("'", "") ~ "'"
                ) }}
            when first_ordered_at is null
                then {{ raise_data_error(
                    "'There are no valid orders, so there is nothing to "
                    ~ "segment: ' || case when raw_order_count = 0 then "
                    ~ "'the orders file has no rows.' else 'all ' || "
                    ~ count_text('raw_order_count')
                    ~ " || ' raw orders were rejected — ' || "
                    ~ top_reject_reasons("'orders'") ~ " end"
                ) }}
            when first_ordered_at >= as_of_date
                then {{ raise_data_error(
                    "'as_of_date ' || cast(as_of_date as varchar) || "
                    ~ "' is on or before the first valid order ('"
                    ~ " || cast(cast(first_ordered_at as date) as varchar)"
                    ~ " || '): nothing happened before it. '"
                    ~ " || 'Choose a later date.'"
                ) }}
        end as failed_check,
        as_of_date,
        as_of_date_source,
        first_ordered_at,
        last_ordered_at
    from as_of
)

select
    as_of_date,
    as_of_date_source,
    first_ordered_at,
    last_ordered_at
from checked
-- The filter forces the checks above to be evaluated.
where failed_check is null
