{#- The date every time-relative metric is computed as of: var as_of_date,
    or the day after the latest valid order. Stops the build with a clear
    message when the date is malformed or nothing happened before it. -#}
{%- set as_of_var = var('as_of_date', none) -%}

with

orders as (
    select * from {{ ref('stg_app__orders') }}
),

order_range as (
    select
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at
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
        last_ordered_at
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
                    ~ "segment: see staging.stg_app__rejected_rows for why "
                    ~ "every order was rejected.'"
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
