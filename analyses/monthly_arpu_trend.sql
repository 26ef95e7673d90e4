-- Revenue and ARPU month by month (the last month may be partial).
with

monthly as (
    select * from {{ ref('monthly_arpu') }}
),

trend as (
    select
        date_month,
        net_revenue,
        active_users,
        registered_users,
        arpu_active,
        arpu_registered,
        arppu,
        is_complete_month
    from monthly
)

select * from trend
order by 1
