{#- What each campaign group did in the conversion window: one row per
    assigned campaign x target segment (and '(all)' for the whole campaign)
    x group ('treatment', 'holdout'; excluded users are not measured), with
    users, converters (>= 1 purchase in the window), orders, revenue and
    the sum over users of their window revenue squared (for Welch's test).
    The window is [start_date, conversion_window_end), cut at as_of_date
    since orders are read through int_orders_filtered_to_as_of. Users
    without a purchase count with 0. One pass over the purchases: each is
    joined to the groups its user is in. A group with nobody in a segment
    gets a row with 0 users, so treatment and holdout always come in pairs.
-#}
with

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

grouped as (
    select
        assignments.campaign_id,
        assignments.user_id,
        assignments.target_segment,
        assignments.campaign_group,
        scheduled.start_date,
        scheduled.conversion_window_end
    from assignments
    inner join scheduled on assignments.campaign_id = scheduled.campaign_id
    where assignments.campaign_group in ('treatment', 'holdout')
),

window_purchases as (
    select
        grouped.campaign_id,
        grouped.user_id,
        count(*) as orders,
        sum(orders.amount) as revenue
    from orders
    inner join grouped
        on
            orders.user_id = grouped.user_id
            and orders.ordered_date >= grouped.start_date
            and orders.ordered_date < grouped.conversion_window_end
    where orders.is_purchase
    group by 1, 2
),

users_measured as (
    select
        grouped.campaign_id,
        grouped.target_segment,
        grouped.campaign_group,
        coalesce(window_purchases.orders, 0) as orders,
        cast(coalesce(window_purchases.revenue, 0) as double) as revenue
    from grouped
    left join window_purchases
        on
            grouped.campaign_id = window_purchases.campaign_id
            and grouped.user_id = window_purchases.user_id
),

by_segment as (
    select
        campaign_id,
        campaign_group,
        target_segment,
        count(*) as users,  -- noqa: RF04
        count(*) filter (where orders > 0) as converters,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(revenue * revenue) as revenue_sum_of_squares
    from users_measured
    group by 1, 2, 3
),

-- The whole campaign: the segments' sums (all additive).
aggregated as (
    select * from by_segment
    union all
    select
        campaign_id,
        campaign_group,
        '(all)' as target_segment,
        sum(users) as users,  -- noqa: RF04
        sum(converters) as converters,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(revenue_sum_of_squares) as revenue_sum_of_squares
    from by_segment
    group by 1, 2
),

planned_shares as (
    select
        campaign_id,
        max(planned_holdout_share) as planned_holdout_share
    from assignments
    group by 1
),

segment_keys as (
    select distinct
        campaign_id,
        target_segment
    from aggregated
),

measured_groups as (
    select group_values.campaign_group
    from (values ('treatment'), ('holdout')) as group_values (campaign_group)
),

paired as (
    select
        segment_keys.campaign_id,
        segment_keys.target_segment,
        measured_groups.campaign_group,
        coalesce(aggregated.users, 0) as users,  -- noqa: RF04
        coalesce(aggregated.converters, 0) as converters,
        coalesce(aggregated.orders, 0) as orders,
        coalesce(aggregated.revenue, 0) as revenue,
        coalesce(aggregated.revenue_sum_of_squares, 0)
            as revenue_sum_of_squares
    from segment_keys
    cross join measured_groups
    left join aggregated
        on
            segment_keys.campaign_id = aggregated.campaign_id
            and segment_keys.target_segment = aggregated.target_segment
            and measured_groups.campaign_group = aggregated.campaign_group
),

final as (
    select
        paired.campaign_id,
        paired.target_segment,
        paired.campaign_group,
        scheduled.as_of_date,
        scheduled.start_date,
        scheduled.conversion_window_end,
        least(scheduled.conversion_window_end, scheduled.as_of_date)
            as measured_until,
        scheduled.is_interim,
        planned_shares.planned_holdout_share,
        paired.users,
        paired.converters,
        paired.converters * 1.0 / nullif(paired.users, 0) as conversion_rate,
        paired.orders,
        paired.revenue,
        paired.revenue / nullif(paired.users, 0) as revenue_per_user,
        paired.revenue_sum_of_squares
    from paired
    inner join scheduled on paired.campaign_id = scheduled.campaign_id
    inner join planned_shares
        on paired.campaign_id = planned_shares.campaign_id
)

select * from final
