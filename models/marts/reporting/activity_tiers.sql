{#- Roll-up of the final tables: users per activity tier (from
    user_segments) next to the tier's mean 90-day behaviour (from
    user_profiles), one row per activity tier. -#}
with

segments as (
    select * from {{ ref('user_segments') }}
),

profiles as (
    select * from {{ ref('user_profiles') }}
),

tier_sizes as (
    select
        activity_tier,
        count(*) as user_count
    from segments
    group by 1
),

tier_behaviour as (
    select
        activity_tier,
        avg(sessions_90d) as mean_sessions_90d,
        avg(browse_minutes_90d) as mean_browse_minutes_90d,
        avg(ctr_90d) as mean_ctr_90d
    from profiles
    group by 1
),

tiers as (
    select
        tier_sizes.activity_tier,
        tier_sizes.user_count,
        cast(tier_sizes.user_count as double)
        / sum(tier_sizes.user_count) over () as user_share,
        tier_behaviour.mean_sessions_90d,
        tier_behaviour.mean_browse_minutes_90d,
        tier_behaviour.mean_ctr_90d
    from tier_sizes
    left join tier_behaviour
        on tier_sizes.activity_tier = tier_behaviour.activity_tier
)

select * from tiers
