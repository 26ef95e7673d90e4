{% test migrations_add_up_to_history(model, history, side) %}
{#- The migration rows of each dimension and pair of dates, summed by
    from_segment without '(new)' (side 'from'), equal the segment sizes of
    the from date's snapshot in the history; summed by to_segment without
    '(gone)' (side 'to'), those of the to date. Returns every (dimension,
    date, segment) whose sizes differ, with both counts. -#}
{%- set outside = '(new)' if side == 'from' else '(gone)' -%}
with

migrations as (
    select
        dimension,
        {{ side }}_as_of_date as as_of_date,
        {{ side }}_segment as segment,
        sum(user_count) as migrated_user_count
    from {{ model }}
    where {{ side }}_segment <> '{{ outside }}'
    group by 1, 2, 3
),

-- Every date of the history that starts a pair (side from: all but the
-- last) or ends one (side to: all but the first), read from the history,
-- so that a pair missing from the migrations fails too.
history_dates as (
    select distinct as_of_date
    from {{ history }}
),

pair_dates as (
    select as_of_date
    from history_dates
    where as_of_date {{ '<' if side == 'from' else '>' }} (
        select {{ 'max' if side == 'from' else 'min' }}(history_dates.as_of_date)
        from history_dates
    )
),

snapshots as (
    select history.*
    from {{ history }} as history
    inner join pair_dates on history.as_of_date = pair_dates.as_of_date
),

sizes as (
    {%- for dimension, column in segment_dimensions() %}
        select
            '{{ dimension }}' as dimension,
            as_of_date,
            {{ segment_value(column) }} as segment,
            count(*) as history_user_count
        from snapshots
        group by 1, 2, 3
        {{- '\n        union all' if not loop.last }}
    {%- endfor %}
)

select
    coalesce(sizes.dimension, migrations.dimension) as dimension,
    coalesce(sizes.as_of_date, migrations.as_of_date) as as_of_date,
    coalesce(sizes.segment, migrations.segment) as segment,
    sizes.history_user_count,
    migrations.migrated_user_count
from sizes
full outer join migrations
    on
        sizes.dimension = migrations.dimension
        and sizes.as_of_date = migrations.as_of_date
        and sizes.segment = migrations.segment
where sizes.history_user_count is distinct from migrations.migrated_user_count
{% endtest %}
