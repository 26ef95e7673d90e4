with

orders as (
    select * from {{ ref('base_app__orders') }}
),

valid_orders as (
    select
        order_id,
        user_id,
        ordered_at,
        amount,
        status,
        product_category,
        is_order_id_repeated
    from orders
    where reject_reason is null
)

select * from valid_orders
