{#- Calibration and holdout mode: the chosen transaction model's (var
    btyd_model, int_btyd_model_chosen) predicted against actual repeat
    purchase days (and revenue) in the holdout period, per calibration
    frequency bucket 0, 1, ..., 6, 7+ and in total (see the clv_holdout
    docs block).
    Every bucket has a row, empty ones included, so charts keep their axis;
    no rows at all when var clv_calibration_end_date is unset. -#}
{%- set top_bucket = 7 -%}

with

summary as (
    select * from {{ ref('int_users_btyd_holdout_summarized') }}
),

chosen as (
    select * from {{ ref('int_btyd_model_chosen') }}
),

-- The chosen model's predictions only (none when no model was chosen).
predictions as (
    select predicted.*
    from {{ ref('int_users_btyd_holdout_predicted') }} as predicted
    inner join chosen on predicted.model = chosen.btyd_model
),

customers as (
    select
        summary.user_id,
        least(summary.frequency, {{ top_bucket }}) as bucket_order,
        summary.holdout_purchases,
        summary.holdout_revenue,
        predictions.predicted_holdout_purchases,
        predictions.predicted_holdout_revenue,
        summary.calibration_end_date,
        summary.holdout_end_date,
        summary.holdout_duration
    from summary
    left join predictions on summary.user_id = predictions.user_id
),

-- One row in calibration mode (the dates are the same for every customer),
-- none when the mode is off.
calibration as (
    select
        calibration_end_date,
        holdout_end_date,
        holdout_duration,
        count(predicted_holdout_purchases) > 0 as has_purchase_predictions,
        count(predicted_holdout_revenue) > 0 as has_revenue_predictions
    from customers
    group by 1, 2, 3
),

buckets as (
    {% for bucket in range(top_bucket + 1) -%}
        select {{ bucket }} as bucket_order
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

bucket_rows as (
    select
        buckets.bucket_order,
        false as is_total,
        count(customers.user_id) as customers,
        count(customers.predicted_holdout_purchases) as predicted_customers,
        coalesce(sum(customers.holdout_purchases), 0) as actual_purchases,
        sum(customers.predicted_holdout_purchases) as predicted_purchases,
        coalesce(sum(customers.holdout_revenue), 0) as actual_revenue,
        sum(customers.predicted_holdout_revenue) as predicted_revenue
    from buckets
    left join customers on buckets.bucket_order = customers.bucket_order
    group by 1, 2
),

total_row as (
    select
        {{ top_bucket + 1 }} as bucket_order,
        true as is_total,
        count(user_id) as customers,
        count(predicted_holdout_purchases) as predicted_customers,
        coalesce(sum(holdout_purchases), 0) as actual_purchases,
        sum(predicted_holdout_purchases) as predicted_purchases,
        coalesce(sum(holdout_revenue), 0) as actual_revenue,
        sum(predicted_holdout_revenue) as predicted_revenue
    from customers
),

unioned as (
    select * from bucket_rows
    union all
    select * from total_row
),

compared as (
    select
        case
            when unioned.is_total then 'total'
            when unioned.bucket_order = {{ top_bucket }}
                then '{{ top_bucket }}+'
            else cast(unioned.bucket_order as varchar)
        end as calibration_frequency_bucket,
        cast(unioned.bucket_order as integer) as bucket_order,
        unioned.is_total,
        cast(unioned.customers as bigint) as customers,
        cast(unioned.predicted_customers as bigint) as predicted_customers,
        cast(unioned.actual_purchases as bigint) as actual_purchases,
        case
            when calibration.has_purchase_predictions
                then cast(coalesce(unioned.predicted_purchases, 0) as double)
        end as predicted_purchases,
        cast(unioned.actual_purchases as double)
        / nullif(unioned.customers, 0) as actual_purchases_per_customer,
        cast(unioned.predicted_purchases as double)
        / nullif(unioned.predicted_customers, 0)
            as predicted_purchases_per_customer,
        cast(unioned.predicted_purchases as double)
        / nullif(unioned.actual_purchases, 0) - 1 as purchases_error_share,
        cast(unioned.actual_revenue as double) as actual_revenue,
        case
            when calibration.has_revenue_predictions
                then cast(coalesce(unioned.predicted_revenue, 0) as double)
        end as predicted_revenue,
        calibration.calibration_end_date,
        calibration.holdout_end_date,
        cast(calibration.holdout_duration as double) as holdout_duration,
        '{{ var("btyd_time_unit") }}' as time_unit,
        chosen.btyd_model
    from unioned
    cross join calibration
    cross join chosen
)

select * from compared
