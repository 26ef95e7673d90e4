{#- Behaviour per primary segment over all events before as_of_date:
    sessions, CTR, sessions with a cart, checkout and purchase, and the
    events without a session id counted apart. Empty when the data has no
    event before as_of_date (orders-only data). -#}
with

segmented as (
    select * from {{ ref('int_users_segmented') }}
),

session_days as (
    select * from {{ ref('int_session_days_joined_to_segments') }}
),

segment_users as (
    select
        primary_segment,
        count(*) as users  -- noqa: RF04
    from segmented
    group by 1
),

behaviour as (
    select
        primary_segment,
        count(distinct user_id) as users_with_events,
        count(session_id) as sessions,
        sum(impression_count) as impressions,
        sum(click_count) as clicks,
        count(case
            when session_id is not null and has_add_to_cart then 1
        end) as add_to_cart_sessions,
        count(case
            when session_id is not null and has_checkout then 1
        end) as checkout_sessions,
        count(case
            when session_id is not null and has_purchase then 1
        end) as purchase_sessions,
        coalesce(sum(case
            when session_id is null then event_count
        end), 0) as events_without_session
    from session_days
    group by 1
),

joined as (
    select
        segment_users.primary_segment,
        segment_users.users,
        coalesce(behaviour.users_with_events, 0) as users_with_events,
        coalesce(behaviour.sessions, 0) as sessions,
        cast(coalesce(behaviour.impressions, 0) as bigint) as impressions,
        cast(coalesce(behaviour.clicks, 0) as bigint) as clicks,
        behaviour.clicks / nullif(behaviour.impressions, 0) as ctr,
        coalesce(behaviour.add_to_cart_sessions, 0) as add_to_cart_sessions,
        coalesce(behaviour.checkout_sessions, 0) as checkout_sessions,
        coalesce(behaviour.purchase_sessions, 0) as purchase_sessions,
        behaviour.purchase_sessions / nullif(behaviour.sessions, 0)
            as session_purchase_rate,
        cast(coalesce(behaviour.events_without_session, 0) as bigint)
            as events_without_session
    from segment_users
    left join behaviour
        on segment_users.primary_segment = behaviour.primary_segment
    -- No behaviour data at all (orders only): no rows.
    where exists (select 1 from session_days)
)

select * from joined
