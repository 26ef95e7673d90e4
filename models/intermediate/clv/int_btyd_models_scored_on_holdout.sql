{#- Calibration and holdout mode: how well each transaction model fitted
    on the calibration period predicts the holdout, one row per model:
    total predicted against actual repeat purchase days (the error var
    btyd_model auto chooses on) and the ROC-AUC of probability_alive and of
    the predicted purchases for "any purchase in the holdout". No rows when
    the mode is off.

    ROC-AUC as the Mann-Whitney statistic: rank every customer by the score
    (ties get their average rank), then
    AUC = (sum of the buyers' ranks - n1 (n1 + 1) / 2) / (n1 n0)
    with n1 buyers and n0 non-buyers: the probability that a random buyer
    scores above a random non-buyer, ties counting one half. Customers
    without a score (a model that fell back) are left out. -#}
{%- set scores = {
    'probability_alive': 'probability_alive_auc',
    'predicted_holdout_purchases': 'expected_purchases_auc',
} -%}

with

summary as (
    select * from {{ ref('int_users_btyd_holdout_summarized') }}
),

predictions as (
    select * from {{ ref('int_users_btyd_holdout_predicted') }}
),

calibration_fits as (
    select * from {{ ref('int_btyd_models_fitted_to_calibration') }}
    where model != 'gamma_gamma'
),

-- One row in calibration mode (the dates are the same for every customer).
summary_period as (
    select
        calibration_end_date,
        holdout_end_date,
        count(*) as calibration_customers
    from summary
    group by 1, 2
),

customers as (
    select
        predictions.model,
        predictions.user_id,
        predictions.probability_alive,
        predictions.predicted_holdout_purchases,
        summary.holdout_purchases,
        case when summary.holdout_purchases > 0 then 1 else 0 end
            as has_holdout_purchase
    from predictions
    inner join summary on predictions.user_id = summary.user_id
),

totals as (
    select
        model,
        count(*) as customers,
        count(predicted_holdout_purchases) as predicted_customers,
        sum(has_holdout_purchase) as holdout_buyers,
        sum(holdout_purchases) as actual_holdout_purchases,
        sum(predicted_holdout_purchases) as predicted_holdout_purchases
    from customers
    group by 1
),

{% for score, auc in scores.items() %}
    {{ auc }}_ranked as (
        select
            model,
            has_holdout_purchase,
            -- The average rank of a group of ties: its first rank plus
            -- half of the other ties.
            rank() over (partition by model order by {{ score }})
            + (count(*) over (partition by model, {{ score }}) - 1) / 2.0
                as score_rank
        from customers
        where {{ score }} is not null
    ),

    {{ auc }}_computed as (
        select
            model,
            (
                sum(has_holdout_purchase * score_rank)
                - sum(has_holdout_purchase)
                * (sum(has_holdout_purchase) + 1) / 2.0
            )
            / nullif(
                cast(sum(has_holdout_purchase) as double)
                * sum(1 - has_holdout_purchase),
                0
            ) as {{ auc }}
        from {{ auc }}_ranked
        group by 1
    ),

{% endfor %}
scored as (
    select
        calibration_fits.model,
        calibration_fits.r,
        calibration_fits.alpha,
        calibration_fits.a,
        calibration_fits.b,
        calibration_fits.s,
        calibration_fits.beta,
        calibration_fits.log_likelihood,
        calibration_fits.n_parameters,
        calibration_fits.aic,
        calibration_fits.converged,
        coalesce(totals.customers, 0) as customers,
        summary_period.calibration_customers,
        totals.predicted_customers,
        totals.holdout_buyers,
        totals.actual_holdout_purchases,
        case
            when calibration_fits.converged
                then totals.predicted_holdout_purchases
        end as predicted_holdout_purchases,
        {% for auc in scores.values() -%}
            {{ auc }}_computed.{{ auc }},
        {% endfor -%}
        summary_period.calibration_end_date,
        summary_period.holdout_end_date
    from calibration_fits
    left join totals on calibration_fits.model = totals.model
    {% for auc in scores.values() -%}
        left join {{ auc }}_computed
            on calibration_fits.model = {{ auc }}_computed.model
    {% endfor -%}
    cross join summary_period
),

final as (
    select
        *,
        predicted_holdout_purchases - actual_holdout_purchases
            as holdout_purchases_error,
        abs(predicted_holdout_purchases - actual_holdout_purchases)
            as holdout_purchases_absolute_error
    from scored
)

select * from final
