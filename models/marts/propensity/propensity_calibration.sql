{#- Calibration of each classifier on each ready window's evaluation
    users: 10 bins by predicted probability (bin 1 = the lowest 10% of
    predicted probabilities, bin 10 = the highest, i.e. 11 - the score
    decile), each with its mean predicted probability and the observed
    rate of the label. A calibrated model has the two close in every
    bin. -#}
with

ranked as (
    select * from {{ ref('int_propensity_examples_ranked') }}
),

binned as (
    select
        window_kind,
        label,
        cast(horizon_days as integer) as horizon_days,
        model,
        11 - score_decile as bin,
        count(*) as users,  -- noqa: RF04
        avg(score) as mean_predicted_probability,
        avg(cast(label_value as integer)) as observed_rate,
        min(score) as min_predicted_probability,
        max(score) as max_predicted_probability
    from ranked
    where model_kind = 'classifier'
    group by 1, 2, 3, 4, 5
)

select * from binned
order by 1, 2, 3, 4, 5
