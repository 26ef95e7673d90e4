{#- The migration matrix of every dimension (macro segment_dimensions)
    and pair of consecutive as-of dates of the segment history: users per
    (from segment, to segment), their share of the from segment, and the
    revenue they brought between the two dates. '(new)': not in the
    earlier snapshot; '(gone)': not in the later one; '(none)': no value
    for the user (macro segment_value). -#}
with

transitions as (
    select * from {{ ref('int_user_segment_transitions') }}
),

labelled as (
    {%- for dimension, column in segment_dimensions() %}
        select
            '{{ dimension }}' as dimension,
            from_as_of_date,
            to_as_of_date,
            case
                when is_in_from then {{ segment_value('from_' ~ column) }}
                else '(new)'
            end as from_segment,
            case
                when is_in_to then {{ segment_value('to_' ~ column) }}
                else '(gone)'
            end as to_segment,
            case
                when
                    is_in_to
                    then to_net_revenue - coalesce(from_net_revenue, 0)
            end as revenue_between
        from transitions
        {{- '\n        union all' if not loop.last }}
    {%- endfor %}
),

counted as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        from_segment,
        to_segment,
        count(*) as user_count,
        sum(revenue_between) as revenue_between
    from labelled
    group by 1, 2, 3, 4, 5
),

final as (
    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        from_segment,
        to_segment,
        user_count,
        case
            when from_segment <> '(new)'
                then
                    user_count * 1.0 / sum(user_count) over (
                        partition by
                            dimension,
                            from_as_of_date,
                            to_as_of_date,
                            from_segment
                    )
        end as from_segment_share,
        cast(revenue_between as decimal(38, 2)) as revenue_between,
        from_segment = to_segment as is_stayed
    from counted
)

select * from final
