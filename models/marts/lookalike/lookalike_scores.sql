{#- Every user outside the lookalike seed on the build's as-of date, scored
    by similarity to it (int_users_lookalike_ranked), with the audience
    flag and the seed (var lookalike_seed). Empty when the scoring check
    of int_lookalike_seed_checked fell back (lookalike_evaluation carries
    its reason and note). -#}
with

ranked as (
    select * from {{ ref('int_users_lookalike_ranked') }}
    where purpose = 'scoring'
),

checked as (
    select * from {{ ref('int_lookalike_seed_checked') }}
    where purpose = 'scoring'
),

final as (
    select
        ranked.user_id,
        ranked.user_key,
        ranked.lookalike_score,
        ranked.lookalike_percentile,
        ranked.lookalike_decile,
        ranked.marketing_opt_in,
        ranked.in_audience,
        checked.seed_column,
        checked.seed_value
    from ranked
    cross join checked
)

select * from final
