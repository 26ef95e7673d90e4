{#- Calibration and holdout mode: the transaction models side by side,
    one row per model fitted on the calibration period: parameters,
    log-likelihood, AIC, predicted against actual holdout repeat purchase
    days, and the ROC-AUC of probability_alive and of the predicted
    purchases for "any purchase in the holdout" (which score to act on).
    Computed in int_btyd_models_scored_on_holdout; is_chosen marks the
    model behind user_clv. No rows when the mode is off. -#}
with

scored as (
    select * from {{ ref('int_btyd_models_scored_on_holdout') }}
),

chosen as (
    select * from {{ ref('int_btyd_model_chosen') }}
),

final as (
    select
        scored.model,
        scored.r,
        scored.alpha,
        scored.a,
        scored.b,
        scored.s,
        scored.beta,
        scored.log_likelihood,
        cast(scored.n_parameters as bigint) as n_parameters,
        scored.aic,
        scored.converged,
        cast(scored.customers as bigint) as customers,
        cast(scored.holdout_buyers as bigint) as holdout_buyers,
        cast(scored.actual_holdout_purchases as bigint)
            as actual_holdout_purchases,
        cast(scored.predicted_holdout_purchases as double)
            as predicted_holdout_purchases,
        cast(scored.holdout_purchases_error as double)
            as holdout_purchases_error,
        cast(scored.holdout_purchases_absolute_error as double)
            as holdout_purchases_absolute_error,
        cast(scored.probability_alive_auc as double) as probability_alive_auc,
        cast(scored.expected_purchases_auc as double)
            as expected_purchases_auc,
        coalesce(scored.model = chosen.btyd_model, false) as is_chosen,
        scored.calibration_end_date,
        scored.holdout_end_date
    from scored
    cross join chosen
)

select * from final
