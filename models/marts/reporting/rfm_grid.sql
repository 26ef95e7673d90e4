{#- Roll-up of the final tables: purchasers and their net revenue per
    recency score x frequency score cell (R 5 = most recent, F 5 = most
    frequent), with each cell's share: the R x F heatmap. -#}
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
        sum(net_revenue) as net_revenue,
        count(*) * 1.0 / sum(count(*)) over () as user_share,
        sum(net_revenue) * 1.0 / sum(sum(net_revenue)) over () as revenue_share
    from profiles
    group by 1, 2
)

select * from cells
