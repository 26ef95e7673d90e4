{% macro ranking_metrics(
    relation, group_columns, label_column='label_value', score_column='score'
) -%}
    {#- A query: per group, the users, positives and negatives and how well
        the score ranks the positives above the negatives. ROC-AUC is the
        Mann-Whitney statistic with average ranks for tied scores (what
        sklearn's roc_auc_score computes); PR-AUC is the average precision
        of sklearn's average_precision_score: the sum over the distinct
        scores, highest first, of the recall gained at that score times the
        precision of every user scored at or above it (tied scores are one
        threshold). Rows with a null score are left out; null metrics when a
        group has no positive (PR-AUC) or only one class (ROC-AUC). -#}
    {%- set groups = group_columns | join(', ') -%}
    select
        {{ groups }},
        sum(score_users) as users,
        sum(score_positives) as positives,
        sum(score_users) - sum(score_positives) as negatives,
        case
            when sum(score_positives) > 0
                and sum(score_users) > sum(score_positives)
                then
                    (
                        sum(score_positives * average_rank)
                        - sum(score_positives)
                        * (sum(score_positives) + 1) / 2.0
                    )
                    / (
                        cast(sum(score_positives) as double)
                        * (sum(score_users) - sum(score_positives))
                    )
        end as roc_auc,
        case
            when sum(score_positives) > 0
                then
                    sum(
                        score_positives
                        * cast(positives_at_or_above as double)
                        / users_at_or_above
                    )
                    / sum(score_positives)
        end as pr_auc
    from (
        select
            {{ groups }},
            score_users,
            score_positives,
            -- The tied users hold ranks (users below + 1) .. (users at or
            -- below): their average rank.
            sum(score_users) over (
                partition by {{ groups }}
                order by score
                rows between unbounded preceding and current row
            ) - (score_users - 1) / 2.0 as average_rank,
            sum(score_positives) over (
                partition by {{ groups }}
                order by score desc
                rows between unbounded preceding and current row
            ) as positives_at_or_above,
            sum(score_users) over (
                partition by {{ groups }}
                order by score desc
                rows between unbounded preceding and current row
            ) as users_at_or_above
        from (
            select
                {{ groups }},
                {{ score_column }} as score,
                count(*) as score_users,
                count(*) filter (where {{ label_column }}) as score_positives
            from {{ relation }}
            where {{ score_column }} is not null
            group by {{ groups }}, {{ score_column }}
        ) as scores
    ) as ranked_scores
    group by {{ groups }}
{%- endmacro %}

{% macro clipped_probability(probability_column, epsilon=1e-15) -%}
    {#- The probability clipped to [epsilon, 1 - epsilon], so its log is
        finite (log loss). -#}
    greatest(least({{ probability_column }}, 1 - {{ epsilon }}), {{ epsilon }})
{%- endmacro %}

{% macro log_loss(label_column, probability_column, epsilon=1e-15) -%}
    {#- Aggregate: the mean negative log-likelihood of the boolean labels
        under the predicted probabilities, clipped to [epsilon, 1 - epsilon]
        (sklearn's log_loss). -#}
    -avg(
        case
            when {{ label_column }}
                then ln({{ clipped_probability(probability_column, epsilon) }})
            else ln(1 - {{ clipped_probability(probability_column, epsilon) }})
        end
    )
{%- endmacro %}

{% macro brier_score(label_column, probability_column) -%}
    {#- Aggregate: the mean squared difference between the predicted
        probability and the boolean label as 0/1 (sklearn's
        brier_score_loss). -#}
    avg(
        power(
            {{ probability_column }}
            - case when {{ label_column }} then 1.0 else 0.0 end,
            2
        )
    )
{%- endmacro %}

{% macro score_decile(
    score_column, partition_columns=[], tiebreak_column='user_key'
) -%}
    {#- Window expression: the score's decile among the rows of its
        partition with a score, 1 = the highest 10% (ntile over the score
        descending, ties broken by the tiebreak column, a pseudonymous key,
        so tied users spread over deciles in no meaningful order). Null when
        the score is null. -#}
    case
        when {{ score_column }} is not null
            then ntile(10) over (
                partition by
                {%- for column in partition_columns %} {{ column }},
                {%- endfor %} {{ score_column }} is null
                order by {{ score_column }} desc, {{ tiebreak_column }}
            )
    end
{%- endmacro %}
