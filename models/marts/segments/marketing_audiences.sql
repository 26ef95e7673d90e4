{#- What may be handed to a marketing tool: users of each primary segment
    who consented to marketing, with the recommended action. Users with
    is_opted_in_to_marketing = false never appear here. -#}
with

segments as (
    select * from {{ ref('int_users_segmented') }}
),

playbook as (
    select * from {{ ref('segment_playbook') }}
),

audiences as (
    select
        segments.user_id,
        segments.user_key,
        segments.primary_segment,
        segments.value_tier,
        segments.lifecycle_stage,
        segments.rfm_segment,
        segments.segment_reason,
        playbook.marketing as recommended_marketing
    from segments
    left join playbook
        on segments.primary_segment = playbook.primary_segment
    where segments.is_opted_in_to_marketing
)

select * from audiences
