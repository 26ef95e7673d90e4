-- The primary segments: size, value and what each is for, from the
-- primary_segments roll-up.
with

primary_segments as (
    select * from {{ ref('primary_segments') }}
),

overview as (
    select
        segment,
        user_count,
        user_share,
        mean_monetary,
        mean_historical_ltv,
        mean_predicted_ltv,
        mean_arpu_monthly,
        description,
        marketing,
        service,
        product
    from primary_segments
)

select * from overview
order by 2 desc
