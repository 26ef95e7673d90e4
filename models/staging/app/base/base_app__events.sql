with

source as (
    select * from {{ source('app', 'events') }}
),

horizon as (
    select horizon_date from {{ ref('util_data_horizon') }}
),

users as (
    select user_id from {{ ref('stg_app__users') }}
),

users_provided as (
    select count(*) > 0 as are_users_provided from users
),

parsed as (
    select
        {{ clean_text('source.event_id') }} as event_id,
        {{ clean_text('source.user_id') }} as user_id,
        {{ clean_text('source.session_id') }} as session_id,
        {{ parse_timestamp('source.occurred_at') }} as occurred_at,
        {{ normalize_label('source.event_type') }} as event_type,
        nullif(lower({{ clean_text('source.duration_seconds') }}), 'nan')
            as duration_text,
        {{ dbt.safe_cast(
            "nullif(lower("
            ~ clean_text('source.duration_seconds')
            ~ "), 'nan')",
            'double'
        ) }} as duration_seconds,
        {{ row_as_json('source') }} as raw_record
    from source
),

checked as (
    select
        parsed.*,
        case
            when parsed.event_id is null then 'missing_event_id'
            when parsed.user_id is null then 'missing_user_id'
            when parsed.occurred_at is null then 'invalid_occurred_at'
            when
                parsed.event_type is null
                or parsed.event_type not in {{ in_list(var('event_types')) }}
                then 'invalid_event_type'
            when
                parsed.duration_text is not null
                and (
                    parsed.duration_seconds is null
                    or parsed.duration_seconds < 0
                    or parsed.duration_seconds > 86400
                )
                then 'invalid_duration'
            when cast(parsed.occurred_at as date) > horizon.horizon_date
                then 'future_timestamp'
            when
                users_provided.are_users_provided and users.user_id is null
                then 'unknown_user'
        end as row_reject_reason
    from parsed
    cross join horizon
    cross join users_provided
    left join users on parsed.user_id = users.user_id
),

ranked as (
    select
        *,
        case
            when row_reject_reason is null
                then row_number() over (
                    partition by event_id, row_reject_reason is null
                    order by
                        user_id, occurred_at, session_id, event_type,
                        duration_seconds, raw_record
                )
        end as event_id_rank
    from checked
),

validated as (
    select
        event_id,
        user_id,
        session_id,
        occurred_at,
        event_type,
        duration_seconds,
        raw_record,
        coalesce(
            row_reject_reason,
            case when event_id_rank > 1 then 'duplicate_event_id' end
        ) as reject_reason
    from ranked
)

select * from validated
