-- Category affinity per primary segment, in long form for a BI heatmap
-- (rows primary_segment, columns product_category, colour lift): the
-- segment's users and purchasers of the category, the category's share of
-- the segment's purchase revenue beside its share of all purchase revenue,
-- and the lift of both spend and purchaser share (1 = like everyone). Read
-- from segment_category_affinity, where every measure is computed once;
-- segments largest first, categories by their share of all revenue. How to
-- read it: doc affinity_reading.
with

affinity as (
    select * from {{ ref('segment_category_affinity') }}
)

select
    primary_segment,
    product_category,
    users,
    purchasers,
    purchaser_share,
    revenue,
    segment_spend_share,
    population_spend_share,
    lift,
    purchaser_share_lift,
    dense_rank() over (order by users desc, primary_segment asc)
        as segment_order,
    dense_rank() over (
        order by population_spend_share desc, product_category asc
    ) as category_order
from affinity
order by 11 asc, 12 asc
