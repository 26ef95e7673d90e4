-- The campaigns assigned by this build took only users who consent to
-- marketing (earlier assignments are frozen: a user who opted out since
-- stays in their group for measurement, intent to treat).
with

assignments as (
    select * from {{ ref('campaign_assignments') }}
),

segments as (
    select * from {{ ref('user_segments') }}
)

select
    assignments.campaign_id,
    assignments.user_id
from assignments
left join segments on assignments.user_id = segments.user_id
where
    assignments.assigned_as_of_date = segments.as_of_date
    and not coalesce(segments.is_opted_in_to_marketing, false)
