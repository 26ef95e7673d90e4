{#- Purchases per purchaser and product category before as_of_date: one
    row per user x category bought, with the user's share of spend in it,
    the population's, and their ratio (the affinity index), and the rank of
    the category among the user's. Orders without a category are the
    'uncategorized' category (product_category_or_uncategorized). -#}
with

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

purchases as (
    select
        user_id,
        {{ product_category_or_uncategorized('product_category') }}
            as product_category,
        amount,
        ordered_at
    from orders
    where is_purchase
),

aggregated as (
    select
        user_id,
        product_category,
        count(*) as purchases,
        sum(amount) as revenue,
        min(ordered_at) as first_purchased_at,
        max(ordered_at) as last_purchased_at
    from purchases
    group by 1, 2
),

with_totals as (
    select
        aggregated.*,
        sum(aggregated.revenue) over (
            partition by aggregated.user_id
        ) as user_revenue,
        sum(aggregated.purchases) over (
            partition by aggregated.user_id
        ) as user_purchases,
        sum(aggregated.revenue) over (
            partition by aggregated.product_category
        ) as category_revenue,
        sum(aggregated.purchases) over (
            partition by aggregated.product_category
        ) as category_purchases,
        sum(aggregated.revenue) over () as total_revenue,
        sum(aggregated.purchases) over () as total_purchases
    from aggregated
),

shared as (
    select
        user_id,
        product_category,
        purchases,
        revenue,
        first_purchased_at,
        last_purchased_at,
        {{ spend_share(
            'revenue', 'user_revenue', 'purchases', 'user_purchases'
        ) }} as spend_share,
        {{ spend_share(
            'category_revenue', 'total_revenue',
            'category_purchases', 'total_purchases'
        ) }} as population_spend_share
    from with_totals
),

indexed as (
    select
        users.user_id,
        users.user_key,
        shared.product_category,
        shared.purchases,
        shared.revenue,
        shared.first_purchased_at,
        shared.last_purchased_at,
        shared.spend_share,
        shared.population_spend_share,
        shared.spend_share
        / nullif(shared.population_spend_share, 0) as affinity_index,
        row_number() over (
            partition by shared.user_id
            order by shared.spend_share desc, shared.product_category asc
        ) as affinity_rank
    from shared
    inner join users on shared.user_id = users.user_id
)

select * from indexed
