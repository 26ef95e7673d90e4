{#- Measured lift per campaign x target segment (and '(all)') x group:
    what each group did in the conversion window and, on the treatment
    row, the comparison with the holdout (int_campaign_results_measured),
    with the campaign's name, channel and status. -#}
with

results as (
    select * from {{ ref('int_campaign_results_measured') }}
),

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

published as (
    select
        results.campaign_id,
        scheduled.campaign_name,
        scheduled.channel,
        scheduled.campaign_status,
        results.target_segment,
        results.campaign_group,
        results.as_of_date,
        results.start_date,
        results.conversion_window_end,
        results.measured_until,
        results.is_interim,
        results.planned_holdout_share,
        results.users,
        results.converters,
        results.conversion_rate,
        results.orders,
        results.revenue,
        results.revenue_per_user,
        results.conversion_lift,
        results.conversion_lift_lower,
        results.conversion_lift_upper,
        results.conversion_lift_relative,
        results.conversion_lift_relative_lower,
        results.conversion_lift_relative_upper,
        results.conversion_p_value,
        results.revenue_per_user_lift,
        results.revenue_per_user_lift_lower,
        results.revenue_per_user_lift_upper,
        results.revenue_per_user_p_value,
        results.sample_ratio_p_value,
        results.is_sample_ratio_mismatch,
        results.minimum_detectable_lift,
        results.verdict
    from results
    inner join scheduled on results.campaign_id = scheduled.campaign_id
)

select * from published
