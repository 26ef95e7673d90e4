-- When a users table was given, every staged order belongs to one of its
-- valid users (unknown users are rejected, never staged). Without a users
-- table there is nothing to check: users are derived from activity.
with

orders as (
    select * from {{ ref('stg_app__orders') }}
),

users as (
    select * from {{ ref('stg_app__users') }}
),

users_provided as (
    select count(*) > 0 as are_users_provided from users
)

select orders.user_id
from orders
cross join users_provided
left join users on orders.user_id = users.user_id
where users_provided.are_users_provided and users.user_id is null
