{#- The scores of every k tried for the user clusters and the k chosen,
    for BI: fitted once in int_clustering_k_selected, only selected here. -#}
with

k_selected as (
    select * from {{ ref('int_clustering_k_selected') }}
),

final as (
    select
        k,
        silhouette,
        davies_bouldin,
        calinski_harabasz,
        inertia,
        sample_rows,
        is_chosen,
        fallback_reason
    from k_selected
)

select * from final
