-- Each cluster's size and centroid (original units) on the main features.
with

centroids as (
    select * from {{ ref('cluster_centroids') }}
),

profiles as (
    select
        cluster_id,
        cluster_label,
        max(user_count) as cluster_users,
        max(case when feature = 'monetary' then centroid_value end)
            as monetary,
        max(case when feature = 'frequency' then centroid_value end)
            as frequency,
        max(case when feature = 'recency_days' then centroid_value end)
            as recency_days,
        max(case when feature = 'average_order_value' then centroid_value end)
            as average_order_value,
        max(case when feature = 'sessions_90d' then centroid_value end)
            as sessions_90d
    from centroids
    group by 1, 2
)

select * from profiles
order by 1
