{#- Growth accounting of purchasing users per month before as_of_date:
    new, retained, resurrected and dormant users (see the
    monthly_lifecycle docs block). -#}
with

spine as (
    select * from {{ ref('int_date_spine') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

months as (
    select
        date_month,
        row_number() over (order by date_month) as month_number
    from spine
    group by 1
),

user_months as (
    select
        orders.user_id,
        months.month_number
    from orders
    inner join months
        on
            cast({{ dbt.date_trunc('month', 'orders.ordered_date') }} as date)
            = months.date_month
    where orders.is_purchase
    group by 1, 2
),

user_months_sequenced as (
    select
        user_id,
        month_number,
        lag(month_number) over (
            partition by user_id order by month_number
        ) as previous_month_number,
        lead(month_number) over (
            partition by user_id order by month_number
        ) as next_month_number
    from user_months
),

classified as (
    select
        month_number,
        case
            when previous_month_number is null then 'new'
            when previous_month_number = month_number - 1 then 'retained'
            else 'resurrected'
        end as lifecycle_status
    from user_months_sequenced

    union all

    -- Dormant in the month after a purchase month without a purchase.
    select
        month_number + 1 as month_number,
        'dormant' as lifecycle_status
    from user_months_sequenced
    where
        next_month_number is null
        or next_month_number > month_number + 1
),

counted as (
    select
        months.date_month,
        count(case
            when classified.lifecycle_status = 'new' then 1
        end) as new_users,
        count(case
            when classified.lifecycle_status = 'retained' then 1
        end) as retained_users,
        count(case
            when classified.lifecycle_status = 'resurrected' then 1
        end) as resurrected_users,
        count(case
            when classified.lifecycle_status = 'dormant' then 1
        end) as dormant_users
    from months
    left join classified on months.month_number = classified.month_number
    group by 1
),

with_ratios as (
    select
        date_month,
        new_users,
        retained_users,
        resurrected_users,
        dormant_users,
        new_users + retained_users + resurrected_users as active_users,
        case
            when dormant_users > 0
                then 1.0 * (new_users + resurrected_users) / dormant_users
        end as quick_ratio
    from counted
)

select * from with_ratios
