{{ config(severity='warn') }}
-- Warns about every pair of consecutive as-of dates where more than
-- var cluster_flip_max_share of the purchasers whose features barely moved
-- (no order in between; log1p of recency, 90-day sessions and browsing
-- minutes moved < 0.1) changed cluster id: clusters renumbered or reshaped
-- between the two builds, so cluster migrations mislead.
select
    from_as_of_date,
    to_as_of_date,
    unchanged_purchasers,
    unchanged_changed_cluster,
    flip_share,
    label_flip_message
from {{ ref('cluster_stability') }}
where has_many_label_flips
