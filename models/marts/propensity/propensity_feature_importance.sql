{#- Permutation feature importance of the gradient-boosting classifier on
    each ready window's evaluation users (int_propensity_features_importance:
    the mean and spread of the ROC-AUC lost when the feature's values are
    shuffled), with the window's snapshot dates. Rank 1 = most
    important. -#}
with

importance as (
    select * from {{ ref('int_propensity_features_importance') }}
),

windows as (
    select * from {{ ref('int_propensity_windows_checked') }}
),

final as (
    select
        importance.window_kind,
        importance.label,
        cast(importance.horizon_days as integer) as horizon_days,
        importance.model,
        importance.feature,
        cast(importance.importance_mean as double) as importance_mean,
        cast(importance.importance_std as double) as importance_std,
        cast(importance.importance_rank as integer) as importance_rank,
        cast(windows.train_snapshot_date as date) as train_snapshot_date,
        cast(windows.eval_snapshot_date as date) as eval_snapshot_date,
        windows.is_scoring_window
    from importance
    inner join windows
        on
            importance.window_kind = windows.window_kind
            and importance.label = windows.label
            and importance.horizon_days = windows.horizon_days
)

select * from final
order by 1, 2, 3, 4, 8
