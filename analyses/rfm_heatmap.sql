-- Purchasers and revenue per R x F cell (R 5 = most recent, F 5 = most
-- frequent): the classic RFM heatmap, from the rfm_grid roll-up.
with

grid as (
    select * from {{ ref('rfm_grid') }}
),

cells as (
    select
        recency_score,
        frequency_score,
        user_count,
        net_revenue as revenue,
        user_share,
        revenue_share
    from grid
)

select * from cells
order by 1 desc, 2 asc
