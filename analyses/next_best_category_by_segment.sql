-- The next-best categories per primary segment: for every segment and
-- recommended category, how many of the segment's purchasers have it as
-- their first recommendation and among their top k (var
-- next_best_category_k), with the mean score; for cross-sell campaigns per
-- segment. Recommendations come from user_next_best_categories (item-item
-- collaborative filtering, computed once there); whether they beat
-- popularity: next_best_category_evaluation. How to read it: doc
-- next_best_category_reading.
with

recommendations as (
    select * from {{ ref('user_next_best_categories') }}
),

segments as (
    select
        user_key,
        primary_segment
    from {{ ref('user_segments') }}
)

select
    segments.primary_segment,
    recommendations.product_category,
    count(*) filter (
        where recommendations.recommendation_rank = 1
    ) as first_recommendation_users,
    count(*) as recommended_users,
    avg(recommendations.score) as mean_score
from recommendations
inner join segments
    on recommendations.user_key = segments.user_key
group by 1, 2
order by 1 asc, 3 desc, 4 desc, 2 asc
