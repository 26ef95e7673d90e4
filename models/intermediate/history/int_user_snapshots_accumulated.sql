{#- The segment history's state: one row per as-of date and user, added by
    every build for its as_of_date. Incremental on as_of_date: a build
    deletes the rows of its own date, if any, and inserts them again, so a
    date is never kept twice and an earlier date slots in among the later
    ones. full_refresh is off: `--full-refresh` rebuilds everything else
    and keeps the history; clearing it is the explicit
    `make clear-history` (python -m segmentation clear-history). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

with

segmented as (
    select * from {{ ref('int_users_segmented') }}
),

profiled as (
    select * from {{ ref('int_users_profiled') }}
),

snapshot as (
    select
        segmented.as_of_date,
        segmented.user_id,
        segmented.user_key,
        segmented.primary_segment,
        segmented.segment_source,
        segmented.rfm_segment,
        profiled.recency_score,
        profiled.frequency_score,
        profiled.monetary_score,
        profiled.rfm_cell,
        segmented.lifecycle_stage,
        segmented.value_tier,
        segmented.activity_tier,
        segmented.cluster_id,
        segmented.cluster_label,
        profiled.probability_alive,
        profiled.predicted_clv,
        profiled.net_revenue,
        profiled.order_count,
        profiled.recency_days,
        profiled.frequency,
        profiled.monetary,
        profiled.sessions_90d,
        profiled.browse_minutes_90d
    from segmented
    inner join profiled on segmented.user_id = profiled.user_id
)

select * from snapshot
