-- Every recommendation is a category the user has not bought
-- (int_users_categories_aggregated), ranks run 1, 2, ... without a gap,
-- and a rank never scores above the rank before it (equal scores are in
-- category-name order).
with

recommended as (
    select * from {{ ref('int_users_categories_recommended') }}
),

bought as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

ordered as (
    select
        recommended.user_id,
        recommended.recommendation_rank,
        recommended.product_category,
        recommended.score,
        row_number() over (
            partition by recommended.user_id
            order by recommended.recommendation_rank
        ) as rank_position,
        lag(recommended.score) over (
            partition by recommended.user_id
            order by recommended.recommendation_rank
        ) as previous_score,
        lag(recommended.product_category) over (
            partition by recommended.user_id
            order by recommended.recommendation_rank
        ) as previous_category
    from recommended
)

select
    ordered.user_id,
    ordered.recommendation_rank,
    ordered.product_category,
    ordered.score,
    ordered.previous_score,
    bought.user_id is not null as was_bought
from ordered
left join bought
    on
        ordered.user_id = bought.user_id
        and ordered.product_category = bought.product_category
where
    bought.user_id is not null
    or ordered.recommendation_rank != ordered.rank_position
    or ordered.score > ordered.previous_score
    or (
        ordered.score = ordered.previous_score
        and ordered.product_category < ordered.previous_category
    )
