{#- The "buy till you die" summary of every purchaser as of as_of_date,
    the input of the BG/NBD and Gamma-Gamma models (see the btyd_summary
    docs block). Several purchases on one day count as one purchase worth
    their sum; time is in var btyd_time_unit (weeks or days). -#}
{%- set days_per_unit = btyd_days_per_unit() -%}

with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
    where is_purchase
),

purchase_days as (
    -- Decimal sums are exact, so the result never depends on the order
    -- in which parallel threads add them up.
    select
        user_id,
        ordered_date,
        sum(amount) as day_amount
    from orders
    group by 1, 2
),

per_user as (
    select
        user_id,
        count(*) - 1 as frequency,
        min(ordered_date) as first_purchase_date,
        max(ordered_date) as last_purchase_date,
        sum(day_amount) as total_amount,
        {{ value_at_min('day_amount', 'ordered_date') }} as first_day_amount
    from purchase_days
    group by 1
),

summarized as (
    select
        per_user.user_id,
        per_user.frequency,
        {{ dbt.datediff(
            'per_user.first_purchase_date',
            'per_user.last_purchase_date',
            'day'
        ) }} / {{ days_per_unit }} as recency,
        ({{ dbt.datediff(
            'per_user.first_purchase_date', as_of_date(), 'day'
        ) }} - 1) / {{ days_per_unit }} as customer_age,
        case
            when per_user.frequency > 0
                then
                    cast(
                        per_user.total_amount - per_user.first_day_amount
                        as double
                    )
                    / per_user.frequency
            else 0
        end as monetary_value,
        cast(per_user.total_amount as double) as historical_ltv
    from per_user
)

select * from summarized
