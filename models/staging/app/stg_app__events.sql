with

events as (
    select * from {{ ref('base_app__events') }}
),

valid_events as (
    select
        event_id,
        user_id,
        session_id,
        occurred_at,
        event_type,
        duration_seconds,
        is_event_id_repeated,
        source_file,
        source_file_version,
        loaded_by_invocation_id
    from events
    where reject_reason is null
)

select * from valid_events
