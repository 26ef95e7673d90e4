-- The cohort retention triangle: one row per month of first purchase, one
-- column per month since (0 to 12), each cell the share of the cohort that
-- purchased in that month.
with

retention as (
    select * from {{ ref('cohort_retention') }}
),

triangle as (
    select
        cohort_month,
        max(cohort_users) as cohort_users,
        max(case
            when months_since_first_purchase = 0 then retention_rate
        end) as month_0,
        max(case
            when months_since_first_purchase = 1 then retention_rate
        end) as month_1,
        max(case
            when months_since_first_purchase = 2 then retention_rate
        end) as month_2,
        max(case
            when months_since_first_purchase = 3 then retention_rate
        end) as month_3,
        max(case
            when months_since_first_purchase = 4 then retention_rate
        end) as month_4,
        max(case
            when months_since_first_purchase = 5 then retention_rate
        end) as month_5,
        max(case
            when months_since_first_purchase = 6 then retention_rate
        end) as month_6,
        max(case
            when months_since_first_purchase = 7 then retention_rate
        end) as month_7,
        max(case
            when months_since_first_purchase = 8 then retention_rate
        end) as month_8,
        max(case
            when months_since_first_purchase = 9 then retention_rate
        end) as month_9,
        max(case
            when months_since_first_purchase = 10 then retention_rate
        end) as month_10,
        max(case
            when months_since_first_purchase = 11 then retention_rate
        end) as month_11,
        max(case
            when months_since_first_purchase = 12 then retention_rate
        end) as month_12
    from retention
    group by 1
)

select * from triangle
order by 1
