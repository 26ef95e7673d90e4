{#- Every raw event row, cleaned and checked, with its reject reason (null
    for the rows kept). Incremental by file: a run loads only the new or
    changed files of the data folder (see the incremental_events docs
    block); the demo seeds are always rebuilt in full.

    Built for a hundred million rows: the raw row is turned into JSON only
    for rejected rows, and only the rows whose event id occurs more than
    once are ranked to pick the one kept (macro deduplicate; the others
    need no window over the whole table).

    Rules (column staging_rules): the layout of the rows, so that a
    warehouse loaded before a column was added (is_event_id_repeated)
    loads its files again by itself instead of stopping on the schema
    change. -#}
{%- set rules = {
    'column': 'staging_rules',
    'value': 'event_id repeats flagged (is_event_id_repeated)',
} %}
{{ config(**incremental_by_file('events', none, rules)) }}
{%- set increment = source_file_increment('events', none, rules) %}
{%- set raw_events = source('app', 'events') %}
{%- set file_column = source_file_column(raw_events) %}

with

file_versions as (
    select
        source_file,
        file_version
    from {{ source('loader', 'raw_files') }}
    where table_name = 'events'
),

{{ cross_table_check_ctes() }}

{% call(raw_rows) deduplicate(
    key='event_id',
    raw_key=clean_id('raw_event.event_id'),
    raw_from=raw_events ~ ' as raw_event',
    raw_filter=source_file_filter(increment, file_column),
    order_by=[
        'source_file', 'user_id', 'occurred_at', 'session_id', 'event_type',
        'duration_seconds',
    ],
    increment=increment,
) %}
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
            {{ cross_table_reject_reasons('parsed.occurred_at') }}
        end as row_reject_reason
    from (
        select
            {{ clean_id('raw_event.event_id') }} as event_id,
            {{ clean_id('raw_event.user_id', is_user_id=true) }} as user_id,
            {{ clean_id('raw_event.session_id') }} as session_id,
            {{ parse_timestamp('raw_event.occurred_at') }} as occurred_at,
            {{ normalize_label('raw_event.event_type') }} as event_type,
            nullif(lower({{ clean_text('raw_event.duration_seconds') }}), 'nan')
                as duration_text,
            {{ dbt.safe_cast(
                "nullif(lower("
                ~ clean_text('raw_event.duration_seconds')
                ~ "), 'nan')",
                'double'
            ) }} as duration_seconds,
            {{ file_column }} as source_file,
            {{ raw_row_struct('events', 'raw_event') }} as raw_row
        from {{ raw_rows }} as raw_event
    ) as parsed
    {{ cross_table_check_joins('parsed') }}
{% endcall %}

validated as (
    select
        ranked.event_id,
        ranked.user_id,
        ranked.session_id,
        ranked.occurred_at,
        ranked.event_type,
        ranked.duration_seconds,
        case
            when
                ranked.row_reject_reason is not null
                or ranked.event_id_rank > 1
                then {{ row_as_json('ranked.raw_row') }}
        end as raw_record,
        coalesce(
            ranked.row_reject_reason,
            case when ranked.event_id_rank > 1 then 'duplicate_event_id' end
        ) as reject_reason,
        ranked.is_event_id_repeated,
        ranked.source_file,
        file_versions.file_version as source_file_version,
        '{{ invocation_id }}' as loaded_by_invocation_id,
        {{ sql_string(rules['value']) }} as staging_rules
    from ranked
    left join file_versions on ranked.source_file = file_versions.source_file
)

select * from validated
