{#- Roll-up of the final tables: the primary segments with their size,
    value and playbook (what each is for), one row per segment. -#}
with

profiles as (
    select * from {{ ref('segment_profiles') }}
    where segment_dimension = 'primary_segment'
),

playbook as (
    select * from {{ ref('segment_playbook') }}
),

primary_segments as (
    select
        profiles.segment,
        profiles.user_count,
        profiles.user_share,
        profiles.mean_monetary,
        profiles.mean_historical_ltv,
        profiles.mean_predicted_ltv,
        profiles.mean_arpu_monthly,
        playbook.description,
        playbook.marketing,
        playbook.service,
        playbook.product
    from profiles
    left join playbook on profiles.segment = playbook.primary_segment
)

select * from primary_segments
