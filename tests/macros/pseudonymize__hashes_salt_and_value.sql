-- The pseudonymize macro on literal rows: equal ids give equal keys,
-- different ids different keys, and the key is the salted md5 of the id.
with

ids as (
    select ids.user_id
    from (values ('U0000001'), ('U0000002'), ('U0000001')) as ids (user_id)
),

keyed as (
    select
        user_id,
        {{ pseudonymize('user_id') }} as user_key,
        md5('{{ var("pseudonym_salt") }}' || user_id) as expected_key
    from ids
)

select *
from keyed
where
    user_key != expected_key
    or user_key = md5(user_id)
    or (select count(distinct user_key) from keyed) != 2
