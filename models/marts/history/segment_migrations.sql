{#- The migration matrices for BI: one row per dimension, pair of
    consecutive as-of dates and (from segment, to segment), computed in
    int_segment_migrations and only selected here. -#}
with

migrations as (
    select * from {{ ref('int_segment_migrations') }}
),

final as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        from_segment,
        to_segment,
        user_count,
        from_segment_share,
        revenue_between,
        is_stayed
    from migrations
)

select * from final
