{{ config(severity='warn') }}
-- Warns about every segment whose share of the population moved more than
-- var segment_drift_max_points percentage points between two consecutive
-- as-of dates, naming it: a segment that grows or shrinks that fast is
-- either a real shift to act on or a change of rules or data to explain.
select
    dimension,
    segment,
    from_as_of_date,
    to_as_of_date,
    share_change_points,
    drift_message
from {{ ref('segment_stability') }}
where is_drifted
