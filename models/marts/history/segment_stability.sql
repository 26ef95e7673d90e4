{#- Segment stability and drift for BI: one row per dimension, pair of
    consecutive as-of dates and segment, computed in int_segment_stability
    and only selected here. -#}
with

stability as (
    select * from {{ ref('int_segment_stability') }}
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
        share_change_points,
        stayed_user_count,
        stayed_share,
        dimension_stayed_share,
        is_drifted,
        drift_message
    from stability
)

select * from final
