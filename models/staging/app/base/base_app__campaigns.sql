{#- Every raw campaign definition (source app.campaigns), one row per raw
    row, parsed and normalised, with the list of its problems (empty when
    it is valid): what stg_app__campaigns checks before it passes a single
    campaign on. Target values are matched with the accepted ones (primary
    segments of var primary_segment_rules, the rfm_segments, lifecycle_stages
    and value_tiers lookups) ignoring case, spaces, hyphens and underscores,
    and kept in their canonical spelling. -#}
{{ check_campaign_vars() }}
{%- set targets = campaign_target_columns() %}
with

source as (
    select
        *,
        -- The definition's position in the raw table (1 = first row
        -- under the header), named in the messages.
        row_number() over () as definition_row
    from {{ source('app', 'campaigns') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

lifecycle_stages as (
    select * from {{ ref('lifecycle_stages') }}
),

value_tiers as (
    select * from {{ ref('value_tiers') }}
),

accepted_values as (
    {% for rule in var('primary_segment_rules') -%}
        select
            'target_primary_segments' as field_name,
            {{ sql_string(rule.segment) }} as accepted_value,
            {{ loop.index }} as sort_order
        union all
    {% endfor -%}
    select distinct
        'target_rfm_segments' as field_name,
        rfm_segment as accepted_value,
        0 as sort_order
    from rfm_segments
    union all
    select
        'target_lifecycle_stages' as field_name,
        lifecycle_stage as accepted_value,
        sort_order
    from lifecycle_stages
    union all
    select
        'target_value_tiers' as field_name,
        value_tier as accepted_value,
        sort_order
    from value_tiers
),

accepted_keys as (
    select
        field_name,
        {{ campaign_target_key('accepted_value') }} as target_key,
        min(accepted_value) as accepted_value,
        min(sort_order) as sort_order
    from accepted_values
    group by all
),

accepted_lists as (
    select
        field_name,
        string_agg(accepted_value, ', ' order by sort_order, accepted_value)
            as accepted_text
    from accepted_keys
    group by all
),

parsed as (
    select
        definition_row,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('campaign_name') }} as campaign_name,
        {% for column in targets -%}
            {{ clean_text(column) }} as {{ column }}_text,
        {% endfor -%}
        {{ clean_text('start_date') }} as start_date_text,
        {{ parse_date('start_date') }} as start_date,
        {{ clean_text('end_date') }} as end_date_text,
        {{ parse_date('end_date') }} as end_date,
        {{ clean_text('conversion_window_days') }}
            as conversion_window_days_text,
        try_cast({{ clean_text('conversion_window_days') }} as double)
            as conversion_window_days_number,
        {{ clean_text('holdout_share') }} as holdout_share_text,
        try_cast({{ clean_text('holdout_share') }} as double)
            as holdout_share_number,
        lower({{ clean_text('channel') }}) as channel,
        {{ clean_text('priority') }} as priority_text,
        try_cast({{ clean_text('priority') }} as double) as priority_number
    from source
),

target_lists as (
    {% for column in targets -%}
        select
            definition_row,
            '{{ column }}' as field_name,
            string_split_regex(
                trim({{ column }}_text, '| '), '\s*\|[\s|]*'
            ) as target_list
        from parsed
        where trim(coalesce({{ column }}_text, ''), '| ') != ''
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

target_positions as (
    select
        definition_row,
        field_name,
        target_list,
        unnest(range(1, len(target_list) + 1)) as target_position
    from target_lists
),

target_values as (
    select
        target_positions.definition_row,
        target_positions.field_name,
        target_positions.target_position,
        trim(target_positions.target_list[target_positions.target_position])
            as target_value,
        accepted_keys.accepted_value
    from target_positions
    left join accepted_keys
        on
            target_positions.field_name = accepted_keys.field_name
            and {{ campaign_target_key(
                'target_positions.target_list'
                ~ '[target_positions.target_position]'
            ) }} = accepted_keys.target_key
),

accepted_targets as (
    select
        definition_row,
        field_name,
        accepted_value,
        min(target_position) as first_position
    from target_values
    where accepted_value is not null
    group by all
),

canonical_targets as (
    select
        definition_row,
        field_name,
        list(accepted_value order by first_position) as target_list
    from accepted_targets
    group by all
),

unknown_targets as (
    select
        definition_row,
        field_name,
        count(*) as unknown_count,
        string_agg(
            {{ quoted_example('target_value') }}, ', '
            order by target_position
        ) as unknown_text
    from target_values
    where accepted_value is null
    group by all
),

duplicate_ids as (
    select
        parsed.definition_row,
        string_agg(
            cast(other.definition_row as varchar), ', '
            order by other.definition_row
        ) as other_rows
    from parsed
    inner join parsed as other
        on
            lower(parsed.campaign_id) = lower(other.campaign_id)
            and parsed.definition_row != other.definition_row
    group by all
),

problems as (
    select
        definition_row,
        1 as check_order,
        'field campaign_id: missing (every campaign needs a unique id)'
            as problem
    from parsed
    where campaign_id is null
    union all
    select
        definition_row,
        2 as check_order,
        'field campaign_id: ' || {{ quoted_example('campaign_id') }}
        || ' cannot name the export files (<campaign_id>.csv): use at most'
        || ' 100 ASCII letters, digits, _, - and ., not starting with .'
            as problem
    from parsed
    where
        not regexp_full_match(campaign_id, '[A-Za-z0-9_-][A-Za-z0-9_.-]*')
        or length(campaign_id) > 100
    union all
    select
        duplicate_ids.definition_row,
        3 as check_order,
        'field campaign_id: ' || {{ quoted_example('parsed.campaign_id') }}
        || ' is also the id of row ' || duplicate_ids.other_rows
        || ' (ids are unique, ignoring case: they name the export files)'
            as problem
    from duplicate_ids
    inner join parsed on duplicate_ids.definition_row = parsed.definition_row
    union all
    select
        definition_row,
        4 as check_order,
        'field start_date: missing' as problem
    from parsed
    where start_date_text is null
    union all
    select
        definition_row,
        4 as check_order,
        'field start_date: ' || {{ quoted_example('start_date_text') }}
        || ' is not a date (write YYYY-MM-DD)' as problem
    from parsed
    where start_date_text is not null and start_date is null
    union all
    select
        definition_row,
        5 as check_order,
        'field end_date: ' || {{ quoted_example('end_date_text') }}
        || ' is not a date (write YYYY-MM-DD)' as problem
    from parsed
    where end_date_text is not null and end_date is null
    union all
    select
        definition_row,
        6 as check_order,
        'field end_date: ' || cast(end_date as varchar)
        || ' is before start_date ' || cast(start_date as varchar)
            as problem
    from parsed
    where end_date < start_date
    union all
    select
        definition_row,
        7 as check_order,
        'field conversion_window_days: '
        || {{ quoted_example('conversion_window_days_text') }}
        || ' is not a whole number of days >= 1' as problem
    from parsed
    where
        conversion_window_days_text is not null
        and (
            conversion_window_days_number is null
            or conversion_window_days_number
            != floor(conversion_window_days_number)
            or conversion_window_days_number < 1
            or conversion_window_days_number > 2147483647
        )
    union all
    select
        definition_row,
        8 as check_order,
        'field holdout_share: ' || {{ quoted_example('holdout_share_text') }}
        || ' is not a number' as problem
    from parsed
    where holdout_share_text is not null and holdout_share_number is null
    union all
    select
        definition_row,
        8 as check_order,
        'field holdout_share: ' || holdout_share_text
        || ' is not strictly between 0 and 1'
        || case
            when holdout_share_number between 1 and 100
                then ' (a share: write 10% as 0.1)'
            else ''
        end as problem
    from parsed
    where
        not (holdout_share_number > 0 and holdout_share_number < 1)
        or isnan(holdout_share_number)
    union all
    select
        parsed.definition_row,
        9 as check_order,
        'fields {{ targets | join(", ") }}: all empty (a campaign targets'
        || ' at least one segment value)' as problem
    from parsed
    where
        not exists (
            select 1
            from target_lists
            where target_lists.definition_row = parsed.definition_row
        )
    union all
    select
        unknown_targets.definition_row,
        case unknown_targets.field_name
            {% for column in targets -%}
                when '{{ column }}' then {{ 10 + loop.index0 }}
            {% endfor -%}
        end as check_order,
        'field ' || unknown_targets.field_name || ': unknown value'
        || case when unknown_targets.unknown_count > 1 then 's' else '' end
        || ' ' || unknown_targets.unknown_text
        || ' (accepted: ' || accepted_lists.accepted_text || ')' as problem
    from unknown_targets
    inner join accepted_lists
        on unknown_targets.field_name = accepted_lists.field_name
    union all
    select
        definition_row,
        20 as check_order,
        'field channel: missing (email, sms, push, ...: campaigns on the'
        || ' same channel share a priority list)' as problem
    from parsed
    where channel is null
    union all
    select
        definition_row,
        21 as check_order,
        'field priority: ' || {{ quoted_example('priority_text') }}
        || ' is not a whole number (1 = first)' as problem
    from parsed
    where
        priority_text is not null
        and (
            priority_number is null
            or priority_number != floor(priority_number)
            or abs(priority_number) > 2147483647
        )
),

problem_lists as (
    select
        definition_row,
        list(problem order by check_order, problem) as problems
    from problems
    group by all
),

normalised as (
    select
        parsed.definition_row,
        parsed.campaign_id,
        coalesce(parsed.campaign_name, parsed.campaign_id) as campaign_name,
        {% for column in targets -%}
            coalesce(
                (
                    select canonical_targets.target_list
                    from canonical_targets
                    where
                        canonical_targets.definition_row
                        = parsed.definition_row
                        and canonical_targets.field_name = '{{ column }}'
                ),
                cast([] as varchar[])
            ) as {{ column }},
        {% endfor -%}
        parsed.start_date,
        parsed.end_date,
        case
            when
                parsed.conversion_window_days_number
                between 1 and 2147483647
                then cast(parsed.conversion_window_days_number as integer)
        end as conversion_window_days,
        coalesce(
            parsed.holdout_share_number, {{ var('campaign_holdout_share') }}
        ) as holdout_share,
        parsed.channel,
        case
            when abs(parsed.priority_number) <= 2147483647
                then cast(parsed.priority_number as integer)
        end as priority,
        coalesce(problem_lists.problems, cast([] as varchar[])) as problems
    from parsed
    left join problem_lists
        on parsed.definition_row = problem_lists.definition_row
)

select * from normalised
