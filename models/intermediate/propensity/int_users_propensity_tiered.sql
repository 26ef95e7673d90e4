{#- Every user of the population as of as_of_date with the propensity
    scores (int_users_propensity_scored), their deciles (1 = the highest
    10% of the scored users) and the propensity tier: high / medium / low
    by percentile of purchase_propensity among the scored users (vars
    propensity_tier_high_percentile, propensity_tier_medium_percentile, as
    the value tiers). Null when unscored (the window fell back, or the user
    is outside the churn population). What user_profiles, user_segments
    and the primary-segment rules read. -#}
with

users as (
    select * from {{ ref('int_users_profiled') }}
),

scored as (
    select * from {{ ref('int_users_propensity_scored') }}
),

joined as (
    select
        users.user_id,
        users.user_key,
        scored.purchase_propensity,
        scored.churn_risk
    from users
    left join scored on users.user_id = scored.user_id
),

ranked as (
    select
        *,
        {{ score_decile('purchase_propensity') }}
            as purchase_propensity_decile,
        {{ score_decile('churn_risk') }} as churn_risk_decile,
        case
            when purchase_propensity is not null
                then percent_rank() over (
                    partition by purchase_propensity is null
                    order by purchase_propensity
                )
        end as purchase_propensity_percentile
    from joined
),

tiered as (
    select
        user_id,
        purchase_propensity,
        purchase_propensity_decile,
        churn_risk,
        churn_risk_decile,
        case
            when purchase_propensity_percentile is null then null
            when
                purchase_propensity_percentile
                >= {{ var('propensity_tier_high_percentile') }}
                then 'high'
            when
                purchase_propensity_percentile
                >= {{ var('propensity_tier_medium_percentile') }}
                then 'medium'
            else 'low'
        end as propensity_tier
    from ranked
)

select * from tiered
