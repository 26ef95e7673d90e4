{#- Campaign definitions, one row per campaign, once every definition
    passed the checks of base_app__campaigns: any problem (and any line of
    a campaigns text file that could not be read as a row) stops the build
    here, with one line per problem naming the campaign, its row and the
    field, before anything is assigned. A table, not a view, so the check
    runs when the build reaches it. Targets are lists of canonical segment
    values (empty = no condition on that dimension). -#}
{{ config(materialized='table') }}
with

definitions as (
    select * from {{ ref('base_app__campaigns') }}
),

malformed_rows as (
    select * from {{ ref('stg_loader__malformed_rows') }}
    where source_table = 'campaigns'
),

named_definitions as (
    select
        definition_row,
        problems,
        case
            when campaign_id is not null
                then {{ quoted_example('campaign_id') }}
            when campaign_name is not null
                then
                    'without an id ('
                    || {{ quoted_example('campaign_name') }} || ')'
            else 'without an id'
        end as campaign_label
    from definitions
),

problem_lines as (
    select
        definition_row as sort_row,
        'campaign ' || campaign_label || ' (row ' || definition_row || '): '
        || unnest(problems) as problem_line
    from named_definitions
    union all
    select
        0 as sort_row,
        'campaigns file ' || {{ quoted_example('source_file') }}
        || ' line ' || line_number || ': could not be read as a row ('
        || problem || ')' as problem_line
    from malformed_rows
),

gate as (
    select
        count(*) as problem_count,
        string_agg(
            problem_line, chr(10) || '    ' order by sort_row, problem_line
        ) as problem_text
    from problem_lines
),

checked as (
    select
        case
            when problem_count > 0
                then {{ raise_data_error(
                    "'The campaign definitions (raw table campaigns) have '"
                    ~ " || problem_count || ' problem'"
                    ~ " || case when problem_count > 1 then 's' else '' end"
                    ~ " || ', fix them and run again:' || chr(10) || '    '"
                    ~ " || problem_text"
                ) }}
        end as failed_check
    from gate
)

select
    definitions.campaign_id,
    definitions.campaign_name,
    definitions.target_primary_segments,
    definitions.target_rfm_segments,
    definitions.target_lifecycle_stages,
    definitions.target_value_tiers,
    definitions.start_date,
    definitions.end_date,
    definitions.conversion_window_days,
    definitions.holdout_share,
    definitions.channel,
    definitions.priority
from checked
left join definitions on true
-- The filter forces the check above to be evaluated.
where checked.failed_check is null and definitions.campaign_id is not null
