-- Each cluster's size and centroid (original units) on the main features,
-- from the cluster_overview roll-up.
with

overview as (
    select * from {{ ref('cluster_overview') }}
),

profiles as (
    select
        cluster_id,
        cluster_label,
        user_count as cluster_users,
        centroid_monetary as monetary,
        centroid_frequency as frequency,
        centroid_recency_days as recency_days,
        centroid_average_order_value as average_order_value,
        centroid_sessions_90d as sessions_90d
    from overview
)

select * from profiles
order by 1
