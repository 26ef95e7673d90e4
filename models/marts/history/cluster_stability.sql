{#- The cluster label-flip check for BI: one row per pair of consecutive
    as-of dates, computed in int_cluster_stability and only selected
    here. -#}
with

stability as (
    select * from {{ ref('int_cluster_stability') }}
),

final as (
    select
        from_as_of_date,
        to_as_of_date,
        purchasers_in_both,
        unchanged_purchasers,
        unchanged_changed_cluster,
        flip_share,
        has_many_label_flips,
        label_flip_message
    from stability
)

select * from final
