-- The funnel per primary segment and month, with a row per step (var
-- funnel_steps, in order): sessions reaching the step, the conversion from
-- the step before and from the first step, and the events of the step's
-- type without a session id (counted apart), from segment_funnels, where
-- every count and rate is computed once; add the segment's CTR and
-- session purchase rate from segment_behaviour. For a funnel chart per
-- segment, filter one month (the latest month is partial when the as-of
-- date falls inside it). How to read it: doc funnel_reading.
with

funnels as (
    select * from {{ ref('segment_funnels') }}
),

behaviour as (
    select
        primary_segment,
        ctr,
        session_purchase_rate
    from {{ ref('segment_behaviour') }}
)

select
    funnels.primary_segment,
    funnels.activity_month,
    funnels.step_number,
    funnels.step,
    funnels.sessions,
    funnels.step_conversion,
    funnels.conversion_from_first,
    funnels.events_without_session,
    behaviour.ctr as segment_ctr,
    behaviour.session_purchase_rate as segment_session_purchase_rate
from funnels
left join behaviour
    on funnels.primary_segment = behaviour.primary_segment
order by 2 asc, 1 asc, 3 asc
