-- Every user of the population appears in user_profiles exactly once.
with

population as (
    select user_id from {{ ref('int_users_filtered_to_as_of') }}
),

profiles as (
    select user_id from {{ ref('user_profiles') }}
),

profile_counts as (
    select
        population.user_id,
        count(profiles.user_id) as profile_count
    from population
    left join profiles on population.user_id = profiles.user_id
    group by 1
)

select * from profile_counts
where profile_count != 1
