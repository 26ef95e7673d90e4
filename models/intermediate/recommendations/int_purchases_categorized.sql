{#- The purchase orders before as_of_date (int_orders_filtered_to_as_of,
    is_purchase: the orders RFM counts) with their category value
    (product_category_or_uncategorized: a missing category is its own
    value): the input of the next-best category evaluation, which holds out
    each repeat buyer's last one. -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

final as (
    select
        orders.order_id,
        orders.user_id,
        orders.ordered_at,
        {{ product_category_or_uncategorized('orders.product_category') }}
            as product_category
    from orders
    where orders.is_purchase
)

select * from final
