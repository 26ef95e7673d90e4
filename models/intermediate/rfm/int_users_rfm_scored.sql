{#- RFM values and 1-5 scores of every purchaser as of as_of_date (see
    the rfm docs block). Higher is better for all three scores. -#}
with

orders_per_user as (
    select * from {{ ref('int_orders_aggregated_to_users') }}
),

rfm_values as (
    select
        orders_per_user.user_id,
        {{ dbt.datediff(
            'cast(orders_per_user.last_purchased_at as date)',
            as_of_date(),
            'day'
        ) }} as recency_days,
        orders_per_user.purchase_day_count as frequency,
        orders_per_user.net_revenue as monetary
    from orders_per_user
    where orders_per_user.order_count > 0
),

ranked as (
    select
        user_id,
        recency_days,
        frequency,
        monetary,
        rank() over (order by recency_days desc) as recency_rank,
        rank() over (order by frequency asc) as frequency_rank,
        rank() over (order by monetary asc) as monetary_rank,
        count(*) over () as purchaser_count
    from rfm_values
),

scored as (
    select
        user_id,
        recency_days,
        frequency,
        monetary,
        cast(
            1 + floor(5.0 * (recency_rank - 1) / purchaser_count) as integer
        ) as recency_score,
        cast(
            1 + floor(5.0 * (frequency_rank - 1) / purchaser_count) as integer
        ) as frequency_score,
        cast(
            1 + floor(5.0 * (monetary_rank - 1) / purchaser_count) as integer
        ) as monetary_score
    from ranked
),

combined as (
    select
        *,
        cast(
            floor((frequency_score + monetary_score + 1) / 2.0) as integer
        ) as frequency_monetary_score,
        cast(recency_score as varchar)
        || cast(frequency_score as varchar)
        || cast(monetary_score as varchar) as rfm_cell
    from scored
)

select * from combined
