{#- The time windows of the propensity models: one row per window kind,
    label and horizon H (in days; the union of vars
    propensity_horizons_days, propensity_purchase_horizon_days and
    propensity_churn_horizon_days). A model is trained on the feature
    snapshot S0 with labels from [S0, S0 + H) and evaluated on a later
    snapshot S1 with labels from [S1, eval_label_end_date), out of time.
    Snapshots are the as-of dates of the feature history
    (int_user_features_accumulated) before as_of_date T.

    out_of_time (will_purchase and will_churn, every H): S1 = the latest
    snapshot with T - 2H < S1 <= T - H (its labels end at S1 + H <= T);
    S0 = the latest with S1 - 2H < S0 <= S1 - H (its labels end before
    S1). calibration_holdout (will_purchase, every H; only when var
    clv_calibration_end_date is set, the CLV holdout mode): S1 = the day
    after the calibration end, labels to T; S0 as above. A snapshot that
    is missing leaves its date null (int_propensity_windows_checked gives
    the window the fallback no_history). -#}
{%- set horizons = (
    var('propensity_horizons_days')
    + [var('propensity_purchase_horizon_days'),
       var('propensity_churn_horizon_days')]
) | map('int') | unique | sort | list -%}
{%- if horizons | select('lessthan', 1) | list | length > 0 -%}
    {{ exceptions.raise_compiler_error(
        'propensity horizons must be whole numbers of days of at least 1, got '
        ~ horizons | join(', ')
    ) }}
{%- endif %}

with

features as (
    select * from {{ ref('int_user_features_accumulated') }}
),

calibration_period as (
    select * from {{ ref('int_clv_calibration_period') }}
),

snapshots as (
    select distinct features.as_of_date as snapshot_date
    from features
    where features.as_of_date < {{ as_of_date() }}
),

horizons as (
    {% for horizon in horizons -%}
        select {{ horizon }} as horizon_days
        {%- if not loop.last %}
            union all
        {% endif %}
    {%- endfor %}
),

labels as (
    select 'will_purchase' as label  -- noqa: RF04
    union all
    select 'will_churn' as label  -- noqa: RF04
),

-- The snapshot range each window evaluates on (bounds included).
windows_defined as (
    select
        'out_of_time' as window_kind,
        labels.label,
        horizons.horizon_days,
        {{ as_of_date() }} as as_of_date,
        cast({{ dbt.dateadd(
            'day', '1 - 2 * horizons.horizon_days', as_of_date()
        ) }} as date) as eval_snapshot_earliest_date,
        cast({{ dbt.dateadd(
            'day', '-horizons.horizon_days', as_of_date()
        ) }} as date) as eval_snapshot_latest_date,
        horizons.horizon_days as eval_label_days
    from horizons
    cross join labels

    union all

    select
        'calibration_holdout' as window_kind,
        'will_purchase' as label,  -- noqa: RF04
        horizons.horizon_days,
        {{ as_of_date() }} as as_of_date,
        calibration_period.holdout_start_date as eval_snapshot_earliest_date,
        calibration_period.holdout_start_date as eval_snapshot_latest_date,
        {{ dbt.datediff(
            'calibration_period.holdout_start_date', as_of_date(), 'day'
        ) }} as eval_label_days
    from horizons
    cross join calibration_period
),

eval_snapshots_chosen as (
    select
        windows_defined.window_kind,
        windows_defined.label,
        windows_defined.horizon_days,
        max(snapshots.snapshot_date) as eval_snapshot_date
    from windows_defined
    left join snapshots
        on
            snapshots.snapshot_date
            between windows_defined.eval_snapshot_earliest_date
            and windows_defined.eval_snapshot_latest_date
    group by 1, 2, 3
),

train_ranges as (
    select
        windows_defined.*,
        eval_snapshots_chosen.eval_snapshot_date,
        cast({{ dbt.dateadd(
            'day',
            '1 - 2 * windows_defined.horizon_days',
            'eval_snapshots_chosen.eval_snapshot_date'
        ) }} as date) as train_snapshot_earliest_date,
        cast({{ dbt.dateadd(
            'day',
            '-windows_defined.horizon_days',
            'eval_snapshots_chosen.eval_snapshot_date'
        ) }} as date) as train_snapshot_latest_date
    from windows_defined
    inner join eval_snapshots_chosen
        on
            windows_defined.window_kind = eval_snapshots_chosen.window_kind
            and windows_defined.label = eval_snapshots_chosen.label
            and windows_defined.horizon_days
            = eval_snapshots_chosen.horizon_days
),

train_snapshots_chosen as (
    select
        train_ranges.window_kind,
        train_ranges.label,
        train_ranges.horizon_days,
        max(snapshots.snapshot_date) as train_snapshot_date
    from train_ranges
    left join snapshots
        on
            snapshots.snapshot_date
            between train_ranges.train_snapshot_earliest_date
            and train_ranges.train_snapshot_latest_date
    group by 1, 2, 3
),

windows as (
    select
        train_ranges.window_kind,
        train_ranges.label,
        train_ranges.horizon_days,
        train_ranges.as_of_date,
        train_snapshots_chosen.train_snapshot_date,
        cast({{ dbt.dateadd(
            'day',
            'train_ranges.horizon_days',
            'train_snapshots_chosen.train_snapshot_date'
        ) }} as date) as train_label_end_date,
        train_ranges.eval_snapshot_date,
        case
            when train_ranges.eval_snapshot_date is null then null
            when train_ranges.window_kind = 'calibration_holdout'
                then train_ranges.as_of_date
            else cast({{ dbt.dateadd(
                'day',
                'train_ranges.horizon_days',
                'train_ranges.eval_snapshot_date'
            ) }} as date)
        end as eval_label_end_date,
        train_ranges.eval_label_days,
        train_ranges.eval_snapshot_earliest_date,
        train_ranges.eval_snapshot_latest_date,
        train_ranges.train_snapshot_earliest_date,
        train_ranges.train_snapshot_latest_date,
        train_ranges.window_kind = 'out_of_time'
        and (
            (
                train_ranges.label = 'will_purchase'
                and train_ranges.horizon_days
                = {{ var('propensity_purchase_horizon_days') | int }}
            )
            or (
                train_ranges.label = 'will_churn'
                and train_ranges.horizon_days
                = {{ var('propensity_churn_horizon_days') | int }}
            )
        ) as is_scoring_window
    from train_ranges
    inner join train_snapshots_chosen
        on
            train_ranges.window_kind = train_snapshots_chosen.window_kind
            and train_ranges.label = train_snapshots_chosen.label
            and train_ranges.horizon_days = train_snapshots_chosen.horizon_days
)

select * from windows
