{#- Each purchaser's top category (affinity_rank 1 of
    int_users_categories_aggregated: the most spent on, ties by name) and
    next-best category (recommendation_rank 1 of
    int_users_categories_recommended), one row per purchaser: the two
    columns user_profiles and user_segments append. -#}
with

aggregated as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

recommended as (
    select * from {{ ref('int_users_categories_recommended') }}
),

top_categories as (
    select
        aggregated.user_id,
        aggregated.product_category as top_category
    from aggregated
    where aggregated.affinity_rank = 1
),

next_best as (
    select
        recommended.user_id,
        recommended.product_category as next_best_category
    from recommended
    where recommended.recommendation_rank = 1
),

final as (
    select
        top_categories.user_id,
        top_categories.top_category,
        next_best.next_best_category
    from top_categories
    left join next_best on top_categories.user_id = next_best.user_id
)

select * from final
