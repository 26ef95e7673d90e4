{#- Roll-up of the final tables: users per value tier x activity tier, with
    each cell's share of the population. -#}
with

segments as (
    select * from {{ ref('user_segments') }}
),

matrix as (
    select
        value_tier,
        activity_tier,
        count(*) as user_count,
        count(*) * 1.0 / sum(count(*)) over () as user_share
    from segments
    group by 1, 2
)

select * from matrix
