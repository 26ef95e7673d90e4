{#- Per pair of consecutive as-of dates: of the purchasers at both dates,
    those whose features barely moved (no order in between: same order
    count and net revenue; and log1p(recency_days), the clustering's view
    of recency, moved less than 0.1, so a user whose recency grew from 30
    to 60 days counts as moved but one at 300 -> 330 does not; and the
    same for the 90-day sessions and browsing minutes), and how
    many of them changed cluster id. With the clustering warm-started from
    the previous snapshot's clusters this label-flip share stays near zero;
    a high share means the clusters were renumbered or reshaped. -#}
with

transitions as (
    select * from {{ ref('int_user_segment_transitions') }}
),

purchasers_in_both as (
    select
        from_as_of_date,
        to_as_of_date,
        from_cluster_id,
        to_cluster_id,
        (
            from_order_count = to_order_count
            and from_net_revenue = to_net_revenue
            and abs(ln(1 + to_recency_days) - ln(1 + from_recency_days)) < 0.1
            and abs(
                ln(1 + coalesce(to_sessions_90d, 0))
                - ln(1 + coalesce(from_sessions_90d, 0))
            ) < 0.1
            and abs(
                ln(1 + coalesce(to_browse_minutes_90d, 0))
                - ln(1 + coalesce(from_browse_minutes_90d, 0))
            ) < 0.1
        ) as is_unchanged
    from transitions
    where
        is_in_from
        and is_in_to
        and from_order_count > 0
        and to_order_count > 0
),

pairs as (
    select distinct
        from_as_of_date,
        to_as_of_date
    from transitions
),

counted as (
    select
        pairs.from_as_of_date,
        pairs.to_as_of_date,
        count(purchasers_in_both.from_as_of_date) as purchasers_in_both,
        count(purchasers_in_both.from_as_of_date) filter (
            where purchasers_in_both.is_unchanged
        ) as unchanged_purchasers,
        count(purchasers_in_both.from_as_of_date) filter (
            where
            purchasers_in_both.is_unchanged
            and purchasers_in_both.from_cluster_id
            is distinct from purchasers_in_both.to_cluster_id
        ) as unchanged_changed_cluster
    from pairs
    left join purchasers_in_both
        on
            pairs.from_as_of_date = purchasers_in_both.from_as_of_date
            and pairs.to_as_of_date = purchasers_in_both.to_as_of_date
    group by 1, 2
),

final as (
    select
        from_as_of_date,
        to_as_of_date,
        purchasers_in_both,
        unchanged_purchasers,
        unchanged_changed_cluster,
        unchanged_changed_cluster
        * 1.0
        / nullif(unchanged_purchasers, 0) as flip_share
    from counted
),

flagged as (
    select
        *,
        coalesce(flip_share > {{ var('cluster_flip_max_share') }}, false)
            as has_many_label_flips,
        case
            when flip_share > {{ var('cluster_flip_max_share') }}
                then
                    format('{:.1f}', flip_share * 100)
                    || '% of '
                    || cast(unchanged_purchasers as varchar)
                    || ' purchasers whose features barely moved changed cluster'
                    || ' from '
                    || cast(from_as_of_date as varchar)
                    || ' to '
                    || cast(to_as_of_date as varchar)
                    || ' (more than var cluster_flip_max_share, '
                    || '{{ var("cluster_flip_max_share") }})'
        end as label_flip_message
    from final
)

select * from flagged
