{#- Roll-up of the final tables for the segment report's header: one row
    with the as-of date, where it came from, the population, the
    purchasers and whether the data has behaviour events. -#}
with

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

segments as (
    select * from {{ ref('user_segments') }}
),

profiles as (
    select * from {{ ref('user_profiles') }}
),

population as (
    select count(*) as user_count
    from segments
),

purchasers as (
    select
        count(case when order_count > 0 then 1 end) as purchaser_count,
        coalesce(bool_or(has_behaviour_data), false) as has_behaviour_data
    from profiles
),

summary as (
    select
        as_of.as_of_date,
        as_of.as_of_date_source,
        population.user_count,
        purchasers.purchaser_count,
        purchasers.has_behaviour_data
    from as_of
    cross join population
    cross join purchasers
)

select * from summary
