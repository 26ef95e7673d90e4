{#- The segment conversion rate of the domain brief: per month and primary
    segment, how many of the segment's users bought in the month, and their
    revenue, whether or not a campaign ran. A month's users are those of
    the latest segment snapshot on or before its first day (the segment
    they were in when the month began; a month with none, before the
    history starts, has no rows); months run from the first snapshot's
    month to the month of the day before as_of_date, the last one partial
    when as_of_date is not a month's first day. Orders on or after
    as_of_date never count (int_orders_filtered_to_as_of). campaign_users
    counts the segment's users in a treatment group of a campaign that
    started in the month. -#}
with

snapshots as (
    select * from {{ ref('int_user_snapshots_accumulated') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

snapshot_dates as (
    select distinct as_of_date as snapshot_date
    from snapshots
),

months as (
    select cast(month_start as date) as month_start
    from (
        select
            unnest(generate_series(
                date_trunc('month', min(snapshot_dates.snapshot_date)),
                any_value(as_of.as_of_date) - interval 1 day,
                interval 1 month
            )) as month_start
        from snapshot_dates
        cross join as_of
    ) as series
),

month_snapshots as (
    select
        months.month_start,
        max(snapshot_dates.snapshot_date) as snapshot_date
    from months
    inner join snapshot_dates
        on months.month_start >= snapshot_dates.snapshot_date
    group by 1
),

user_months as (
    select
        user_id,
        cast(date_trunc('month', ordered_date) as date) as month_start,
        count(*) as orders,
        sum(amount) as revenue
    from orders
    where is_purchase
    group by 1, 2
),

campaign_starters as (
    select distinct
        assignments.user_id,
        cast(date_trunc('month', scheduled.start_date) as date) as month_start
    from assignments
    inner join scheduled on assignments.campaign_id = scheduled.campaign_id
    where assignments.campaign_group = 'treatment'
),

segment_sizes as (
    select
        month_snapshots.month_start,
        month_snapshots.snapshot_date,
        snapshots.primary_segment,
        count(*) as users  -- noqa: RF04
    from month_snapshots
    inner join snapshots
        on month_snapshots.snapshot_date = snapshots.as_of_date
    group by 1, 2, 3
),

-- The buyers only: a user without a purchase in the month adds to users,
-- never to converters, orders or revenue.
buyers as (
    select
        month_snapshots.month_start,
        snapshots.primary_segment,
        count(*) as converters,
        sum(user_months.orders) as orders,
        sum(user_months.revenue) as revenue
    from user_months
    inner join month_snapshots
        on user_months.month_start = month_snapshots.month_start
    inner join snapshots
        on
            month_snapshots.snapshot_date = snapshots.as_of_date
            and user_months.user_id = snapshots.user_id
    group by 1, 2
),

campaign_members as (
    select
        month_snapshots.month_start,
        snapshots.primary_segment,
        count(*) as campaign_users
    from campaign_starters
    inner join month_snapshots
        on campaign_starters.month_start = month_snapshots.month_start
    inner join snapshots
        on
            month_snapshots.snapshot_date = snapshots.as_of_date
            and campaign_starters.user_id = snapshots.user_id
    group by 1, 2
),

monthly as (
    select
        segment_sizes.month_start,
        segment_sizes.primary_segment,
        segment_sizes.snapshot_date,
        segment_sizes.users,
        coalesce(buyers.converters, 0) as converters,
        cast(coalesce(buyers.orders, 0) as bigint) as orders,
        coalesce(buyers.revenue, 0) as revenue,
        coalesce(campaign_members.campaign_users, 0) as campaign_users
    from segment_sizes
    left join buyers
        on
            segment_sizes.month_start = buyers.month_start
            and segment_sizes.primary_segment = buyers.primary_segment
    left join campaign_members
        on
            segment_sizes.month_start = campaign_members.month_start
            and segment_sizes.primary_segment
            = campaign_members.primary_segment
),

final as (
    select
        monthly.month_start,
        monthly.primary_segment,
        monthly.snapshot_date,
        monthly.users,
        monthly.converters,
        monthly.converters * 1.0 / monthly.users as conversion_rate,
        monthly.orders,
        monthly.revenue,
        monthly.revenue / monthly.users as revenue_per_user,
        {{ dbt.dateadd('month', 1, 'monthly.month_start') }}
        > as_of.as_of_date as is_partial_month,
        monthly.campaign_users
    from monthly
    cross join as_of
)

select * from final
