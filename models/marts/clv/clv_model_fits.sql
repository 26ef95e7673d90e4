{#- The fitted transaction models (BG/NBD, MBG/NBD, Pareto/NBD) and
    Gamma-Gamma, for BI: fitted once in intermediate (dbt Python models),
    only selected here. fit_purpose prediction = fitted on all purchases
    before as_of_date, behind user_clv; calibration = fitted on the
    calibration period only, behind clv_holdout_comparison and
    clv_model_comparison (rows only when var clv_calibration_end_date is
    set). is_chosen marks the prediction fit of the transaction model
    int_btyd_model_chosen picked (var btyd_model). -#}
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

chosen as (
    select * from {{ ref('int_btyd_model_chosen') }}
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
        unioned.model,
        unioned.r,
        unioned.alpha,
        unioned.a,
        unioned.b,
        unioned.s,
        unioned.beta,
        unioned.p,
        unioned.q,
        unioned.v,
        unioned.log_likelihood,
        unioned.n_parameters,
        unioned.aic,
        unioned.n_customers,
        unioned.converged,
        unioned.iterations,
        unioned.fit_seconds,
        unioned.fallback_reason,
        unioned.fit_purpose,
        unioned.fitted_through_date,
        coalesce(
            unioned.fit_purpose = 'prediction'
            and unioned.model = chosen.btyd_model,
            false
        ) as is_chosen,
        case
            when
                unioned.fit_purpose = 'prediction'
                and unioned.model != 'gamma_gamma'
                then chosen.choice_reason
        end as choice_reason
    from unioned
    cross join chosen
)

select * from final
