-- A cohort followed over time: the users who were high_value at the first
-- snapshot of the segment history, and where they are at every later
-- as-of date (primary segment, users, share of the cohort, net revenue to
-- date). Users the later snapshots lack count as '(gone)'. Change the
-- segment in the cohort step to follow another one.
with

history as (
    select * from {{ ref('segment_history') }}
),

first_snapshot as (
    select min(as_of_date) as as_of_date
    from history
),

cohort as (
    select history.user_key
    from history
    inner join first_snapshot on history.as_of_date = first_snapshot.as_of_date
    where history.primary_segment = 'high_value'
),

snapshot_dates as (
    select distinct as_of_date
    from history
),

followed as (
    select
        snapshot_dates.as_of_date,
        coalesce(history.primary_segment, '(gone)') as primary_segment,
        history.net_revenue
    from cohort
    cross join snapshot_dates
    left join history
        on
            cohort.user_key = history.user_key
            and snapshot_dates.as_of_date = history.as_of_date
),

places as (
    select
        as_of_date,
        primary_segment,
        count(*) as user_count,
        count(*)
        * 1.0
        / sum(count(*)) over (partition by as_of_date) as cohort_share,
        sum(net_revenue) as net_revenue_to_date
    from followed
    group by 1, 2
)

select * from places
order by 1 asc, 3 desc
