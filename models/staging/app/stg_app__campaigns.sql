{#- Campaign definitions, typed, one row per campaign. Targets are lists of
    segment values (split on |, values trimmed, empty entries dropped). -#}
with

campaigns as (
    select * from {{ source('app', 'campaigns') }}
),

typed as (
    select
        trim(cast(campaign_id as varchar)) as campaign_id,
        coalesce(
            nullif(trim(cast(campaign_name as varchar)), ''),
            trim(cast(campaign_id as varchar))
        ) as campaign_name,
        {% for column in [
            'target_primary_segments', 'target_rfm_segments',
            'target_lifecycle_stages', 'target_value_tiers'
        ] -%}
            case
                when
                    trim(coalesce(cast({{ column }} as varchar), ''), '| ') = ''
                    then cast([] as varchar[])
                else string_split_regex(
                    trim(cast({{ column }} as varchar), '| '), '\s*\|[\s|]*'
                )
            end as {{ column }},
        {% endfor -%}
        try_cast(start_date as date) as start_date,
        try_cast(end_date as date) as end_date,
        try_cast(conversion_window_days as integer) as conversion_window_days,
        coalesce(
            try_cast(holdout_share as double),
            {{ var('campaign_holdout_share') }}
        ) as holdout_share,
        lower(trim(cast(channel as varchar))) as channel,
        try_cast(priority as integer) as priority
    from campaigns
)

select * from typed
