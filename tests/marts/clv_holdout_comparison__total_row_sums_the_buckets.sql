-- The total row of the holdout comparison adds up its buckets: no
-- customer, purchase day or prediction lost or counted twice between the
-- buckets and the total.
with

comparison as (
    select * from {{ ref('clv_holdout_comparison') }}
),

buckets as (
    select
        count(*) as bucket_count,
        sum(customers) as customers,
        sum(actual_purchases) as actual_purchases,
        sum(predicted_purchases) as predicted_purchases,
        sum(actual_revenue) as actual_revenue
    from comparison
    where not is_total
),

totals as (
    select
        count(*) as total_count,
        sum(customers) as customers,
        sum(actual_purchases) as actual_purchases,
        sum(predicted_purchases) as predicted_purchases,
        sum(actual_revenue) as actual_revenue
    from comparison
    where is_total
)

select
    buckets.bucket_count,
    totals.total_count,
    buckets.customers as bucket_customers,
    totals.customers as total_customers
from buckets
cross join totals
where
    -- Mode off: no rows at all; mode on: 8 buckets and one total.
    not (
        (buckets.bucket_count = 0 and totals.total_count = 0)
        or (buckets.bucket_count = 8 and totals.total_count = 1)
    )
    or buckets.customers != totals.customers
    or buckets.actual_purchases != totals.actual_purchases
    or abs(buckets.actual_revenue - totals.actual_revenue) >= 0.01
    or abs(
        coalesce(buckets.predicted_purchases, 0)
        - coalesce(totals.predicted_purchases, 0)
    ) >= 1e-6
