{#- Who is in which campaign group, frozen at launch. A campaign is
    assigned once, by the first build whose as_of_date is on or after its
    start date and that has a segment snapshot on or before that start
    date (int_campaigns_scheduled.eligibility_as_of_date); the rows are
    appended and never re-evaluated: campaigns already in this table are
    skipped. full_refresh is off, so `--full-refresh` keeps the groups.

    Eligible: in the snapshot at eligibility_as_of_date, matching every
    non-empty target list, and opted in to marketing as known to the
    assigning build. Group: 'excluded' when the user is eligible for an
    overlapping campaign on the same channel that comes first (start date,
    then priority, then id), or is already in a treatment or holdout group
    of an overlapping same-channel campaign assigned earlier; else
    'holdout' when the hash bucket is below the holdout share, else
    'treatment'. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    full_refresh=false,
) }}

with

scheduled as (
    select * from {{ ref('int_campaigns_scheduled') }}
),

snapshots as (
    select * from {{ ref('int_user_snapshots_accumulated') }}
),

users_segmented as (
    select * from {{ ref('int_users_segmented') }}
),

frozen as (
    {% if is_incremental() -%}
        select
            campaign_id,
            user_id,
            campaign_group
        from {{ this }}
    {%- else -%}
        select
            cast(null as varchar) as campaign_id,
            cast(null as varchar) as user_id,
            cast(null as varchar) as campaign_group
        where false
    {%- endif %}
),

launching as (
    select scheduled.*
    from scheduled
    where
        scheduled.start_date <= scheduled.as_of_date
        and scheduled.eligibility_as_of_date is not null
        and scheduled.campaign_id not in (
            select frozen.campaign_id from frozen
        )
),

eligible as (
    select
        launching.campaign_id,
        snapshots.user_id,
        snapshots.user_key,
        launching.eligibility_as_of_date,
        launching.as_of_date as assigned_as_of_date,
        snapshots.primary_segment as target_segment,
        snapshots.rfm_segment,
        snapshots.lifecycle_stage,
        snapshots.value_tier,
        {{ campaign_assignment_bucket(
            'snapshots.user_key', 'launching.campaign_id'
        ) }} as assignment_bucket,
        launching.holdout_share as planned_holdout_share
    from launching
    inner join snapshots
        on launching.eligibility_as_of_date = snapshots.as_of_date
    inner join users_segmented
        on snapshots.user_id = users_segmented.user_id
    where
        users_segmented.is_opted_in_to_marketing
        {% for target, column in [
            ('target_primary_segments', 'primary_segment'),
            ('target_rfm_segments', 'rfm_segment'),
            ('target_lifecycle_stages', 'lifecycle_stage'),
            ('target_value_tiers', 'value_tier'),
        ] -%}
            and (
                len(launching.{{ target }}) = 0
                or coalesce(
                    list_contains(
                        launching.{{ target }}, snapshots.{{ column }}
                    ),
                    false
                )
            )
        {% endfor %}
),

-- Every eligibility that can take a user: the campaigns launching now
-- (all their eligible users) and those frozen earlier (all their rows,
-- excluded ones included; is_assigned marks treatment or holdout).
claims as (
    select
        campaign_id,
        user_id,
        false as is_assigned
    from eligible
    union all
    select
        campaign_id,
        user_id,
        campaign_group in ('treatment', 'holdout') as is_assigned
    from frozen
),

blockers as (
    select
        eligible.campaign_id,
        eligible.user_id,
        other.campaign_id as blocking_campaign_id,
        row_number() over (
            partition by eligible.campaign_id, eligible.user_id
            order by
                other.start_date,
                coalesce(other.priority, 2147483647),
                other.campaign_id
        ) as blocker_rank
    from eligible
    inner join launching
        on eligible.campaign_id = launching.campaign_id
    inner join claims
        on
            eligible.user_id = claims.user_id
            and eligible.campaign_id != claims.campaign_id
    inner join scheduled as other
        on claims.campaign_id = other.campaign_id
    where
        {{ campaigns_overlap('launching', 'other') }}
        and (
            {{ campaign_comes_first('other', 'launching') }}
            or claims.is_assigned
        )
),

assigned as (
    select
        eligible.campaign_id,
        eligible.user_id,
        eligible.user_key,
        eligible.eligibility_as_of_date,
        eligible.assigned_as_of_date,
        eligible.target_segment,
        eligible.rfm_segment,
        eligible.lifecycle_stage,
        eligible.value_tier,
        eligible.assignment_bucket,
        eligible.planned_holdout_share,
        case
            when blockers.blocking_campaign_id is not null then 'excluded'
            when eligible.assignment_bucket < eligible.planned_holdout_share
                then 'holdout'
            else 'treatment'
        end as campaign_group,
        blockers.blocking_campaign_id as excluded_by_campaign_id
    from eligible
    left join blockers
        on
            eligible.campaign_id = blockers.campaign_id
            and eligible.user_id = blockers.user_id
            and blockers.blocker_rank = 1
)

select * from assigned
