{#- The last plausible day of the data. Timestamps after it are rejected as
    future_timestamp. See the data_horizon docs block for the rule. -#}
{%- set max_valid_date = var('max_valid_date', none) -%}

with

orders as (
    select {{ parse_timestamp('ordered_at') }} as occurred_at
    from {{ source('app', 'orders') }}
),

event_days as (
    select * from {{ ref('base_app__event_days') }}
),

activity_days as (
    select
        activity_date,
        sum(row_count) as row_count
    from (
        select
            cast(occurred_at as date) as activity_date,
            1 as row_count
        from orders
        where occurred_at is not null

        union all

        select
            activity_date,
            row_count
        from event_days
    ) as timestamps
    group by 1
),

activity_days_cumulated as (
    select
        activity_date,
        sum(row_count) over (
            order by activity_date
            rows between unbounded preceding and current row
        ) as rows_up_to_day,
        sum(row_count) over () as total_rows,
        lead(activity_date) over (order by activity_date) as next_activity_date
    from activity_days
),

days_followed_by_a_gap as (
    -- A silence longer than future_gap_days after the bulk of the data,
    -- followed by only a sliver of the rows or by more than a year of
    -- nothing: what comes after is typos, not a new season.
    select activity_date
    from activity_days_cumulated
    where
        rows_up_to_day * 2 >= total_rows
        and {{ dbt.datediff('activity_date', 'next_activity_date', 'day') }}
        > {{ var('future_gap_days') }}
        and (
            total_rows - rows_up_to_day
            <= {{ var('future_max_share') }} * total_rows
            or {{ dbt.datediff('activity_date', 'next_activity_date', 'day') }}
            > {{ var('future_far_days') }}
        )
),

horizon as (
    select
        {% if max_valid_date -%}
            cast('{{ max_valid_date }}' as date) as horizon_date,
            'var max_valid_date' as horizon_rule,
        {%- else -%}
            coalesce(
                (select min(activity_date) from days_followed_by_a_gap),
                (select max(activity_date) from activity_days)
            ) as horizon_date,
            case
                when exists (select 1 from days_followed_by_a_gap)
                    then
                        'last day before a gap of more than '
                        || '{{ var("future_gap_days") }} days'
                else 'latest day in the data'
            end as horizon_rule,
        {%- endif %}
        (select min(activity_date) from activity_days) as first_activity_date,
        (select max(activity_date) from activity_days) as last_activity_date
),

checked as (
    select
        *,
        case
            when horizon_date is null
                then {{ raise_data_error(
                    "'No order or event has a readable date or timestamp, so "
                    ~ "there is nothing to segment: see "
                    ~ "staging.stg_app__rejected_rows (invalid_ordered_at).'"
                ) }}
        end as failed_check
    from horizon
)

select
    horizon_date,
    horizon_rule,
    first_activity_date,
    last_activity_date
from checked
-- The filter forces the check above to be evaluated.
where failed_check is null
