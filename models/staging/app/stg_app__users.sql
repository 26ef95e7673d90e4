with

users as (
    select * from {{ ref('base_app__users') }}
),

valid_users as (
    select
        user_id,
        signed_up_at,
        birth_date,
        gender,
        region,
        city,
        acquisition_channel,
        email,
        phone,
        is_opted_in_to_marketing,
        cleared_attributes
    from users
    where reject_reason is null
)

select * from valid_users
