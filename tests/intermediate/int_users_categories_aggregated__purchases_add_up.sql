-- No purchase is lost or counted twice between the orders and the user x
-- category rows (an order without a category included): the purchases,
-- revenue and purchasers of int_users_categories_aggregated equal those of
-- the purchases in int_orders_filtered_to_as_of, and every purchaser's
-- spend shares add up to 1.
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

categories as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

order_totals as (
    select
        count(*) as purchases,
        coalesce(sum(amount), 0) as revenue,
        count(distinct user_id) as purchasers
    from orders
    where is_purchase
),

category_totals as (
    select
        coalesce(sum(purchases), 0) as purchases,
        coalesce(sum(revenue), 0) as revenue,
        count(distinct user_id) as purchasers
    from categories
),

user_shares as (
    select
        user_id,
        sum(spend_share) as spend_share
    from categories
    group by 1
)

select
    'totals' as failure,
    order_totals.purchases as expected,
    category_totals.purchases as found
from order_totals
cross join category_totals
where
    order_totals.purchases != category_totals.purchases
    or order_totals.revenue != category_totals.revenue
    or order_totals.purchasers != category_totals.purchasers

union all

select
    'spend shares of ' || user_shares.user_id as failure,
    1 as expected,
    user_shares.spend_share as found
from user_shares
where abs(user_shares.spend_share - 1) > 1e-9
