-- No user without explicit marketing consent reaches a marketing output.
with

audiences as (
    select * from {{ ref('marketing_audiences') }}
),

segments as (
    select * from {{ ref('user_segments') }}
)

select audiences.user_id
from audiences
left join segments on audiences.user_id = segments.user_id
where not coalesce(segments.is_opted_in_to_marketing, false)
