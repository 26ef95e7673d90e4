-- Users per value tier x activity tier, with each cell's share, from the
-- value_activity_matrix roll-up.
with

matrix as (
    select * from {{ ref('value_activity_matrix') }}
),

cells as (
    select
        value_tier,
        activity_tier,
        user_count,
        user_share
    from matrix
)

select * from cells
order by 1, 2
