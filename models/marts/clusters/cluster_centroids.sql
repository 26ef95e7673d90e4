{#- Every cluster's centroid per feature, for BI: computed once in
    int_clusters_described, only selected here. -#}
with

described as (
    select * from {{ ref('int_clusters_described') }}
),

final as (
    select
        cluster_id,
        cluster_label,
        user_count,
        feature,
        centroid_value,
        mean_value,
        median_value
    from described
)

select * from final
