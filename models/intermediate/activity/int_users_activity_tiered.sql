{#- Behaviour metrics and the activity tier of every user of the
    population as of as_of_date (see the activity docs blocks). When the
    data has no events before as_of_date, event-based metrics are null, not
    zero, and the tier rests on purchases alone. -#}
with

users as (
    select * from {{ ref('int_users_filtered_to_as_of') }}
),

events_per_user as (
    select * from {{ ref('int_events_aggregated_to_users') }}
),

orders_per_user as (
    select * from {{ ref('int_orders_aggregated_to_users') }}
),

behaviour_data as (
    select count(*) > 0 as has_behaviour_data
    from {{ ref('int_session_days_filtered_to_as_of') }}
),

joined as (
    select
        users.user_id,
        behaviour_data.has_behaviour_data,
        {%- for suffix in ['30d', '90d'] %}
            {%- for metric in [
                'sessions', 'active_days', 'browse_minutes', 'impressions',
                'clicks', 'page_views', 'add_to_cart_sessions',
                'purchase_sessions'
            ] %}
                case
                    when behaviour_data.has_behaviour_data
                        then coalesce(
                            events_per_user.{{ metric }}_{{ suffix }}, 0
                        )
                end as {{ metric }}_{{ suffix }},
            {%- endfor %}
            coalesce(orders_per_user.purchases_{{ suffix }}, 0)
                as purchases_{{ suffix }},
        {%- endfor %}
        {{ dbt.datediff(
            'cast(greatest('
            ~ 'coalesce(events_per_user.last_event_at, '
            ~ 'orders_per_user.last_ordered_at), '
            ~ 'coalesce(orders_per_user.last_ordered_at, '
            ~ 'events_per_user.last_event_at)) as date)',
            as_of_date(),
            'day'
        ) }} as days_since_last_activity
    from users
    cross join behaviour_data
    left join events_per_user on users.user_id = events_per_user.user_id
    left join orders_per_user on users.user_id = orders_per_user.user_id
),

rates as (
    select
        *,
        case
            when impressions_30d > 0
                then least(1.0, 1.0 * clicks_30d / impressions_30d)
        end as ctr_30d,
        case
            when sessions_30d > 0
                then 1.0 * add_to_cart_sessions_30d / sessions_30d
        end as add_to_cart_rate_30d,
        case
            when sessions_30d > 0
                then 1.0 * purchase_sessions_30d / sessions_30d
        end as conversion_rate_30d,
        case
            when impressions_90d > 0
                then least(1.0, 1.0 * clicks_90d / impressions_90d)
        end as ctr_90d,
        case
            when sessions_90d > 0
                then 1.0 * add_to_cart_sessions_90d / sessions_90d
        end as add_to_cart_rate_90d,
        case
            when sessions_90d > 0
                then 1.0 * purchase_sessions_90d / sessions_90d
        end as conversion_rate_90d
    from joined
),

conditions as (
    select
        *,
        case
            when ctr_30d > {{ var('activity_tier_high_ctr') }} then 1 else 0
        end
        + case
            when
                browse_minutes_30d
                > {{ var('activity_tier_high_browse_minutes') }}
                then 1
            else 0
        end
        + case
            when purchases_30d > {{ var('activity_tier_high_purchases') }}
                then 1
            else 0
        end as high_conditions_met,
        case
            when ctr_30d >= {{ var('activity_tier_medium_ctr') }} then 1 else 0
        end
        + case
            when
                browse_minutes_30d
                >= {{ var('activity_tier_medium_browse_minutes') }}
                then 1
            else 0
        end
        + case
            when purchases_30d >= {{ var('activity_tier_medium_purchases') }}
                then 1
            else 0
        end as medium_conditions_met,
        case
            when has_behaviour_data
                then {{ var('activity_tier_min_conditions') }}
            else 1
        end as conditions_required
    from rates
),

tiered as (
    select
        *,
        case
            when high_conditions_met >= conditions_required then 'high'
            when medium_conditions_met >= conditions_required then 'medium'
            else 'low'
        end as activity_tier
    from conditions
)

select * from tiered
