{#- Per dimension, pair of consecutive as-of dates and segment: the
    segment's size and share of the population at both dates, its change
    in points, the users who stayed in it, and whether the change is a
    drift (more than var segment_drift_max_points). Read off the
    migrations (int_segment_migrations): sizes at the from date sum its
    rows by from segment, sizes at the to date by to segment. -#}
{%- set drift_max_points = var('segment_drift_max_points') -%}

with

migrations as (
    select * from {{ ref('int_segment_migrations') }}
),

sides as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        from_segment as segment,
        user_count as from_user_count,
        0 as to_user_count,
        case when is_stayed then user_count else 0 end as stayed_user_count
    from migrations
    where from_segment <> '(new)'
    union all
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        to_segment as segment,
        0 as from_user_count,
        user_count as to_user_count,
        0 as stayed_user_count
    from migrations
    where to_segment <> '(gone)'
),

segments as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        segment,
        cast(sum(from_user_count) as bigint) as from_user_count,
        cast(sum(to_user_count) as bigint) as to_user_count,
        cast(sum(stayed_user_count) as bigint) as stayed_user_count
    from sides
    group by 1, 2, 3, 4
),

-- Users present at both dates, per dimension and pair (the same for
-- every dimension).
present_in_both as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        cast(sum(user_count) as bigint) as user_count
    from migrations
    where from_segment <> '(new)' and to_segment <> '(gone)'
    group by 1, 2, 3
),

shares as (
    select
        segments.dimension,
        segments.from_as_of_date,
        segments.to_as_of_date,
        segments.segment,
        segments.from_user_count,
        segments.to_user_count,
        segments.from_user_count
        * 1.0
        / nullif(sum(segments.from_user_count) over pair, 0)
            as from_share,
        segments.to_user_count
        * 1.0
        / nullif(sum(segments.to_user_count) over pair, 0)
            as to_share,
        segments.stayed_user_count,
        segments.stayed_user_count * 1.0 / nullif(segments.from_user_count, 0)
            as stayed_share,
        sum(segments.stayed_user_count) over pair * 1.0
        / nullif(present_in_both.user_count, 0) as dimension_stayed_share
    from segments
    left join present_in_both
        on
            segments.dimension = present_in_both.dimension
            and segments.from_as_of_date = present_in_both.from_as_of_date
            and segments.to_as_of_date = present_in_both.to_as_of_date
    window pair as (
        partition by
            segments.dimension, segments.from_as_of_date, segments.to_as_of_date
    )
),

final as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        segment,
        from_user_count,
        to_user_count,
        from_share,
        to_share,
        (coalesce(to_share, 0) - coalesce(from_share, 0))
        * 100 as share_change_points,
        stayed_user_count,
        stayed_share,
        dimension_stayed_share,
        -- Rounded, so that a move of exactly the limit (45% from 50%) is
        -- not taken for more by the last bits of a double.
        round(abs((coalesce(to_share, 0) - coalesce(from_share, 0)) * 100), 9)
        > {{ drift_max_points }} as is_drifted
    from shares
),

messages as (
    select
        *,
        case
            when is_drifted
                then
                    dimension || ' ' || segment || ': '
                    || format('{:.1f}', coalesce(from_share, 0) * 100)
                    || '% on '
                    || cast(from_as_of_date as varchar)
                    || ' -> '
                    || format('{:.1f}', coalesce(to_share, 0) * 100)
                    || '% on '
                    || cast(to_as_of_date as varchar)
                    || ' ('
                    || format('{:+.1f}', share_change_points)
                    || ' points, more than {{ drift_max_points }};'
                    || ' var segment_drift_max_points)'
        end as drift_message
    from final
)

select * from messages
