{#- Demographics of every user of the population: age in whole years on
    as_of_date and its age band (seed age_bands). -#}
with

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

age_bands as (
    select * from {{ ref('age_bands') }}
),

aged as (
    select
        users.user_id,
        users.gender,
        users.region,
        users.city,
        users.acquisition_channel,
        extract(year from {{ as_of_date() }})
        - extract(year from users.birth_date)
        - case
            when
                extract(month from {{ as_of_date() }})
                < extract(month from users.birth_date)
                or (
                    extract(month from {{ as_of_date() }})
                    = extract(month from users.birth_date)
                    and extract(day from {{ as_of_date() }})
                    < extract(day from users.birth_date)
                )
                then 1
            else 0
        end as age
    from users
),

banded as (
    select
        aged.user_id,
        aged.gender,
        aged.region,
        aged.city,
        aged.acquisition_channel,
        cast(aged.age as integer) as age,
        coalesce(age_bands.age_band, 'unknown') as age_band
    from aged
    left join age_bands
        on aged.age between age_bands.min_age and age_bands.max_age
)

select * from banded
