{#- The next-best categories of every purchaser as of as_of_date, one row
    per user and rank (int_users_categories_recommended: item-item
    collaborative filtering, see doc next_best_category_method), only
    selected here. -#}
with

recommended as (
    select * from {{ ref('int_users_categories_recommended') }}
),

final as (
    select
        recommended.user_id,
        recommended.user_key,
        cast(recommended.recommendation_rank as integer)
            as recommendation_rank,
        recommended.product_category,
        cast(recommended.score as double) as score,
        recommended.method
    from recommended
)

select * from final
order by 1, 3
