{#- Primary segment sizes at every as-of date of the segment history: users,
    share of that date's population and change in points since the previous
    snapshot. A roll-up of segment_history, read by the segment report's
    "Segments over time" chart and analyses/segment_sizes_over_time.sql. -#}
with

history as (
    select * from {{ ref('segment_history') }}
),

sizes as (
    select
        as_of_date,
        primary_segment,
        count(*) as user_count,
        count(*)
        * 1.0
        / sum(count(*)) over (partition by as_of_date) as user_share
    from history
    group by 1, 2
),

trend as (
    select
        as_of_date,
        primary_segment,
        user_count,
        user_share,
        (
            user_share
            - lag(user_share)
                over (partition by primary_segment order by as_of_date)
        ) * 100 as share_change_points
    from sizes
)

select * from trend
