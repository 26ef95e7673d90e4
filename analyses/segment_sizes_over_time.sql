-- Primary segment sizes at every as-of date of the segment history, with
-- each segment's share of that date's population and its change in points
-- since the previous snapshot: one line per segment in a line chart.
-- Computed once, in the roll-up mart primary_segment_sizes_over_time.
select
    as_of_date,
    primary_segment,
    user_count,
    user_share,
    share_change_points
from {{ ref('primary_segment_sizes_over_time') }}
order by 1, 2
