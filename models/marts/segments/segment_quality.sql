{#- How good the segmentation is, per segment dimension: coverage of the
    population, the largest and smallest segment's share and, for the
    clusters, the chosen k's scores. A roll-up of the final tables (meta
    rollup_of_final_tables): it sums the published segment_profiles mart,
    so it checks what BI reads. -#}
with

profiles as (
    select * from {{ ref('segment_profiles') }}
),

population as (
    select count(*) as population_users
    from {{ ref('int_users_filtered_to_as_of') }}
),

chosen_k as (
    select * from {{ ref('int_clustering_k_selected') }}
    where is_chosen and as_of_date = {{ as_of_date() }}
),

per_dimension as (
    select
        segment_dimension,
        count(*) as segment_count,
        sum(user_count) as assigned_rows,
        sum(case
            when segment not in ('unassigned', 'no purchase') then user_count
        end) as users_in_a_segment,
        max(case
            when segment not in ('unassigned', 'no purchase') then user_share
        end) as largest_segment_share,
        min(case
            when segment not in ('unassigned', 'no purchase') then user_share
        end) as smallest_segment_share
    from profiles
    group by 1
),

quality as (
    select
        per_dimension.segment_dimension,
        per_dimension.segment_count,
        population.population_users,
        per_dimension.assigned_rows,
        coalesce(per_dimension.users_in_a_segment, 0) as users_in_a_segment,
        coalesce(per_dimension.users_in_a_segment, 0) * 1.0
        / nullif(population.population_users, 0) as coverage,
        per_dimension.largest_segment_share,
        per_dimension.smallest_segment_share,
        case
            when per_dimension.segment_dimension = 'cluster_label'
                then chosen_k.k
        end as chosen_k,
        case
            when per_dimension.segment_dimension = 'cluster_label'
                then chosen_k.silhouette
        end as silhouette,
        case
            when per_dimension.segment_dimension = 'cluster_label'
                then chosen_k.davies_bouldin
        end as davies_bouldin,
        case
            when per_dimension.segment_dimension = 'cluster_label'
                then chosen_k.calinski_harabasz
        end as calinski_harabasz
    from per_dimension
    cross join population
    left join chosen_k on true
)

select * from quality
