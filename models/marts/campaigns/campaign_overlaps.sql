{#- One row per pair of campaigns on the same channel whose windows
    overlap: campaign_id is the one that comes first in the priority order.
    Users eligible for both (before priority) and users in a treatment or
    holdout group of both (after priority: always 0). -#}
with

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

assignments as (
    select * from {{ ref('int_campaign_assignments') }}
),

pairs as (
    select
        campaign.campaign_id,
        other.campaign_id as other_campaign_id,
        campaign.channel
    from scheduled as campaign
    inner join scheduled as other
        on
            {{ campaigns_overlap('campaign', 'other') }}
            and {{ campaign_comes_first('campaign', 'other') }}
),

shared_users as (
    select
        pairs.campaign_id,
        pairs.other_campaign_id,
        count(*) as users_eligible_for_both,
        count(
            case
                when
                    assignments.campaign_group in ('treatment', 'holdout')
                    and other_assignments.campaign_group
                    in ('treatment', 'holdout')
                    then 1
            end
        ) as users_assigned_to_both
    from pairs
    inner join assignments
        on pairs.campaign_id = assignments.campaign_id
    inner join assignments as other_assignments
        on
            pairs.other_campaign_id = other_assignments.campaign_id
            and assignments.user_id = other_assignments.user_id
    group by 1, 2
),

pairs_counted as (
    select
        pairs.campaign_id,
        pairs.other_campaign_id,
        pairs.channel,
        coalesce(shared_users.users_eligible_for_both, 0)
            as users_eligible_for_both,
        coalesce(shared_users.users_assigned_to_both, 0)
            as users_assigned_to_both
    from pairs
    left join shared_users
        on
            pairs.campaign_id = shared_users.campaign_id
            and pairs.other_campaign_id = shared_users.other_campaign_id
)

select * from pairs_counted
