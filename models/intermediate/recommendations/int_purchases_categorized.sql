{#- The purchase orders before as_of_date (int_orders_filtered_to_as_of,
    is_purchase: the orders RFM counts) with their category value
    (product_category_or_uncategorized: a missing category is its own
    value) and the hold-out split of the next-best category evaluation,
    made here and nowhere else: each repeat buyer's (2 or more purchases)
    last purchase, latest ordered_at then largest order_id, is held out;
    every other purchase, one-time buyers' included, is training. -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

purchases as (
    select
        orders.order_id,
        orders.user_id,
        orders.ordered_at,
        {{ product_category_or_uncategorized('orders.product_category') }}
            as product_category
    from orders
    where orders.is_purchase
),

numbered as (
    select
        purchases.*,
        count(*) over (partition by purchases.user_id) as user_purchases,
        row_number() over (
            partition by purchases.user_id
            order by purchases.ordered_at desc, purchases.order_id desc
        ) as purchases_after
    from purchases
),

final as (
    select
        numbered.order_id,
        numbered.user_id,
        numbered.ordered_at,
        numbered.product_category,
        numbered.user_purchases,
        numbered.user_purchases >= 2
        and numbered.purchases_after = 1 as is_held_out
    from numbered
)

select * from final
