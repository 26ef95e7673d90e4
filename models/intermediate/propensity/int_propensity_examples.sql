{#- The labelled examples of the propensity models: for every window of
    int_propensity_windows whose two snapshots exist, the training rows
    (role train: the feature rows of snapshot S0, labels to
    train_label_end_date) and the evaluation rows (role eval: snapshot S1,
    labels to eval_label_end_date). The features are the feature history's
    row of the snapshot date (point in time); the label looks only at the
    purchases (int_orders_filtered_to_as_of.is_purchase) from the snapshot
    date to the label end (excluded), all before as_of_date.

    will_purchase: every user of the snapshot's population; label = any
    purchase in [snapshot, end). will_churn: the users who bought in the H
    days before the snapshot (recency_days <= H); label = no purchase in
    [snapshot, end). Each window and role keeps at most
    propensity_sample_size users, the first in the order of
    md5(user_key || '|' || snapshot date): a deterministic sample. -#}
{%- set key_columns = ['as_of_date', 'user_id', 'user_key'] -%}
{%- set feature_columns = (
    adapter.get_columns_in_relation(ref('int_user_features_accumulated'))
    if execute else []
) | map(attribute='name') | reject('in', key_columns) | list -%}

with

windows as (
    select * from {{ ref('int_propensity_windows') }}
),

features as (
    select * from {{ ref('int_user_features_accumulated') }}
),

orders as (
    select * from {{ ref('int_orders_filtered_to_as_of') }}
),

roles as (
    select
        window_kind,
        label,
        horizon_days,
        'train' as role,  -- noqa: RF04
        train_snapshot_date as snapshot_date,
        train_label_end_date as label_end_date
    from windows
    where train_snapshot_date is not null and eval_snapshot_date is not null

    union all

    select
        window_kind,
        label,
        horizon_days,
        'eval' as role,  -- noqa: RF04
        eval_snapshot_date as snapshot_date,
        eval_label_end_date as label_end_date
    from windows
    where train_snapshot_date is not null and eval_snapshot_date is not null
),

label_periods as (
    select distinct
        snapshot_date,
        label_end_date
    from roles
),

purchasers_in_periods as (
    select distinct
        label_periods.snapshot_date,
        label_periods.label_end_date,
        orders.user_id
    from label_periods
    inner join orders
        on
            label_periods.snapshot_date <= orders.ordered_date
            and label_periods.label_end_date > orders.ordered_date
    where orders.is_purchase
),

labelled as (
    select
        roles.window_kind,
        roles.label,
        roles.horizon_days,
        roles.role,
        roles.snapshot_date,
        roles.label_end_date,
        features.user_id,
        features.user_key,
        case roles.label
            when 'will_purchase' then purchasers_in_periods.user_id is not null
            when 'will_churn' then purchasers_in_periods.user_id is null
        end as label_value,
        row_number() over (
            partition by
                roles.window_kind, roles.label, roles.horizon_days, roles.role
            order by
                {{ dbt.hash(
                    "features.user_key || '|' || "
                    ~ "cast(roles.snapshot_date as varchar)"
                ) }},
                features.user_id
        ) as sample_position
    {%- for column in feature_columns %},
            features.{{ column }}
        {%- endfor %}
    from roles
    inner join features on roles.snapshot_date = features.as_of_date
    left join purchasers_in_periods
        on
            roles.snapshot_date = purchasers_in_periods.snapshot_date
            and roles.label_end_date = purchasers_in_periods.label_end_date
            and features.user_id = purchasers_in_periods.user_id
    -- The churn population: bought in the horizon's days before the
    -- snapshot.
    where
        roles.label = 'will_purchase'
        or features.recency_days <= roles.horizon_days
),

sampled as (
    select
        window_kind,
        label,
        horizon_days,
        role,
        snapshot_date,
        label_end_date,
        user_id,
        user_key,
        -- noqa: disable=LT02
        label_value
        {%- for column in feature_columns %},
            {{ column }}
        {%- endfor %}
    -- noqa: enable=LT02
    from labelled
    where sample_position <= {{ var('propensity_sample_size') | int }}
    -- window_kind, label, horizon_days, role, user_id
    order by 1, 2, 3, 4, 7
)

select * from sampled
