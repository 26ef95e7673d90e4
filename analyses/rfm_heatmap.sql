-- Purchasers and revenue per R x F cell (R 5 = most recent, F 5 = most
-- frequent): the classic RFM heatmap.
with

profiles as (
    select * from {{ ref('user_profiles') }}
    where order_count > 0
),

cells as (
    select
        recency_score,
        frequency_score,
        count(*) as user_count,
        sum(net_revenue) as revenue,
        count(*) * 1.0 / sum(count(*)) over () as user_share,
        sum(net_revenue) * 1.0 / sum(sum(net_revenue)) over () as revenue_share
    from profiles
    group by 1, 2
)

select * from cells
order by 1 desc, 2 asc
