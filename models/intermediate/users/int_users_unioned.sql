{#- The user population: every valid user of the users table, plus, when
    no users table was provided, every user seen in valid orders or events
    (first activity = sign-up). -#}
with

users as (
    select * from {{ ref('stg_app__users') }}
),

orders as (
    select * from {{ ref('stg_app__orders') }}
),

session_days as (
    select * from {{ ref('int_events_aggregated_to_session_days') }}
),

activity as (
    select
        user_id,
        ordered_at as occurred_at
    from orders

    union all

    select
        user_id,
        first_event_at as occurred_at
    from session_days
),

first_activity as (
    select
        user_id,
        min(occurred_at) as first_activity_at
    from activity
    group by 1
),

registered_users as (
    select
        users.user_id,
        {{ pseudonymize('users.user_id') }} as user_key,
        coalesce(users.signed_up_at, first_activity.first_activity_at)
            as signed_up_at,
        case
            when users.signed_up_at is not null then 'users'
            when first_activity.first_activity_at is not null
                then 'first_activity'
            else 'unknown'
        end as signed_up_at_source,
        users.birth_date,
        users.gender,
        users.region,
        users.city,
        users.acquisition_channel,
        users.email,
        users.phone,
        users.is_opted_in_to_marketing,
        false as is_inferred_from_activity
    from users
    left join first_activity on users.user_id = first_activity.user_id
),

users_inferred_from_activity as (
    select
        first_activity.user_id,
        {{ pseudonymize('first_activity.user_id') }} as user_key,
        first_activity.first_activity_at as signed_up_at,
        'first_activity' as signed_up_at_source,
        cast(null as date) as birth_date,
        'unknown' as gender,
        cast(null as varchar) as region,
        cast(null as varchar) as city,
        cast(null as varchar) as acquisition_channel,
        cast(null as varchar) as email,
        cast(null as varchar) as phone,
        false as is_opted_in_to_marketing,
        true as is_inferred_from_activity
    from first_activity
    left join users on first_activity.user_id = users.user_id
    where users.user_id is null
),

unioned as (
    select * from registered_users
    union all
    select * from users_inferred_from_activity
)

select * from unioned
