{{ config(severity='warn') }}
-- Warns about every pair of consecutive as-of dates where more than
-- var cluster_flip_max_share of the purchasers with no order in between
-- (features barely moved) changed cluster id: clusters renumbered or
-- reshaped between the two builds, so cluster migrations mislead.
select
    from_as_of_date,
    to_as_of_date,
    unchanged_purchasers,
    unchanged_changed_cluster,
    flip_share,
    format('{:.1f}', flip_share * 100)
    || '% of '
    || cast(unchanged_purchasers as varchar)
    || ' unchanged purchasers changed cluster from '
    || cast(from_as_of_date as varchar)
    || ' to ' || cast(to_as_of_date as varchar) as label_flips
from {{ ref('cluster_stability') }}
where flip_share > {{ var('cluster_flip_max_share') }}
