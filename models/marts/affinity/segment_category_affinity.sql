{#- Category affinity per primary segment: one row per segment with at
    least one purchaser x every category bought before as_of_date (a full
    grid for the heatmap: a category the segment never bought has 0
    purchasers and a lift of 0). Segments without purchasers (prospects)
    have no rows. -#}
with

segments as (
    select * from {{ ref('int_users_segmented') }}
),

categories as (
    select * from {{ ref('int_users_categories_aggregated') }}
),

segment_sizes as (
    select
        primary_segment,
        count(*) as segment_users
    from segments
    group by 1
),

population as (
    select count(*) as population_users from segments
),

category_population as (
    select
        product_category,
        max(population_spend_share) as population_spend_share,
        count(*) as purchasers
    from categories
    group by 1
),

segment_categories as (
    select
        segments.primary_segment,
        categories.product_category,
        count(*) as purchasers,
        sum(categories.purchases) as purchases,
        sum(categories.revenue) as revenue
    from categories
    inner join segments on categories.user_id = segments.user_id
    group by 1, 2
),

segments_with_purchasers as (
    select distinct primary_segment from segment_categories
),

grid as (
    select
        segments_with_purchasers.primary_segment,
        category_population.product_category,
        category_population.population_spend_share,
        category_population.purchasers as category_purchasers,
        segment_sizes.segment_users,
        coalesce(segment_categories.purchasers, 0) as purchasers,
        coalesce(segment_categories.purchases, 0) as purchases,
        coalesce(segment_categories.revenue, 0) as revenue
    from segments_with_purchasers
    cross join category_population
    inner join segment_sizes
        on
            segments_with_purchasers.primary_segment
            = segment_sizes.primary_segment
    left join segment_categories
        on
            segments_with_purchasers.primary_segment
            = segment_categories.primary_segment
            and category_population.product_category
            = segment_categories.product_category
),

with_totals as (
    select
        grid.*,
        sum(grid.revenue) over (
            partition by grid.primary_segment
        ) as segment_revenue,
        sum(grid.purchases) over (
            partition by grid.primary_segment
        ) as segment_purchases
    from grid
),

shared as (
    select
        with_totals.primary_segment,
        with_totals.product_category,
        with_totals.segment_users,
        with_totals.purchasers,
        cast(with_totals.purchasers as double)
        / with_totals.segment_users as purchaser_share,
        with_totals.revenue,
        {{ spend_share(
            'with_totals.revenue', 'with_totals.segment_revenue',
            'with_totals.purchases', 'with_totals.segment_purchases'
        ) }} as segment_spend_share,
        with_totals.population_spend_share,
        cast(with_totals.category_purchasers as double)
        / population.population_users as population_purchaser_share
    from with_totals
    cross join population
),

final as (
    select
        primary_segment,
        product_category,
        segment_users as users,  -- noqa: RF04
        purchasers,
        purchaser_share,
        revenue,
        segment_spend_share,
        population_spend_share,
        segment_spend_share
        / nullif(population_spend_share, 0) as lift,
        purchaser_share
        / nullif(population_purchaser_share, 0) as purchaser_share_lift
    from shared
)

select * from final
