-- The lookalike audience to hand to a marketing tool: the users outside the
-- seed (var lookalike_seed) who are in the audience (in_audience: the most
-- similar lookalike_audience_share of the consenting non-members), keyed by
-- the pseudonymous user_key (no user_id, no contact field), most similar
-- first, with their current primary segment and the playbook's marketing
-- use of it. Empty when the lookalikes fell back (see
-- lookalike_evaluation.note). How to read the scores: doc lookalike_reading.
with

scores as (
    select * from {{ ref('lookalike_scores') }}
    where in_audience
),

segments as (
    select
        user_key,
        primary_segment
    from {{ ref('user_segments') }}
),

playbook as (
    select
        segment,
        marketing
    from {{ ref('primary_segments') }}
)

select
    scores.user_key,
    scores.seed_column,
    scores.seed_value,
    scores.lookalike_score,
    scores.lookalike_percentile,
    scores.lookalike_decile,
    segments.primary_segment,
    playbook.marketing as primary_segment_marketing
from scores
left join segments
    on scores.user_key = segments.user_key
left join playbook
    on segments.primary_segment = playbook.segment
order by 4 desc, 1 asc
