{#- The offline evaluation of the next-best category against the
    popularity baseline (int_next_best_category_evaluated: each repeat
    buyer's last purchase held out), with the as-of date it was evaluated
    at. -#}
with

evaluated as (
    select * from {{ ref('int_next_best_category_evaluated') }}
),

final as (
    select
        evaluated.method,
        cast(evaluated.k as integer) as k,
        cast(evaluated.users_evaluated as bigint) as users_evaluated,
        cast(evaluated.hits as bigint) as hits,
        cast(evaluated.hit_rate as double) as hit_rate,
        cast(evaluated.coverage as double) as coverage,
        cast(evaluated.categories_recommended as bigint)
            as categories_recommended,
        cast(evaluated.categories as bigint) as categories,
        cast(evaluated.repeat_buyers as bigint) as repeat_buyers,
        cast(evaluated.repeat_buyers_last_category_known as bigint)
            as repeat_buyers_last_category_known,
        {{ as_of_date() }} as evaluated_at
    from evaluated
)

select * from final
order by 1, 2
