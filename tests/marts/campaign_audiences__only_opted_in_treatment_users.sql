-- A campaign audience (what is exported) holds only treatment users of a
-- running campaign who consent to marketing now: never a holdout or an
-- excluded user, never a user who did not consent or opted out.
with

audiences as (
    select * from {{ ref('campaign_audiences') }}
),

assignments as (
    select * from {{ ref('campaign_assignments') }}
),

campaigns as (
    select * from {{ ref('campaign_overview') }}
),

segments as (
    select * from {{ ref('user_segments') }}
)

select
    audiences.campaign_id,
    audiences.user_id,
    assignments.campaign_group,
    campaigns.campaign_status,
    segments.is_opted_in_to_marketing
from audiences
left join assignments
    on
        audiences.campaign_id = assignments.campaign_id
        and audiences.user_id = assignments.user_id
left join campaigns
    on audiences.campaign_id = campaigns.campaign_id
left join segments
    on audiences.user_id = segments.user_id
where
    coalesce(assignments.campaign_group, '') != 'treatment'
    or coalesce(campaigns.campaign_status, '') != 'running'
    or not coalesce(segments.is_opted_in_to_marketing, false)
