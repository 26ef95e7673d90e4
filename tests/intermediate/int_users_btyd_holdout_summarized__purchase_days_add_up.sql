-- Calibration and holdout split every calibration customer's purchase
-- days without losing or adding one: calibration purchase days (the first
-- plus the repeat ones) plus holdout purchase days equal the purchase days
-- of the full summary as of as_of_date.
with

holdout as (
    select * from {{ ref('int_users_btyd_holdout_summarized') }}
),

full_period as (
    select * from {{ ref('int_users_btyd_summarized') }}
)

select
    holdout.user_id,
    holdout.frequency,
    holdout.holdout_purchases,
    full_period.frequency as full_frequency
from holdout
left join full_period on holdout.user_id = full_period.user_id
where
    full_period.user_id is null
    or holdout.frequency + 1 + holdout.holdout_purchases
    != full_period.frequency + 1
