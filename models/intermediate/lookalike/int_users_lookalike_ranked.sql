{#- The lookalike scores ranked, one row per purpose and non-member of the
    seed scored by int_lookalike_scored: the percentile of the score among
    the purpose's non-members (1 minus the share of the other non-members
    scoring higher: 1.0 = the most similar, ties included, 0 = the least
    when untied), the decile (macro score_decile: 1 =
    the most similar 10%, ties spread by user_key), whether the user is
    in the seed at the build's as-of date (the evaluation's outcome), and
    for scoring the marketing consent and the audience: the top
    lookalike_audience_share (rounded up) of the consenting non-members by
    score (ties by user_key). -#}
{%- set audience_share = var('lookalike_audience_share') | float -%}

with

scored as (
    select * from {{ ref('int_lookalike_scored') }}
),

population as (
    select * from {{ ref('int_lookalike_population') }}
),

segmented as (
    select
        user_id,
        is_opted_in_to_marketing
    from {{ ref('int_users_segmented') }}
),

joined as (
    select
        scored.purpose,
        scored.snapshot_date,
        scored.user_id,
        scored.user_key,
        scored.lookalike_score,
        population.is_seed_member_at_as_of_date,
        case
            when scored.purpose = 'scoring'
                then coalesce(segmented.is_opted_in_to_marketing, false)
        end as marketing_opt_in
    from scored
    inner join population
        on
            scored.purpose = population.purpose
            and scored.user_id = population.user_id
    left join segmented
        on
            scored.user_id = segmented.user_id
            and scored.purpose = 'scoring'
),

ranked as (
    select
        *,
        1 - percent_rank() over (
            partition by purpose order by lookalike_score desc
        ) as lookalike_percentile,
        {{ score_decile('lookalike_score', ['purpose']) }} as lookalike_decile,
        row_number() over (
            partition by purpose, marketing_opt_in
            order by lookalike_score desc, user_key asc
        ) as consenting_rank,
        count(*) over (partition by purpose, marketing_opt_in)
            as consenting_users
    from joined
),

audienced as (
    select
        purpose,
        snapshot_date,
        user_id,
        user_key,
        lookalike_score,
        lookalike_percentile,
        lookalike_decile,
        is_seed_member_at_as_of_date,
        marketing_opt_in,
        case
            when purpose = 'scoring'
                then
                    coalesce(marketing_opt_in, false)
                    and consenting_rank
                    <= ceil({{ audience_share }} * consenting_users)
        end as in_audience
    from ranked
)

select * from audienced
