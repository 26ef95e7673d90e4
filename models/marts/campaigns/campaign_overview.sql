{#- One row per defined campaign: its definition, window and status, the
    snapshot it was assigned on, its group sizes before and after
    priority, and a note saying what state it is in. Published as
    marts.campaigns: the model cannot be named campaigns, the name of the
    demo seed of the raw table. -#}
{{ config(alias='campaigns') }}

with

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

-- Users of a campaign also eligible for another overlapping campaign on
-- the same channel (before priority).
eligible_elsewhere as (
    select
        assignments.campaign_id,
        count(distinct assignments.user_id) as users_eligible_elsewhere
    from assignments
    inner join scheduled as campaign
        on assignments.campaign_id = campaign.campaign_id
    inner join assignments as other_assignments
        on
            assignments.user_id = other_assignments.user_id
            and assignments.campaign_id != other_assignments.campaign_id
    inner join scheduled as other
        on other_assignments.campaign_id = other.campaign_id
    where {{ campaigns_overlap('campaign', 'other') }}
    group by 1
),

groups_counted as (
    select
        campaign_id,
        min(eligibility_as_of_date) as eligibility_as_of_date,
        min(assigned_as_of_date) as assigned_as_of_date,
        count(*) as eligible_users,
        count(case when campaign_group = 'excluded' then 1 end)
            as excluded_users,
        count(case when campaign_group = 'treatment' then 1 end)
            as treatment_users,
        count(case when campaign_group = 'holdout' then 1 end)
            as holdout_users
    from assignments
    group by 1
),

campaigns_assignable as (
    select
        *,
        start_date <= as_of_date
        and eligibility_as_of_date is not null as is_assignable
    from scheduled
),

summarised as (
    select
        campaigns_assignable.campaign_id,
        campaigns_assignable.campaign_name,
        campaigns_assignable.channel,
        campaigns_assignable.priority,
        campaigns_assignable.target_primary_segments,
        campaigns_assignable.target_rfm_segments,
        campaigns_assignable.target_lifecycle_stages,
        campaigns_assignable.target_value_tiers,
        campaigns_assignable.start_date,
        campaigns_assignable.end_date,
        campaigns_assignable.conversion_window_days,
        campaigns_assignable.campaign_end_date,
        campaigns_assignable.conversion_window_end,
        campaigns_assignable.holdout_share,
        campaigns_assignable.as_of_date,
        campaigns_assignable.campaign_status,
        campaigns_assignable.is_interim,
        -- The snapshot the groups were frozen on, once assigned.
        coalesce(
            groups_counted.eligibility_as_of_date,
            campaigns_assignable.eligibility_as_of_date
        ) as eligibility_as_of_date,
        groups_counted.assigned_as_of_date,
        {% for column in [
            'eligible_users', 'excluded_users',
            'treatment_users', 'holdout_users'
        ] -%}
            case
                when
                    campaigns_assignable.is_assignable
                    or groups_counted.campaign_id is not null
                    then coalesce(groups_counted.{{ column }}, 0)
            end as {{ column }},
        {% endfor -%}
        case
            when
                campaigns_assignable.is_assignable
                or groups_counted.campaign_id is not null
                then coalesce(eligible_elsewhere.users_eligible_elsewhere, 0)
        end as users_eligible_elsewhere,
        cast(groups_counted.holdout_users as double)
        / nullif(
            groups_counted.treatment_users + groups_counted.holdout_users, 0
        ) as realised_holdout_share,
        case
            when groups_counted.campaign_id is not null
                then
                    'assigned by the build as of '
                    || cast(groups_counted.assigned_as_of_date as varchar)
                    || ' on the segment snapshot of '
                    || cast(groups_counted.eligibility_as_of_date as varchar)
                    || ' (frozen)'
            when campaigns_assignable.campaign_status = 'scheduled'
                then
                    'scheduled: assigned by the first build as of '
                    || cast(campaigns_assignable.start_date as varchar)
                    || ' or later'
            when campaigns_assignable.eligibility_as_of_date is null
                then
                    'no segment snapshot on or before the start date:'
                    || ' backfill the history (HISTORY_FROM)'
            else
                'no eligible user (opted in and matching every target)'
                || ' in the segment snapshot of '
                || cast(campaigns_assignable.eligibility_as_of_date as varchar)
                || ': nothing frozen, the next build looks again'
        end as status_note
    from campaigns_assignable
    left join groups_counted
        on campaigns_assignable.campaign_id = groups_counted.campaign_id
    left join eligible_elsewhere
        on campaigns_assignable.campaign_id = eligible_elsewhere.campaign_id
)

select * from summarised
