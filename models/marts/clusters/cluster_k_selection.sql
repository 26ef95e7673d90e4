{#- The scores of every k tried for the user clusters and the k chosen,
    for BI: fitted once in int_clustering_k_selected (which keeps every
    as-of date), only selected here for the build's as-of date. -#}
with

k_selected as (
    select * from {{ ref('int_clustering_k_selected') }}
    where as_of_date = {{ as_of_date() }}
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
