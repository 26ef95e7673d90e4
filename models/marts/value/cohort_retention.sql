{#- Purchase retention by cohort: for each month of first purchase and
    each month since, the share of the cohort that purchased again (see the
    cohort_retention docs block). -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

user_months as (
    select
        user_id,
        cast({{ dbt.date_trunc('month', 'ordered_date') }} as date)
            as purchase_month
    from orders
    where is_purchase
    group by 1, 2
),

first_months as (
    select
        user_id,
        min(purchase_month) as cohort_month
    from user_months
    group by 1
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_users
    from first_months
    group by 1
),

activity as (
    select
        first_months.cohort_month,
        {{ dbt.datediff(
            'first_months.cohort_month', 'user_months.purchase_month', 'month'
        ) }} as months_since_first_purchase,
        count(*) as active_users
    from user_months
    inner join first_months on user_months.user_id = first_months.user_id
    group by 1, 2
),

retention as (
    select
        activity.cohort_month,
        activity.months_since_first_purchase,
        cohort_sizes.cohort_users,
        activity.active_users,
        1.0 * activity.active_users / cohort_sizes.cohort_users
            as retention_rate
    from activity
    inner join cohort_sizes on activity.cohort_month = cohort_sizes.cohort_month
)

select * from retention
