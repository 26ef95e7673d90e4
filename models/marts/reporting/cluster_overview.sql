{#- Roll-up of the final tables: one row per cluster with its size and, on
    the main features, its centroid in original units and its members'
    mean. -#}
with

centroids as (
    select * from {{ ref('cluster_centroids') }}
),

overview as (
    select
        cluster_id,
        cluster_label,
        max(user_count) as user_count,
        max(case when feature = 'monetary' then centroid_value end)
            as centroid_monetary,
        max(case when feature = 'frequency' then centroid_value end)
            as centroid_frequency,
        max(case when feature = 'recency_days' then centroid_value end)
            as centroid_recency_days,
        max(case when feature = 'average_order_value' then centroid_value end)
            as centroid_average_order_value,
        max(case when feature = 'sessions_90d' then centroid_value end)
            as centroid_sessions_90d,
        max(case when feature = 'monetary' then mean_value end)
            as mean_monetary,
        max(case when feature = 'frequency' then mean_value end)
            as mean_frequency,
        max(case when feature = 'recency_days' then mean_value end)
            as mean_recency_days
    from centroids
    group by 1, 2
)

select * from overview
