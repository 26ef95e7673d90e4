{#- Each purchaser's named RFM segment: the cell of the rfm_segments grid
    at (recency_score, frequency_monetary_score). -#}
with

scores as (
    select * from {{ ref('int_users_rfm_scored') }}
),

grid as (
    select * from {{ ref('rfm_segments') }}
),

segmented as (
    select
        scores.user_id,
        scores.recency_days,
        scores.frequency,
        scores.monetary,
        scores.recency_score,
        scores.frequency_score,
        scores.monetary_score,
        scores.frequency_monetary_score,
        scores.rfm_cell,
        grid.rfm_segment
    from scores
    left join grid
        on
            scores.recency_score = grid.recency_score
            and scores.frequency_monetary_score
            = grid.frequency_monetary_score
)

select * from segmented
