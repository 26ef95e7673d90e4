{#- What is exported per running campaign: its treatment users who consent
    to marketing as of this build. Holdout and excluded users never appear,
    nor users who opted out since the launch (they stay in their group for
    measurement, intent to treat, but are never contacted). -#}
with

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

users_segmented as (
    select * from {{ ref('int_users_segmented') }}
),

playbook as (
    select * from {{ ref('segment_playbook') }}
),

audiences as (
    select
        scheduled.campaign_id,
        scheduled.campaign_name,
        scheduled.channel,
        scheduled.start_date,
        scheduled.campaign_end_date,
        assignments.user_key,
        assignments.user_id,
        assignments.target_segment,
        playbook.marketing as recommended_marketing
    from assignments
    inner join scheduled
        on assignments.campaign_id = scheduled.campaign_id
    inner join users_segmented
        on assignments.user_id = users_segmented.user_id
    left join playbook
        on assignments.target_segment = playbook.primary_segment
    where
        scheduled.campaign_status = 'running'
        and assignments.campaign_group = 'treatment'
        and users_segmented.is_opted_in_to_marketing
)

select * from audiences
