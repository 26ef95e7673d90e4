{#- How well each model ranks each window's evaluation users, one row per
    (window_kind, label, horizon_days, model): the classifiers (trained on
    the earlier snapshot, evaluated out of time) side by side with the
    rankers users already have (probability_alive, rfm_score), with the
    same users and labels. A window that fell back
    (int_propensity_windows_checked) has one row per classifier with the
    status, reason and note and null metrics. Metrics: the macros of
    macros/propensity.sql. -#}
{%- set classifiers = ['gradient_boosting', 'logistic_regression'] -%}
{%- set scoring_model = 'gradient_boosting' -%}
{%- set window_columns = ['window_kind', 'label', 'horizon_days'] -%}
{%- set model_columns = window_columns + ['model', 'model_kind'] -%}
with

windows as (
    select * from {{ ref('int_propensity_windows_checked') }}
),

ranked as (
    select * from {{ ref('int_propensity_examples_ranked') }}
),

ranking_metrics as (
    {{ ranking_metrics('ranked', model_columns) }}
),

probability_metrics as (
    select
        window_kind,
        label,
        horizon_days,
        model,
        {{ log_loss('label_value', 'score') }} as log_loss,
        {{ brier_score('label_value', 'score') }} as brier_score
    from ranked
    where model_kind = 'classifier'
    group by 1, 2, 3, 4
),

top_deciles as (
    select
        window_kind,
        label,
        horizon_days,
        model,
        count(*) as users,  -- noqa: RF04
        count(*) filter (where label_value) as positives
    from ranked
    where score_decile = 1
    group by 1, 2, 3, 4
),

evaluated as (
    select
        ranking_metrics.window_kind,
        ranking_metrics.label,
        ranking_metrics.horizon_days,
        ranking_metrics.model,
        ranking_metrics.model_kind,
        cast(ranking_metrics.positives as bigint) as eval_positives,
        ranking_metrics.positives
        / cast(ranking_metrics.users as double) as base_rate,
        ranking_metrics.roc_auc,
        ranking_metrics.pr_auc,
        probability_metrics.log_loss,
        probability_metrics.brier_score,
        (top_deciles.positives / cast(top_deciles.users as double))
        / (
            ranking_metrics.positives / cast(ranking_metrics.users as double)
        ) as top_decile_lift,
        top_deciles.positives
        / cast(ranking_metrics.positives as double) as top_decile_capture
    from ranking_metrics
    left join probability_metrics
        on
            ranking_metrics.window_kind = probability_metrics.window_kind
            and ranking_metrics.label = probability_metrics.label
            and ranking_metrics.horizon_days = probability_metrics.horizon_days
            and ranking_metrics.model = probability_metrics.model
    left join top_deciles
        on
            ranking_metrics.window_kind = top_deciles.window_kind
            and ranking_metrics.label = top_deciles.label
            and ranking_metrics.horizon_days = top_deciles.horizon_days
            and ranking_metrics.model = top_deciles.model
),

classifiers as (
    select classifiers.model
    from (
        values
        {%- for classifier in classifiers %}
            ('{{ classifier }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as classifiers (model)
),

fallbacks as (
    select
        windows.window_kind,
        windows.label,
        windows.horizon_days,
        classifiers.model,
        'classifier' as model_kind,
        cast(null as bigint) as eval_positives,
        cast(null as double) as base_rate,
        cast(null as double) as roc_auc,
        cast(null as double) as pr_auc,
        cast(null as double) as log_loss,
        cast(null as double) as brier_score,
        cast(null as double) as top_decile_lift,
        cast(null as double) as top_decile_capture
    from windows
    cross join classifiers
    where windows.status = 'fallback'
),

models as (
    select * from evaluated
    union all
    select * from fallbacks
),

compared as (
    select
        *,
        max(case when model_kind = 'ranker' then roc_auc end) over (
            partition by window_kind, label, horizon_days
        ) as best_ranker_roc_auc
    from models
),

final as (
    select
        compared.window_kind,
        compared.label,
        cast(compared.horizon_days as integer) as horizon_days,
        compared.model,
        compared.model_kind,
        windows.status,
        windows.fallback_reason,
        windows.fallback_note,
        cast(windows.train_snapshot_date as date) as train_snapshot_date,
        cast(windows.eval_snapshot_date as date) as eval_snapshot_date,
        cast(windows.eval_label_end_date as date) as eval_label_end_date,
        cast(windows.eval_label_days as integer) as eval_label_days,
        cast(windows.train_rows as bigint) as train_rows,
        cast(windows.eval_rows as bigint) as eval_rows,
        cast(
            coalesce(compared.eval_positives, windows.eval_positives) as bigint
        ) as eval_positives,
        compared.base_rate,
        compared.roc_auc,
        compared.pr_auc,
        compared.log_loss,
        compared.brier_score,
        compared.top_decile_lift,
        compared.top_decile_capture,
        compared.best_ranker_roc_auc,
        case
            when compared.model_kind = 'classifier'
                then compared.roc_auc - compared.best_ranker_roc_auc
        end as roc_auc_gain_over_best_ranker,
        coalesce(
            windows.is_scoring_window
            and compared.model = '{{ scoring_model }}',
            false
        ) as is_scoring_model
    from compared
    inner join windows
        on
            compared.window_kind = windows.window_kind
            and compared.label = windows.label
            and compared.horizon_days = windows.horizon_days
)

select * from final
order by 1, 2, 3, 5, 4
