{#- The K-Means cluster of every purchaser, for BI: assigned once in
    int_users_clustered, only selected here. -#}
with

clustered as (
    select * from {{ ref('int_users_clustered') }}
),

final as (
    select
        user_id,
        cluster_id,
        cluster_label,
        distance_to_centroid
    from clustered
)

select * from final
