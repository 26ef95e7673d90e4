{#- Lift and capture by decile of score, per ready window and model
    (classifiers and rankers): decile 1 = the model's highest 10% of
    scores among the window's evaluation users. lift = the decile's
    positive rate / the window's base rate; cumulative_capture = the share
    of all positives found in deciles 1 to this one (1 at decile 10). -#}
with

ranked as (
    select * from {{ ref('int_propensity_examples_ranked') }}
),

deciles as (
    select
        window_kind,
        label,
        horizon_days,
        model,
        model_kind,
        score_decile as decile,
        count(*) as users,  -- noqa: RF04
        count(*) filter (where label_value) as positives,
        min(score) as min_score,
        max(score) as max_score
    from ranked
    group by 1, 2, 3, 4, 5, 6
),

totals as (
    select
        *,
        sum(users) over (
            partition by window_kind, label, horizon_days, model
        ) as model_users,
        sum(positives) over (
            partition by window_kind, label, horizon_days, model
        ) as model_positives,
        sum(positives) over (
            partition by window_kind, label, horizon_days, model
            order by decile
            rows between unbounded preceding and current row
        ) as cumulative_positives
    from deciles
),

final as (
    select
        window_kind,
        label,
        cast(horizon_days as integer) as horizon_days,
        model,
        model_kind,
        decile,
        users,
        positives,
        min_score,
        max_score,
        positives / cast(users as double) as positive_rate,
        (positives / cast(users as double))
        / nullif(model_positives / cast(model_users as double), 0) as lift,
        cast(cumulative_positives as bigint) as cumulative_positives,
        cumulative_positives
        / nullif(cast(model_positives as double), 0) as cumulative_capture
    from totals
)

select * from final
order by 1, 2, 3, 4, 6
