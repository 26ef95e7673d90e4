{#- The segment conversion rate of the domain brief: per month and primary
    segment, how many of the segment's users bought in the month, and their
    revenue, whether or not a campaign ran. A month's users are those of
    the latest segment snapshot on or before its first day (the segment
    they were in when the month began); months run from the first
    snapshot's month to the month before as_of_date, the last one partial
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

members as (
    select
        month_snapshots.month_start,
        month_snapshots.snapshot_date,
        snapshots.primary_segment,
        snapshots.user_id,
        coalesce(user_months.orders, 0) as orders,
        coalesce(user_months.revenue, 0) as revenue,
        campaign_starters.user_id is not null as is_campaign_user
    from month_snapshots
    inner join snapshots
        on month_snapshots.snapshot_date = snapshots.as_of_date
    left join user_months
        on
            snapshots.user_id = user_months.user_id
            and month_snapshots.month_start = user_months.month_start
    left join campaign_starters
        on
            snapshots.user_id = campaign_starters.user_id
            and month_snapshots.month_start = campaign_starters.month_start
),

monthly as (
    select
        members.month_start,
        members.primary_segment,
        any_value(members.snapshot_date) as snapshot_date,
        count(*) as users,  -- noqa: RF04
        count(*) filter (where members.orders > 0) as converters,
        cast(sum(members.orders) as bigint) as orders,
        sum(members.revenue) as revenue,
        count(*) filter (where members.is_campaign_user) as campaign_users
    from members
    group by 1, 2
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
