-- The propensity metric macros (macros/propensity.sql) on literal,
-- tie-heavy rows: returns every group whose metric differs from the
-- expected value, which is sklearn's (roc_auc_score,
-- average_precision_score, log_loss, brier_score_loss) on the same rows;
-- pytests/test_propensity_marts.py recomputes the expected values with
-- sklearn from this file. Then the score deciles of 20 distinct scores and
-- a null one.
with

cases as (
    select
        cases.group_name,
        cases.label_value,
        cast(cases.score as double) as score
    from (
        values
        ('ties', true, 0.9),
        ('ties', false, 0.9),
        ('ties', true, 0.9),
        ('ties', false, 0.5),
        ('ties', true, 0.5),
        ('ties', false, 0.5),
        ('ties', false, 0.5),
        ('ties', true, 0.2),
        ('ties', false, 0.2),
        ('ties', false, 0.1),
        ('ties', false, 0.1),
        ('ties', true, 0.9),
        ('all_tied', true, 0.3),
        ('all_tied', false, 0.3),
        ('all_tied', false, 0.3),
        ('all_tied', true, 0.3),
        ('all_tied', false, 0.3),
        ('extremes', true, 1.0),
        ('extremes', false, 0.0),
        ('extremes', true, 0.7),
        ('extremes', false, 0.7),
        ('extremes', false, 0.4),
        ('extremes', true, 0.4),
        ('extremes', false, 0.0),
        ('extremes', true, 1.0),
        ('one_class', false, 0.3),
        ('one_class', false, 0.6)
    ) as cases (group_name, label_value, score)
),

expected as (
    select
        expected.group_name,
        expected.roc_auc,
        expected.pr_auc,
        expected.log_loss,
        expected.brier_score
    from (
        values
        ('ties', 0.7571428571428571, 0.6499999999999999,
            0.6195464881059389, 0.21166666666666664),
        ('all_tied', 0.5, 0.4, 0.6955940880936139, 0.25),
        ('extremes', 0.875, 0.8541666666666666,
            0.37347051298810185, 0.1375),
        ('one_class', null, null, 0.6364828379064438, 0.225)
    ) as expected (group_name, roc_auc, pr_auc, log_loss, brier_score)
),

ranking as (
    {{ ranking_metrics('cases', ['group_name']) }}
),

probability as (
    select
        group_name,
        {{ log_loss('label_value', 'score') }} as log_loss,
        {{ brier_score('label_value', 'score') }} as brier_score
    from cases
    group by group_name
),

metric_failures as (
    select
        expected.group_name,
        'metric' as failure
    from expected
    left join ranking on expected.group_name = ranking.group_name
    left join probability on expected.group_name = probability.group_name
    where
        not coalesce(
            abs(ranking.roc_auc - expected.roc_auc) < 1e-12, false
        ) and not (ranking.roc_auc is null and expected.roc_auc is null)
        or not coalesce(
            abs(ranking.pr_auc - expected.pr_auc) < 1e-12, false
        ) and not (ranking.pr_auc is null and expected.pr_auc is null)
        or not coalesce(
            abs(probability.log_loss - expected.log_loss) < 1e-12, false
        )
        or not coalesce(
            abs(probability.brier_score - expected.brier_score) < 1e-12,
            false
        )
),

scores as (
    select
        cast(scores.score as double) as score,
        md5(cast(scores.score as varchar)) as user_key
    from range(1, 21) as scores (score)
    union all
    select
        null as score,
        'no score' as user_key
),

deciles as (
    select
        score,
        {{ score_decile('score') }} as score_decile
    from scores
),

decile_failures as (
    select
        cast(score as varchar) as group_name,
        'decile' as failure
    from deciles
    where
        score_decile is distinct from (
            case
                when score is not null
                    then cast(11 - ceil(score / 2) as bigint)
            end
        )
)

select * from metric_failures
union all
select * from decile_failures
