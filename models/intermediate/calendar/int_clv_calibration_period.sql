{#- The calibration and holdout periods of the CLV holdout mode: one row
    when var clv_calibration_end_date is set, none when it is unset (the
    mode is off). Stops the build with a message when the date is
    malformed, leaves no holdout before as_of_date, or comes before the
    first purchase. A table of its own, like int_as_of_date, so the checks
    always run: inside a larger query the optimiser may skip them. -#}
{%- set calibration_end = var('clv_calibration_end_date', none) -%}
{%- set calibration_text = (calibration_end or '') | string
    | replace("'", "") -%}

with

first_purchase as (
    select min(ordered_date) as first_purchase_date
    from {{ ref('int_orders_filtered_to_as_of') }}
    where is_purchase
),

calibration as (
    select
        {% if calibration_end is not none -%}
            {{ dbt.safe_cast("'" ~ calibration_text ~ "'", 'date') }}
        {%- else -%}
            cast(null as date)
        {%- endif %} as calibration_end_date,
        cast(
            {{ dbt.dateadd('day', -1, as_of_date()) }} as date
        ) as holdout_end_date,
        first_purchase.first_purchase_date
    from first_purchase
),

checked as (
    select
        case
            when calibration_end_date is null
                then {{ raise_data_error(
                    "'clv_calibration_end_date must be a date YYYY-MM-DD, "
                    ~ "got " ~ calibration_text ~ "'"
                ) }}
            when calibration_end_date >= holdout_end_date
                then {{ raise_data_error(
                    "'clv_calibration_end_date ' || "
                    ~ "cast(calibration_end_date as varchar) || "
                    ~ "' leaves no holdout period: it must be before '"
                    ~ " || cast(holdout_end_date as varchar) || "
                    ~ "' (the day before as_of_date).'"
                ) }}
            when
                first_purchase_date is null
                or calibration_end_date < first_purchase_date
                then {{ raise_data_error(
                    "'clv_calibration_end_date ' || "
                    ~ "cast(calibration_end_date as varchar) || "
                    ~ "' is before the first purchase, so there is nothing "
                    ~ "to calibrate on. Choose a later date.'"
                ) }}
        end as failed_check,
        calibration_end_date,
        cast(
            {{ dbt.dateadd('day', 1, 'calibration_end_date') }} as date
        ) as holdout_start_date,
        holdout_end_date
    from calibration
)

select
    calibration_end_date,
    holdout_start_date,
    holdout_end_date
from checked
{%- if calibration_end is none %}
    -- The mode is off: no calibration period, and no check to run.
    where false
{%- else %}
    -- The filter forces the checks above to be evaluated.
    where failed_check is null
{%- endif %}
