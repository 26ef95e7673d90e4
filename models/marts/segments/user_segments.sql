{#- The final segment table, for BI and the marketing audiences: assigned
    once in int_users_segmented (a dbt Python model), only selected here. -#}
with

segmented as (
    select * from {{ ref('int_users_segmented') }}
),

final as (
    select
        user_id,
        user_key,
        as_of_date,
        primary_segment,
        segment_source,
        segment_reason,
        lifecycle_stage,
        value_tier,
        activity_tier,
        rfm_segment,
        cluster_id,
        cluster_label,
        is_engaged,
        is_opted_in_to_marketing
    from segmented
)

select * from final
