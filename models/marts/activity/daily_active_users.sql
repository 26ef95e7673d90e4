{#- DAU, WAU, MAU and stickiness per day before as_of_date (see the
    active_users docs block). -#}
with

spine as (
    select * from {{ ref('util_date_spine') }}
),

user_days as (
    select * from {{ ref('int_activity_aggregated_to_user_days') }}
),

daily as (
    select
        spine.date_day,
        count(distinct case
            when user_days.activity_date = spine.date_day
                then user_days.user_id
        end) as daily_active_users,
        count(distinct case
            when
                user_days.activity_date
                > {{ dbt.dateadd('day', -7, 'spine.date_day') }}
                then user_days.user_id
        end) as weekly_active_users,
        count(distinct user_days.user_id) as monthly_active_users
    from spine
    left join user_days
        on
            spine.date_day >= user_days.activity_date
            and {{ dbt.dateadd('day', -30, 'spine.date_day') }}
            < user_days.activity_date
    group by 1
),

with_stickiness as (
    select
        date_day,
        daily_active_users,
        weekly_active_users,
        monthly_active_users,
        case
            when monthly_active_users > 0
                then 1.0 * daily_active_users / monthly_active_users
        end as stickiness
    from daily
)

select * from with_stickiness
