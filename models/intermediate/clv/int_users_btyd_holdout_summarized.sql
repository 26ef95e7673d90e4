{#- Calibration and holdout mode (var clv_calibration_end_date): the BTYD
    summary of every purchaser whose first purchase is on or before the
    calibration end, computed on the calibration period only, with what
    they really bought in the holdout period (the day after the calibration
    end to the day before as_of_date). Same rules as
    int_users_btyd_summarized: purchases on one day count as one purchase
    worth their sum; time is in var btyd_time_unit. Empty when the var is
    unset (the mode is off; int_clv_calibration_period is then empty).
    See the clv_holdout docs block. -#}
{%- set days_per_unit = btyd_days_per_unit() -%}

with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
    where is_purchase
),

calibration_period as (
    select * from {{ ref('int_clv_calibration_period') }}
),

purchase_days as (
    select
        user_id,
        ordered_date,
        sum(amount) as day_amount
    from orders
    group by 1, 2
),

purchase_days_split as (
    select
        purchase_days.user_id,
        purchase_days.ordered_date,
        purchase_days.day_amount,
        calibration_period.calibration_end_date,
        calibration_period.holdout_end_date,
        purchase_days.ordered_date
        <= calibration_period.calibration_end_date as is_calibration,
        row_number() over (
            partition by purchase_days.user_id
            order by purchase_days.ordered_date
        ) as day_number
    from purchase_days
    -- No rows when the mode is off: the period table is then empty.
    cross join calibration_period
),

per_user as (
    select
        user_id,
        calibration_end_date,
        holdout_end_date,
        min(ordered_date) as first_purchase_date,
        max(case when is_calibration then ordered_date end)
            as last_calibration_purchase_date,
        count(case when is_calibration then 1 end) - 1 as frequency,
        sum(
            case when is_calibration and day_number > 1 then day_amount end
        ) as repeat_amount,
        count(case when not is_calibration then 1 end) as holdout_purchases,
        sum(case when not is_calibration then day_amount end)
            as holdout_amount
    from purchase_days_split
    group by 1, 2, 3
    having min(ordered_date) <= calibration_end_date
),

summarized as (
    select
        user_id,
        frequency,
        {{ dbt.datediff(
            'first_purchase_date', 'last_calibration_purchase_date', 'day'
        ) }} / {{ days_per_unit }} as recency,
        {{ dbt.datediff(
            'first_purchase_date', 'calibration_end_date', 'day'
        ) }} / {{ days_per_unit }} as customer_age,
        case
            when frequency > 0
                then cast(repeat_amount as double) / frequency
            else 0
        end as monetary_value,
        holdout_purchases,
        cast(coalesce(holdout_amount, 0) as double) as holdout_revenue,
        {{ dbt.datediff(
            'calibration_end_date', 'holdout_end_date', 'day'
        ) }} / {{ days_per_unit }} as holdout_duration,
        calibration_end_date,
        holdout_end_date
    from per_user
)

select * from summarized
