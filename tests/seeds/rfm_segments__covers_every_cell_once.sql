-- The RFM grid maps each of the 25 (R, FM) cells to exactly one segment:
-- returns every cell that is missing (0 rows), doubled (2+ rows) or
-- outside 1-5.
with

grid as (
    select * from {{ ref('rfm_segments') }}
),

scores as (
    select score_values.score
    from (values (1), (2), (3), (4), (5)) as score_values (score)
),

cells as (
    select
        recency.score as recency_score,
        frequency_monetary.score as frequency_monetary_score
    from scores as recency
    cross join scores as frequency_monetary
),

cell_counts as (
    select
        cells.recency_score,
        cells.frequency_monetary_score,
        count(grid.rfm_segment) as segment_count
    from cells
    left join grid
        on
            cells.recency_score = grid.recency_score
            and cells.frequency_monetary_score = grid.frequency_monetary_score
    group by 1, 2
),

problems as (
    select
        recency_score,
        frequency_monetary_score,
        segment_count
    from cell_counts
    where segment_count != 1

    union all

    select
        recency_score,
        frequency_monetary_score,
        1 as segment_count
    from grid
    where
        recency_score not between 1 and 5
        or frequency_monetary_score not between 1 and 5
)

select * from problems
