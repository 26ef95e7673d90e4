{#- How well the lookalike score finds the users who later join the seed,
    from the segment history: the classifier fitted at the snapshot S of
    int_lookalike_seed_checked (the latest at least lookalike_horizon_days
    before the as-of date T), the non-members of S scored and cut into
    deciles, and per decile how many were in the seed at T. One row per
    decile (1 = the most similar 10%) with the summary columns repeated;
    when the evaluation fell back (or its fit failed), one row with a null
    decile, the status, reason and note. The scoring check (T) is carried
    beside it (scoring_*), with the seed and audience sizes at T. -#}
with

checked as (
    select * from {{ ref('int_lookalike_seed_checked') }}
),

ranked as (
    select * from {{ ref('int_users_lookalike_ranked') }}
),

evaluation as (
    select * from checked
    where purpose = 'evaluation'
),

scoring as (
    select * from checked
    where purpose = 'scoring'
),

deciles as (
    select
        lookalike_decile,
        count(*) as users,  -- noqa: RF04
        count(*) filter (where is_seed_member_at_as_of_date) as joined
    from ranked
    where purpose = 'evaluation'
    group by 1
),

overall as (
    select
        sum(joined) / nullif(sum(users), 0) as overall_join_rate,
        sum(joined) filter (where lookalike_decile = 1)
        / nullif(sum(users) filter (where lookalike_decile = 1), 0)
            as top_decile_join_rate,
        sum(joined) filter (where lookalike_decile >= 6)
        / nullif(sum(users) filter (where lookalike_decile >= 6), 0)
            as bottom_half_join_rate
    from deciles
),

audience as (
    select count(*) filter (where in_audience) as audience_users
    from ranked
    where purpose = 'scoring'
),

final as (
    select
        evaluation.seed_column,
        evaluation.seed_value,
        evaluation.snapshot_date,
        evaluation.as_of_date as evaluated_at,
        evaluation.horizon_days,
        evaluation.status,
        evaluation.fallback_reason,
        evaluation.fallback_note as note,
        evaluation.seed_users as seed_users_at_snapshot,
        evaluation.non_member_users as non_members_at_snapshot,
        deciles.lookalike_decile,
        cast(deciles.users as bigint) as users,  -- noqa: RF04
        cast(deciles.joined as bigint) as joined,
        cast(deciles.joined as double) / nullif(deciles.users, 0) as join_rate,
        cast(deciles.joined as double) / nullif(deciles.users, 0)
        / nullif(overall.overall_join_rate, 0) as lift,
        cast(overall.overall_join_rate as double) as overall_join_rate,
        cast(overall.top_decile_join_rate as double) as top_decile_join_rate,
        cast(overall.bottom_half_join_rate as double) as bottom_half_join_rate,
        scoring.status as scoring_status,
        scoring.fallback_reason as scoring_fallback_reason,
        scoring.fallback_note as scoring_note,
        scoring.seed_users,
        scoring.non_member_users as non_members,
        case
            when scoring.status = 'ready' then audience.audience_users
        end as audience_users
    from evaluation
    cross join scoring
    cross join overall
    cross join audience
    left join deciles
        on evaluation.status = 'ready'
)

select * from final
order by 11  -- lookalike_decile
