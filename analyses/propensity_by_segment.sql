-- Purchase propensity and churn risk per primary segment, from
-- user_segments: users, how many have a score, the mean purchase
-- propensity and the buyers it expects within the purchase horizon (the
-- sum of the probabilities: meaningful when the calibration table agrees),
-- users per propensity tier, and among the recent buyers scored for churn
-- the mean churn risk and how many sit in its top two deciles. Which
-- segment to address first, and how many buyers a campaign can expect.
-- How to read the scores: doc propensity_reading.
with

segments as (
    select * from {{ ref('user_segments') }}
)

select
    primary_segment,
    count(*) as user_count,
    count(purchase_propensity) as purchase_scored_users,
    avg(purchase_propensity) as mean_purchase_propensity,
    sum(purchase_propensity) as expected_buyers,
    count(*) filter (where propensity_tier = 'high') as high_tier_users,
    count(*) filter (where propensity_tier = 'medium') as medium_tier_users,
    count(*) filter (where propensity_tier = 'low') as low_tier_users,
    count(churn_risk) as churn_scored_users,
    avg(churn_risk) as mean_churn_risk,
    count(*) filter (where churn_risk_decile <= 2) as top_churn_risk_users
from segments
group by 1
order by 5 desc nulls last, 1 asc
