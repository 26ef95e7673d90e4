{% macro cross_table_check_ctes() -%}
    {#- The import CTEs of the two checks orders and events share with the
        rest of staging: the data horizon and the valid users (and whether
        a users file was given at all). Emits `horizon`, `users` and
        `users_provided`, each followed by a comma. -#}
horizon as (
    select horizon_date from {{ ref('base_app__data_horizon') }}
),

users as (
    select user_id from {{ ref('stg_app__users') }}
),

users_provided as (
    select count(*) > 0 as are_users_provided from users
),
{%- endmacro %}

{% macro cross_table_reject_reasons(timestamp_column) -%}
    {#- The last two rules of orders and events, after the row's own checks:
        a timestamp after the data horizon, then a user not among the valid
        users (only when a users file was given). Needs the CTEs of
        cross_table_check_ctes joined as `horizon`, `users_provided` and
        `users` (see cross_table_check_joins). -#}
            when cast({{ timestamp_column }} as date) > horizon.horizon_date
                then 'future_timestamp'
            when
                users_provided.are_users_provided and users.user_id is null
                then 'unknown_user'
{%- endmacro %}

{% macro cross_table_check_joins(rows_alias) -%}
    {#- Joins the rows_alias rows to the CTEs of cross_table_check_ctes. -#}
    cross join horizon
    cross join users_provided
    left join users on {{ rows_alias }}.user_id = users.user_id
{%- endmacro %}
