{#- Every ready window's evaluation users scored by every model: the
    classifiers' predicted probabilities (int_propensity_examples_predicted)
    and the rankers users already have, from the same users' features at
    the evaluation snapshot: probability_alive (BG/NBD; 1 - probability
    alive for will_churn) and rfm_score (recency + frequency + monetary
    score, 0 for a non-purchaser; negated for will_churn). A null score
    ranks lowest. score_decile: 1 = the model's highest 10% of scores in
    the window. What the evaluation marts measure. -#}
with

windows as (
    select * from {{ ref('int_propensity_windows_checked') }}
),

examples as (
    select * from {{ ref('int_propensity_examples') }}
),

predicted as (
    select * from {{ ref('int_propensity_examples_predicted') }}
),

evaluation_examples as (
    select examples.*
    from examples
    inner join windows
        on
            examples.window_kind = windows.window_kind
            and examples.label = windows.label
            and examples.horizon_days = windows.horizon_days
    where examples.role = 'eval' and windows.status = 'ready'
),

classifier_scores as (
    select
        predicted.window_kind,
        predicted.label,
        predicted.horizon_days,
        predicted.model,
        'classifier' as model_kind,
        predicted.user_id,
        evaluation_examples.user_key,
        predicted.label_value,
        predicted.predicted_probability as score
    from predicted
    inner join evaluation_examples
        on
            predicted.window_kind = evaluation_examples.window_kind
            and predicted.label = evaluation_examples.label
            and predicted.horizon_days = evaluation_examples.horizon_days
            and predicted.user_id = evaluation_examples.user_id
),

probability_alive_scores as (
    select
        window_kind,
        label,
        horizon_days,
        'probability_alive' as model,  -- noqa: RF04
        'ranker' as model_kind,
        user_id,
        user_key,
        label_value,
        coalesce(
            case
                when label = 'will_churn' then 1 - probability_alive
                else probability_alive
            end,
            -1.0
        ) as score
    from evaluation_examples
),

rfm_scores as (
    select
        window_kind,
        label,
        horizon_days,
        'rfm_score' as model,  -- noqa: RF04
        'ranker' as model_kind,
        user_id,
        user_key,
        label_value,
        (case when label = 'will_churn' then -1.0 else 1.0 end)
        * coalesce(recency_score + frequency_score + monetary_score, 0)
            as score
    from evaluation_examples
),

scored as (
    select * from classifier_scores
    union all
    select * from probability_alive_scores
    union all
    select * from rfm_scores
),

ranked as (
    select
        *,
        {{ score_decile(
            'score', ['window_kind', 'label', 'horizon_days', 'model']
        ) }} as score_decile
    from scored
)

select * from ranked
order by 1, 2, 3, 4, 6
