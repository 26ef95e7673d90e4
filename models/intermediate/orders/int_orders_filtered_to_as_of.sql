{#- Valid orders placed before as_of_date, with their role: purchase
    (var purchase_statuses) or refund (var refund_statuses), and how many
    days before as_of_date (1 = the day before). Every metric reads orders
    through this model, so nothing on or after as_of_date counts. -#}
with

orders as (
    select * from {{ ref('stg_app__orders') }}
),

filtered as (
    select
        orders.order_id,
        orders.user_id,
        orders.ordered_at,
        cast(orders.ordered_at as date) as ordered_date,
        {{ dbt.datediff(
            'cast(orders.ordered_at as date)', as_of_date(), 'day'
        ) }} as days_before_as_of,
        orders.amount,
        orders.status,
        orders.product_category,
        orders.status in {{ in_list(var('purchase_statuses')) }}
            as is_purchase,
        orders.status in {{ in_list(var('refund_statuses')) }} as is_refund
    from orders
    where orders.ordered_at < {{ as_of_date() }}
)

select * from filtered
