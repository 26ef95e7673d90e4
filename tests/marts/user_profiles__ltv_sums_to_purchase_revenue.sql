-- Historical LTV summed over users equals the revenue of every purchase
-- before as_of_date: no revenue lost or counted twice between the orders
-- and the profile.
with

profiles as (
    select sum(historical_ltv) as total_ltv
    from {{ ref('user_profiles') }}
),

purchases as (
    select coalesce(sum(amount), 0) as total_revenue
    from {{ ref('int_orders_filtered_to_as_of') }}
    where is_purchase
)

select
    profiles.total_ltv,
    purchases.total_revenue
from profiles
cross join purchases
where abs(coalesce(profiles.total_ltv, 0) - purchases.total_revenue) >= 0.01
