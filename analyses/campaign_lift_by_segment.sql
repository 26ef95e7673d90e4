-- Every measured campaign's lift per target segment, one row per campaign
-- x target segment ('(all)' = the whole audience): both groups' users and
-- conversion rates side by side, the absolute lift with its 95% interval
-- and p-value, the revenue per user lift, the smallest detectable lift and
-- the verdict. Measured once, in the mart campaign_results (comparison
-- columns on the treatment row); how to read it: doc campaign_lift_reading.
with

results as (
    select * from {{ ref('campaign_results') }}
),

holdouts as (
    select
        campaign_id,
        target_segment,
        users as holdout_users,
        conversion_rate as holdout_conversion_rate,
        revenue_per_user as holdout_revenue_per_user
    from results
    where campaign_group = 'holdout'
)

select
    results.campaign_id,
    results.campaign_name,
    results.channel,
    results.campaign_status,
    results.is_interim,
    results.target_segment,
    results.users as treatment_users,
    holdouts.holdout_users,
    results.conversion_rate as treatment_conversion_rate,
    holdouts.holdout_conversion_rate,
    results.conversion_lift,
    results.conversion_lift_lower,
    results.conversion_lift_upper,
    results.conversion_p_value,
    results.revenue_per_user as treatment_revenue_per_user,
    holdouts.holdout_revenue_per_user,
    results.revenue_per_user_lift,
    results.revenue_per_user_lift_lower,
    results.revenue_per_user_lift_upper,
    results.minimum_detectable_lift,
    results.is_sample_ratio_mismatch,
    results.verdict
from results
left join holdouts
    on
        results.campaign_id = holdouts.campaign_id
        and results.target_segment = holdouts.target_segment
where results.campaign_group = 'treatment'
-- '(all)' sorts before every segment name.
order by 1, 6
