{#- Every defined campaign with its window and status as of the build's
    as_of_date, and the segment snapshot its eligibility is read from: the
    latest as-of date of the segment history on or before its start date
    (null when the history starts later: the campaign then waits). -#}
with

campaigns as (
    select * from {{ ref('stg_app__campaigns') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

snapshot_dates as (
    select distinct as_of_date as snapshot_date
    from {{ ref('int_user_snapshots_accumulated') }}
),

windowed as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.target_primary_segments,
        campaigns.target_rfm_segments,
        campaigns.target_lifecycle_stages,
        campaigns.target_value_tiers,
        campaigns.start_date,
        campaigns.end_date,
        campaigns.conversion_window_days,
        campaigns.holdout_share,
        campaigns.channel,
        campaigns.priority,
        as_of.as_of_date,
        cast(
            case
                when campaigns.conversion_window_days is not null
                    then {{ dbt.dateadd(
                        'day', 'campaigns.conversion_window_days',
                        'campaigns.start_date'
                    ) }}
                when campaigns.end_date is not null
                    then {{ dbt.dateadd('day', 1, 'campaigns.end_date') }}
                else {{ dbt.dateadd(
                    'day', var('campaign_conversion_window_days'),
                    'campaigns.start_date'
                ) }}
            end as date
        ) as conversion_window_end
    from campaigns
    cross join as_of
),

ended as (
    select
        campaign_id,
        campaign_name,
        target_primary_segments,
        target_rfm_segments,
        target_lifecycle_stages,
        target_value_tiers,
        start_date,
        end_date,
        conversion_window_days,
        holdout_share,
        channel,
        priority,
        as_of_date,
        conversion_window_end,
        coalesce(
            end_date,
            cast({{ dbt.dateadd('day', -1, 'conversion_window_end') }} as date)
        ) as campaign_end_date
    from windowed
),

eligibility as (
    select
        ended.campaign_id,
        max(snapshot_dates.snapshot_date) as eligibility_as_of_date
    from ended
    inner join snapshot_dates
        on ended.start_date >= snapshot_dates.snapshot_date
    group by 1
),

scheduled as (
    select
        ended.campaign_id,
        ended.campaign_name,
        ended.target_primary_segments,
        ended.target_rfm_segments,
        ended.target_lifecycle_stages,
        ended.target_value_tiers,
        ended.start_date,
        ended.end_date,
        ended.conversion_window_days,
        ended.holdout_share,
        ended.channel,
        ended.priority,
        ended.as_of_date,
        ended.conversion_window_end,
        ended.campaign_end_date,
        case
            when ended.start_date > ended.as_of_date then 'scheduled'
            when ended.as_of_date <= ended.campaign_end_date then 'running'
            else 'ended'
        end as campaign_status,
        ended.conversion_window_end > ended.as_of_date as is_interim,
        eligibility.eligibility_as_of_date
    from ended
    left join eligibility on ended.campaign_id = eligibility.campaign_id
)

select * from scheduled
