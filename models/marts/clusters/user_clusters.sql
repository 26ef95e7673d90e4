{#- The K-Means cluster of every purchaser, for BI: assigned once in
    int_users_clustered (which keeps every as-of date), only selected
    here for the build's as-of date. -#}
with

clustered as (
    select * from {{ ref('int_users_clustered') }}
    where as_of_date = {{ as_of_date() }}
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
