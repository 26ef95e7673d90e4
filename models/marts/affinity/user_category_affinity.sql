{#- Category affinity per purchaser: one row per user x product category
    bought before as_of_date, with purchases, revenue, the user's spend
    share, the population's, the affinity index and the category's rank
    among the user's (computed once, in int_users_categories_aggregated). -#}
with

categories as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

final as (
    select
        user_id,
        user_key,
        product_category,
        purchases,
        revenue,
        first_purchased_at,
        last_purchased_at,
        spend_share,
        population_spend_share,
        affinity_index,
        affinity_rank
    from categories
)

select * from final
