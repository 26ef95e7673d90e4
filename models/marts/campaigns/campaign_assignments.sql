{#- Who is in which campaign group, frozen at launch (BI copy of
    int_campaign_assignments; publish withholds user_id). -#}
with

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

published as (
    select
        campaign_id,
        user_id,
        user_key,
        eligibility_as_of_date,
        assigned_as_of_date,
        target_segment,
        rfm_segment,
        lifecycle_stage,
        value_tier,
        assignment_bucket,
        planned_holdout_share,
        campaign_group,
        excluded_by_campaign_id
    from assignments
)

select * from published
