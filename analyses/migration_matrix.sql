-- The primary-segment migration matrix of the last two as-of dates, one
-- row per cell for the BI pivot (rows = from segment, where users were;
-- columns = to segment): users, the share of the row (rows sum to 1) and
-- the revenue those users brought between the dates.
-- '(new)' rows are users who joined in between; '(gone)' columns users who
-- left. Set dimension to rfm_segment, lifecycle_stage, value_tier or
-- cluster for the other matrices.
with

migrations as (
    select * from {{ ref('segment_migrations') }}
),

last_pair as (
    select max(to_as_of_date) as to_as_of_date
    from migrations
),

matrix as (
    select
        migrations.from_as_of_date,
        migrations.to_as_of_date,
        migrations.from_segment,
        migrations.to_segment,
        migrations.user_count,
        migrations.from_segment_share,
        migrations.revenue_between,
        migrations.is_stayed
    from migrations
    inner join last_pair on migrations.to_as_of_date = last_pair.to_as_of_date
    where migrations.dimension = 'primary_segment'
)

select * from matrix
order by 3, 4
