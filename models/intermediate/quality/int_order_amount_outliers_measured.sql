{#- Outlier warning on order amounts, needing no var: an order whose
    amount is more than 1000 times the median purchase amount (the median
    over valid orders with a status in var purchase_statuses and an amount
    above 0) is almost always a typing or export error (a unit in cents, a
    lost decimal separator, 9999999999999999.99 as a placeholder) and alone
    makes a month's ARPU absurd. The build warns and keeps the order; var
    max_order_amount rejects such orders as amount_above_max.

    One row when there are outliers (none otherwise): their count, the
    largest amount and its order, the median, and a warning naming the
    fix, which marts.data_quality_warnings publishes and make run's
    summary prints. -#}
{%- set factor = 1000 %}

with

orders as (
    select
        order_id,
        amount,
        status
    from {{ ref('stg_app__orders') }}
),

typical as (
    select {{ median('amount') }} as median_purchase_amount
    from orders
    where
        status in {{ in_list(var('purchase_statuses')) }}
        and amount > 0
),

outliers as (
    select
        orders.order_id,
        orders.amount,
        typical.median_purchase_amount
    from orders
    cross join typical
    where orders.amount > {{ factor }} * typical.median_purchase_amount
),

summarized as (
    select
        count(*) as outlier_count,
        max(amount) as largest_amount,
        max(median_purchase_amount) as median_purchase_amount
    from outliers
    having count(*) > 0
),

largest as (
    select
        summarized.outlier_count,
        summarized.largest_amount,
        min(outliers.order_id) as largest_order_id,
        summarized.median_purchase_amount
    from summarized
    inner join outliers on summarized.largest_amount = outliers.amount
    group by 1, 2, 4
)

select
    'orders' as source_table,
    'amount' as column_name,
    outlier_count,
    largest_amount,
    largest_order_id,
    median_purchase_amount,
    'orders: '
    || cast(outlier_count as varchar)
    || case
        when outlier_count = 1 then ' order has' else ' orders have'
    end
    || ' an amount above {{ factor }} times the median purchase amount ('
    || cast(round(median_purchase_amount, 2) as varchar)
    || '); the largest is '
    || cast(largest_amount as varchar)
    || ' (order_id '
    || largest_order_id
    || '). Check the amounts (unit, decimal separator), or set var'
    || ' max_order_amount to reject such orders as amount_above_max.'
        as warning
from largest
