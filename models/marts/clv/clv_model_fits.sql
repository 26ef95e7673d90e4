{#- The fitted BG/NBD and Gamma-Gamma models, for BI: fitted once in
    intermediate (dbt Python models), only selected here. fit_purpose
    prediction = fitted on all purchases before as_of_date, behind
    user_clv; calibration = fitted on the calibration period only, behind
    clv_holdout_comparison (rows only when var clv_calibration_end_date is
    set). -#}
with

prediction_fits as (
    select * from {{ ref('int_btyd_models_fitted') }}
),

calibration_fits as (
    select * from {{ ref('int_btyd_models_fitted_to_calibration') }}
),

calibration_period as (
    select calibration_end_date from {{ ref('int_clv_calibration_period') }}
),

unioned as (
    select
        'prediction' as fit_purpose,
        cast(
            {{ dbt.dateadd('day', -1, as_of_date()) }} as date
        ) as fitted_through_date,
        prediction_fits.*
    from prediction_fits
    union all
    select
        'calibration' as fit_purpose,
        calibration_period.calibration_end_date as fitted_through_date,
        calibration_fits.*
    from calibration_fits
    cross join calibration_period
),

final as (
    select
        model,
        r,
        alpha,
        a,
        b,
        p,
        q,
        v,
        log_likelihood,
        n_customers,
        converged,
        iterations,
        fit_seconds,
        fallback_reason,
        fit_purpose,
        fitted_through_date
    from unioned
)

select * from final
