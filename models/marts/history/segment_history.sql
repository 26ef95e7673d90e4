{#- The segment history for BI: one row per as-of date and user, every
    date the warehouse was built for (or backfilled), kept across builds
    in int_user_snapshots_accumulated and only selected here. -#}
with

snapshots as (
    select * from {{ ref('int_user_snapshots_accumulated') }}
),

final as (
    select
        as_of_date,
        user_id,
        user_key,
        primary_segment,
        segment_source,
        rfm_segment,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_cell,
        lifecycle_stage,
        value_tier,
        activity_tier,
        cluster_id,
        cluster_label,
        probability_alive,
        predicted_clv,
        net_revenue,
        order_count,
        recency_days,
        frequency,
        monetary,
        sessions_90d,
        browse_minutes_90d
    from snapshots
)

select * from final
