{#- The users the lookalike classifier is fitted on and scores, for each
    purpose of int_lookalike_seed_checked whose status is ready (no row for
    a fallback): the users of the purpose's snapshot date with a feature row
    there, whether they are in the seed on that date, whether they are in
    the fit sample, and (evaluation) whether they are in the seed at the
    build's as-of date T. Seed membership on T comes from
    int_users_segmented, on an earlier snapshot from the segment history
    (int_user_snapshots_accumulated). The fit sample: the first
    propensity_sample_size users in the order of md5(user_key || '|' ||
    snapshot date), like the propensity examples. -#}
{%- set sample_size = var('propensity_sample_size') | int -%}
{#- The column is only put in SQL when it is a known seed column;
    otherwise the check's status is a fallback and no row is selected. -#}
{%- set membership = lookalike_seed_column_value() -%}

with

checked as (
    select * from {{ ref('int_lookalike_seed_checked') }}
    where status = 'ready'
),

segmented as (
    select
        user_id,
        {{ membership }} as seed_column_value
    from {{ ref('int_users_segmented') }}
),

snapshots as (
    select
        as_of_date,
        user_id,
        {{ membership }} as seed_column_value
    from {{ ref('int_user_snapshots_accumulated') }}
),

features as (
    select
        as_of_date,
        user_id,
        user_key
    from {{ ref('int_user_features_accumulated') }}
),

members as (
    select
        'scoring' as purpose,
        calendar.as_of_date as snapshot_date,
        segmented.user_id,
        segmented.seed_column_value
    from segmented
    cross join {{ ref('int_as_of_date') }} as calendar
    union all
    select
        'evaluation' as purpose,
        checked.snapshot_date,
        snapshots.user_id,
        snapshots.seed_column_value
    from snapshots
    inner join checked
        on
            snapshots.as_of_date = checked.snapshot_date
            and checked.purpose = 'evaluation'
),

population as (
    select
        checked.purpose,
        checked.snapshot_date,
        features.user_id,
        features.user_key,
        coalesce(members.seed_column_value = checked.seed_value, false)
            as is_seed_member,
        case
            when checked.purpose = 'evaluation'
                then coalesce(
                    segmented.seed_column_value = checked.seed_value, false
                )
        end as is_seed_member_at_as_of_date
    from checked
    inner join members
        on
            checked.purpose = members.purpose
            and checked.snapshot_date = members.snapshot_date
    inner join features
        on
            members.snapshot_date = features.as_of_date
            and members.user_id = features.user_id
    left join segmented
        on members.user_id = segmented.user_id
),

sampled as (
    select
        *,
        row_number() over (
            partition by purpose
            order by
                md5(user_key || '|' || cast(snapshot_date as varchar)), user_id
        ) <= {{ sample_size }} as is_in_fit_sample
    from population
)

select * from sampled
