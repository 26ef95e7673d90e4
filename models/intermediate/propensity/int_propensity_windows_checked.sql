{#- Every propensity window with its example counts and whether a model
    may be fitted on it: THE fallback rule of the propensity models (the
    fits, the scores and the evaluation marts all read status from here).
    status ready, or fallback with the first reason that applies:
    no_history (a snapshot of the window is missing), single_class (the
    training or the evaluation rows hold one class only, or none),
    too_few_positives / too_few_negatives (fewer than
    propensity_min_class_size in the training or the evaluation rows;
    training checked first), and a note naming the dates or counts and
    what to do. -#}
{%- set min_class_size = var('propensity_min_class_size') | int -%}

with

windows as (
    select * from {{ ref('int_propensity_windows') }}
),

examples as (
    select * from {{ ref('int_propensity_examples') }}
),

examples_counted as (
    select
        window_kind,
        label,
        horizon_days,
        count(case when role = 'train' then 1 end) as train_rows,
        count(case when role = 'train' and label_value then 1 end)
            as train_positives,
        count(case when role = 'train' and not label_value then 1 end)
            as train_negatives,
        count(case when role = 'eval' then 1 end) as eval_rows,
        count(case when role = 'eval' and label_value then 1 end)
            as eval_positives,
        count(case when role = 'eval' and not label_value then 1 end)
            as eval_negatives
    from examples
    group by 1, 2, 3
),

counted as (
    select
        windows.*,
        coalesce(examples_counted.train_rows, 0) as train_rows,
        coalesce(examples_counted.train_positives, 0) as train_positives,
        coalesce(examples_counted.train_negatives, 0) as train_negatives,
        coalesce(examples_counted.eval_rows, 0) as eval_rows,
        coalesce(examples_counted.eval_positives, 0) as eval_positives,
        coalesce(examples_counted.eval_negatives, 0) as eval_negatives,
        cast(windows.horizon_days as varchar) || '-day ' || windows.label
        || ' window (' || windows.window_kind || ')' as window_name,
        -- A weekly backfill from this date gives the window both its
        -- snapshots: any horizon-long range after it holds a weekly date,
        -- and whole weeks back from the calibration's evaluation day
        -- land on that day.
        cast(
            case
                when windows.window_kind = 'calibration_holdout'
                    then {{ dbt.dateadd(
                        'day',
                        '-7 * ceil(windows.horizon_days / 7.0)',
                        'windows.eval_snapshot_latest_date'
                    ) }}
                else {{ dbt.dateadd(
                    'day',
                    '-2 * windows.horizon_days - 7',
                    'windows.eval_snapshot_latest_date'
                ) }}
            end as date
        ) as backfill_from_date
    from windows
    left join examples_counted
        on
            windows.window_kind = examples_counted.window_kind
            and windows.label = examples_counted.label
            and windows.horizon_days = examples_counted.horizon_days
),

reasoned as (
    select
        *,
        case
            when eval_snapshot_date is null or train_snapshot_date is null
                then 'no_history'
            when
                train_positives = 0 or train_negatives = 0
                or eval_positives = 0 or eval_negatives = 0
                then 'single_class'
            when
                train_positives < {{ min_class_size }}
                or eval_positives < {{ min_class_size }}
                then 'too_few_positives'
            when
                train_negatives < {{ min_class_size }}
                or eval_negatives < {{ min_class_size }}
                then 'too_few_negatives'
        end as fallback_reason
    from counted
),

roled as (
    select
        *,
        -- The rows the reason is about: the training rows when they
        -- fail it, else the evaluation rows.
        case
            when
                fallback_reason = 'single_class'
                and (train_positives = 0 or train_negatives = 0)
                then 'train'
            when
                fallback_reason = 'too_few_positives'
                and train_positives < {{ min_class_size }}
                then 'train'
            when
                fallback_reason = 'too_few_negatives'
                and train_negatives < {{ min_class_size }}
                then 'train'
            else 'eval'
        end as fallback_role
    from reasoned
),

noted as (
    select
        *,
        case fallback_role
            when 'train'
                then
                    'training rows (snapshot '
                    || cast(train_snapshot_date as varchar) || ', '
                    || cast(train_rows as varchar) || ' users: '
                    || cast(train_positives as varchar) || ' positive, '
                    || cast(train_negatives as varchar) || ' negative)'
            else
                'evaluation rows (snapshot '
                || cast(eval_snapshot_date as varchar) || ', '
                || cast(eval_rows as varchar) || ' users: '
                || cast(eval_positives as varchar) || ' positive, '
                || cast(eval_negatives as varchar) || ' negative)'
        end as fallback_rows_text,
        'backfill the history (e.g. make run HISTORY_FROM='
        || cast(backfill_from_date as varchar)
        || ' HISTORY_EVERY=week)' as backfill_advice
    from roled
),

checked as (
    select
        window_kind,
        label,
        horizon_days,
        as_of_date,
        train_snapshot_date,
        train_label_end_date,
        eval_snapshot_date,
        eval_label_end_date,
        eval_label_days,
        eval_snapshot_earliest_date,
        eval_snapshot_latest_date,
        train_snapshot_earliest_date,
        train_snapshot_latest_date,
        is_scoring_window,
        train_rows,
        train_positives,
        train_negatives,
        eval_rows,
        eval_positives,
        eval_negatives,
        case
            when fallback_reason is null then 'ready' else 'fallback'
        end as status,
        fallback_reason,
        case
            when fallback_reason = 'no_history' and eval_snapshot_date is null
                then
                    'no model for the ' || window_name
                    || ': no feature snapshot '
                    || case
                        when window_kind = 'calibration_holdout'
                            then
                                'on '
                                || cast(eval_snapshot_latest_date as varchar)
                                || ' (the day after clv_calibration_end_date)'
                        else
                            'from '
                            || cast(eval_snapshot_earliest_date as varchar)
                            || ' to '
                            || cast(eval_snapshot_latest_date as varchar)
                    end
                    || ' to evaluate on: ' || backfill_advice
            when fallback_reason = 'no_history'
                then
                    'no model for the ' || window_name
                    || ': no feature snapshot from '
                    || cast(train_snapshot_earliest_date as varchar) || ' to '
                    || cast(train_snapshot_latest_date as varchar)
                    || ' to train on (at least '
                    || cast(horizon_days as varchar)
                    || ' days before the evaluation snapshot '
                    || cast(eval_snapshot_date as varchar) || '): '
                    || backfill_advice
            when fallback_reason = 'single_class'
                then
                    'no model for the ' || window_name || ': the '
                    || fallback_rows_text
                    || ' hold fewer than two classes: a longer history or'
                    || ' another horizon (propensity_horizons_days) may give'
                    || ' both'
            when fallback_reason = 'too_few_positives'
                then
                    'no model for the ' || window_name || ': the '
                    || fallback_rows_text || ' have fewer than '
                    || '{{ min_class_size }} positives'
                    || ' (propensity_min_class_size): use more data, a longer'
                    || ' horizon, or a lower propensity_min_class_size'
            when fallback_reason = 'too_few_negatives'
                then
                    'no model for the ' || window_name || ': the '
                    || fallback_rows_text || ' have fewer than '
                    || '{{ min_class_size }} negatives'
                    || ' (propensity_min_class_size): use more data, a shorter'
                    || ' horizon, or a lower propensity_min_class_size'
        end as fallback_note
    from noted
)

select * from checked
