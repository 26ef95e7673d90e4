{#- The population as of as_of_date: users who had signed up before it,
    whose sign-up time is unknown, or who were active before it. A user who
    only appears later did not exist yet. -#}
with

users as (
    select * from {{ ref('int_users_unioned') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

session_days as (
    select * from {{ ref('int_session_days_filtered_to_as_of') }}
),

active_users as (
    select user_id from orders
    union
    select user_id from session_days
),

filtered as (
    select
        users.user_id,
        users.user_key,
        users.signed_up_at,
        users.signed_up_at_source,
        users.birth_date,
        users.gender,
        users.region,
        users.city,
        users.acquisition_channel,
        users.email,
        users.phone,
        users.is_opted_in_to_marketing,
        users.is_inferred_from_activity
    from users
    left join active_users on users.user_id = active_users.user_id
    where
        users.signed_up_at < {{ as_of_date() }}
        or users.signed_up_at is null
        or active_users.user_id is not null
)

select * from filtered
