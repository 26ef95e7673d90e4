-- When a users table was given, every staged event belongs to one of its
-- valid users (unknown users are rejected, never staged). Without a users
-- table there is nothing to check: users are derived from activity.
with

events as (
    select * from {{ ref('stg_app__events') }}
),

users as (
    select * from {{ ref('stg_app__users') }}
),

users_provided as (
    select count(*) > 0 as are_users_provided from users
)

select events.user_id
from events
cross join users_provided
left join users on events.user_id = users.user_id
where users_provided.are_users_provided and users.user_id is null
