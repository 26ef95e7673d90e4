{#- DAU, WAU, MAU and stickiness per day before as_of_date (see the
    active_users docs block). A user active on day d counts in the weekly
    figure of days d to d + 6 and in the monthly one of days d to d + 29.
    Instead of joining every day to the activity of the 30 days before it
    (30 rows per user-day), each user's activity days are merged into
    islands (runs with gaps shorter than the window), whose coverage is
    counted with +1 on its first day and -1 after its last: the cost grows
    with the number of user-days, not with their product with the window.
    One window pass finds every user-day's gaps to the previous and the
    next activity day: an island starts after a gap of at least the
    window (or on the first day) and ends before one (or on the last). -#}
{%- set windows = [('weekly', 7), ('monthly', 30)] -%}

with

spine as (
    select * from {{ ref('int_date_spine') }}
),

user_days as (
    select * from {{ ref('int_activity_aggregated_to_user_days') }}
),

gaps as (
    select
        activity_date,
        {{ dbt.datediff(
            'lag(activity_date) over user_path', 'activity_date', 'day'
        ) }} as days_since_previous_activity,
        {{ dbt.datediff(
            'activity_date', 'lead(activity_date) over user_path', 'day'
        ) }} as days_until_next_activity
    from user_days
    window user_path as (partition by user_id order by activity_date)
),

daily as (
    select
        activity_date as date_day,
        count(*) as daily_active_users
    from user_days
    group by 1
),
{% for name, days in windows %}

    {{ name }}_changes as (
        select
            date_day,
            sum(user_change) as user_change
        from (
            select
                activity_date as date_day,
                1 as user_change
            from gaps
            where
                days_since_previous_activity is null
                or days_since_previous_activity >= {{ days }}

            union all

            select
                cast({{ dbt.dateadd('day', days, 'activity_date') }} as date)
                    as date_day,
                -1 as user_change
            from gaps
            where
                days_until_next_activity is null
                or days_until_next_activity >= {{ days }}
        ) as changes
        group by 1
    ),

{% endfor %}

counted as (
    -- The spine starts on the first activity day, so every island starts
    -- on a spine day: the running sum over the spine counts the islands
    -- covering each day.
    select
        spine.date_day,
        coalesce(daily.daily_active_users, 0) as daily_active_users,
    {%- for name, days in windows %}
        cast(sum(coalesce({{ name }}_changes.user_change, 0)) over (
            order by spine.date_day
            rows between unbounded preceding and current row
            ) as bigint) as {{ name }}_active_users
        {{- ',' if not loop.last }}
    {%- endfor %}
    from spine
    left join daily on spine.date_day = daily.date_day
    {%- for name, days in windows %}
        left join {{ name }}_changes
            on spine.date_day = {{ name }}_changes.date_day
    {%- endfor %}
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
    from counted
)

select * from with_stickiness
